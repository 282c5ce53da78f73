"""Real photographs of barcodes (tests/scanner/photos, zxing-cpp's samples) held still in
front of the camera, through the capture path and the real decoders: nothing wrong
reaches the bus, and what does reach it is at least what either decoder reads alone."""

from __future__ import annotations

import os

import pytest

from kiosk.bench.scanner import photo_figures

pytestmark = pytest.mark.integration

# Tuning photos on which one decoder misreads, the same way frame after frame when held
# still: a badly printed UPC-A that reads as five different EAN-13s, an EAN-13 zxing-cpp
# also reads with wrong leading digits, UPC-As zbar reads as a UPC-E or with wrong digits,
# a UPC-A zxing-cpp misreads. Before the evidence rule, this set published 2 wrong items
# (upca-2_23 as 9711010200137, upca-2_48 as 1077778003259; at 30 fps upca-4_7 and
# upca-4_9 too).
MISREAD = ("upca-4_7", "upca-4_9", "ean13-1_35", "upca-2_23", "upca-2_38", "upca-2_32",
           "upca-2_48")


def test_photos_one_decoder_misreads_are_never_published(tmp_path):
    got = photo_figures("tuning", tmp_path, only=MISREAD)
    assert got["photos"] == len(MISREAD)
    assert got["wrong"] == 0, got["wrong_reads"]
    assert got["on_bus"] > 0


# Tuning photos whose code, held still, only one decoder reads on a full frame (zxing-cpp:
# a small, soft or blurred code zbar's scan lines miss): before the cross-checkers looked
# again with their own options, and the gate decoded the frames after a change, 3 of these
# 9 showings reached the bus.
ONE_DECODER = ("upca-2_49", "ean13-1_10", "ean8-1_3", "upca-2_45")


def test_photos_a_code_one_decoder_reads_reaches_the_bus_when_another_agrees(tmp_path):
    got = photo_figures("tuning", tmp_path, only=ONE_DECODER,
                        variants=("still", "blur", "noise", "jpeg"))
    assert got["photos"] == len(ONE_DECODER)
    assert got["wrong"] == 0, got["wrong_reads"]
    assert got["either_any"] > 0
    assert got["on_bus"] == got["either_any"], got["by_variant"]


# The whole held-out set takes minutes on 2 cores: opt-in, like `kiosk bench scanner`, which
# prints the same figures (photo_on_bus_rate, photo_read_rate_either, photo_wrong_items).
HELD_OUT = pytest.mark.skipif(not os.environ.get("KIOSK_PHOTO_TESTS"),
                              reason="the held-out photo set: KIOSK_PHOTO_TESTS=1")


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    """The held-out set, never used while tuning (tests/scanner/photos/README.md)."""
    return photo_figures("heldout", tmp_path_factory.mktemp("photos-heldout"))


@HELD_OUT
@pytest.mark.slow
def test_held_out_photos_put_no_wrong_item_on_the_bus(held_out):
    assert held_out["photos"] == 59 and held_out["frames"] == 59 * 5 * 5
    assert held_out["wrong"] == 0, held_out["wrong_reads"]
    assert held_out["on_bus"] > 0


@HELD_OUT
@pytest.mark.slow
def test_held_out_photos_reach_the_bus_at_least_as_often_as_either_decoder_reads(held_out):
    # measured: 144 of 295 showings on the bus (48.8 %, 43.1 % before the cross-checkers
    # looked again with their own options, OpenCV was the third and the gate settled)
    # against 720 of 1475 single frames read by zxing-cpp or zbar (48.8 %): met, no margin
    assert held_out["rates"]["on_bus"] >= held_out["rates"]["either"], held_out["rates"]
