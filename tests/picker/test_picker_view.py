"""The picker's pure parts: the live weight line (kiosk.ui.picker_view) in the core's words,
and a picture for every tile (kiosk.ui.picker_art): the store photo, else the item's colour
emoji drawn from Noto Color Emoji, else the basket emoji."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from kiosk.ui.i18n import Translator
from kiosk.ui.picker_art import EMOJI_FONT, FALLBACK, emoji_for, emoji_png, tile_pictures
from kiosk.ui.picker_view import weight_line
from kiosk.ui.viewmodel import REJECTIONS


def scale(status: str, grams: int | None = None, online: bool = True) -> dict:
    return {"status": status, "weight_g": grams, "online": online}


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_weight_line_speaks_as_the_core_refuses(locale):
    t = Translator(locale)
    shown = weight_line(scale("stable", 1234), t)
    assert shown.ready and "1.234" in shown.text
    assert weight_line(scale("stable", 0), t).text == t.tr(REJECTIONS["scale_empty"])
    assert not weight_line(scale("motion"), t).ready
    for status, reason in (("over_capacity", "scale_over_capacity"),
                           ("no_response", "scale_no_response"),
                           ("bad_frame", "scale_no_response"),
                           ("under_zero", "scale_under_zero")):
        line = weight_line(scale(status), t)
        assert (line.text, line.ready, line.tone) == (t.tr(REJECTIONS[reason]), False, "warn")
    # kiosk-scale's will: the service died, its last stable weight prices nothing
    assert weight_line(scale("stable", 500, online=False), t).text == t.tr(
        REJECTIONS["scale_no_response"])
    assert not weight_line(None, t).ready


def test_emoji_by_the_english_name():
    assert emoji_for({"en": "Bananas", "ko": "바나나"}) == "🍌"
    assert emoji_for({"en": "Fuji Apples"}) == "🍎"
    assert emoji_for({"en": "Pork Belly"}) == "🥓"       # before "pork"
    assert emoji_for({"en": "Dragon fruit"}) == FALLBACK
    assert emoji_for({"ko": "바나나"}) == FALLBACK        # no English name: a known word?


@pytest.mark.skipif(not EMOJI_FONT.exists(), reason="fonts-noto-color-emoji not installed")
def test_every_tile_has_a_picture(tmp_path: Path):
    photo = tmp_path / "PLU04011.png"
    Image.new("RGB", (8, 8), (200, 180, 0)).save(photo)
    items = [("PLU04011", {"en": "Bananas"}), ("PLU04131", {"en": "Fuji Apples"}),
             ("PLU09999", {"en": "Dragon fruit"})]
    got = tile_pictures(items, {"PLU04011": photo}, tmp_path / "art")
    assert got["PLU04011"] == photo                       # the store photo first
    assert got["PLU04131"] == emoji_png("🍎", tmp_path / "art")
    assert got["PLU09999"] == emoji_png(FALLBACK, tmp_path / "art")
    for path in (got["PLU04131"], got["PLU09999"]):
        with Image.open(path) as image:                   # a real, coloured picture
            colours = image.convert("RGB").getcolors(1 << 16) or []
            assert len(colours) > 1


def test_no_emoji_font_gives_none_not_a_blank(tmp_path: Path):
    assert emoji_png("🍌", tmp_path, font=tmp_path / "missing.ttf") is None
    assert tile_pictures([("K", {"en": "Bananas"})], {}, tmp_path,
                         font=tmp_path / "missing.ttf") == {"K": None}
