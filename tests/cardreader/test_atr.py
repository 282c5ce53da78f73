"""ATR parsing and contactless detection (pure)."""

from __future__ import annotations

import pytest
from kiosk_drivers.cardreader import AtrError, is_contactless, parse_atr

from tests.cardreader.testcard import ATR_CONTACTLESS, ATR_T0, ATR_T1


def test_protocols_offered():
    assert parse_atr(ATR_T0).protocols == (0,)
    assert parse_atr(ATR_T0).historical == b"TES0"
    assert parse_atr(ATR_T1).protocols == (1,)
    # TA1, TD1 = T=0 with TD2 = T=1, TCK: both offered, T=0 first; not contactless
    both = parse_atr(bytes.fromhex("3B9011800100"))
    assert both.protocols == (0, 1) and not both.contactless


def test_contactless_by_atr_and_by_reader_name():
    assert parse_atr(ATR_CONTACTLESS).contactless
    assert is_contactless("Virtual PCD 00 00", ATR_CONTACTLESS)
    assert is_contactless("ACS ACR122U PICC Interface 00 00")
    assert is_contactless("Identiv uTrust 3700 F CL Reader [Contactless] 00 00")
    assert not is_contactless("Gemalto PC Twin Reader 00 00", ATR_T0)
    assert not parse_atr(ATR_T1).contactless


@pytest.mark.parametrize("raw", ["", "3B", "00", "3B80", "3B8401", "3B04544553"])
def test_malformed_atr_is_a_clear_error(raw):
    with pytest.raises(AtrError):
        parse_atr(bytes.fromhex(raw))
