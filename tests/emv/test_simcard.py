"""The virtual EMV card itself: profiles, T=0 behaviour, counters, secrets."""

from __future__ import annotations

import pytest

from kiosk.domain import tlv
from kiosk.sim.emvcard import PROFILES, luhn_complete, make_card

SELECT_PSE = bytes.fromhex("00A404000E315041592E5359532E444446303100")


def _luhn_ok(pan: str) -> bool:
    return luhn_complete(pan[:-1]) == pan


def test_profiles_and_unknown():
    assert {"visa", "mastercard", "unionpay", "t0_visa", "blocked", "app_blocked", "cobadged",
            "aac_after_approval", "ppse_only", "gpo_6985"} <= set(PROFILES)
    with pytest.raises(ValueError, match="unknown card profile"):
        make_card("amex_gold")


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_is_consistent(profile):
    card = make_card(profile)
    assert card.profile == profile
    assert card.protocol in ("T=0", "T=1")
    secrets = card.secrets()
    for app in card.apps:
        assert _luhn_ok(app.pan) and app.pan in secrets
        assert app.name in secrets
        assert app.track2().hex().upper().rstrip("F") in secrets
        data = app.record_data()
        for tag in ("5A", "5F24", "5F25", "57", "5F20", "8C", "8D", "8E", "9F07", "9F08"):
            assert tag in data
        for body in app.records().values():
            tlv.parse_one(body, "70")
        tlv.parse_one(app.fci(), "6F")
    pans = {make_card(p).apps[0].pan for p in PROFILES}
    assert len(pans) == len(PROFILES)  # a leak is traceable to its profile


def test_atr_protocols():
    t1 = make_card("visa").atr()
    assert t1[0] == 0x3B and t1[4] == 0x81  # T0 E_: TB1 TC1 TD1; TD1 announces T=1
    tck = 0
    for b in t1[1:]:
        tck ^= b
    assert tck == 0  # TCK makes the XOR of T0..TCK zero
    t0 = make_card("t0_visa").atr()
    assert t0[1] & 0x80 == 0  # no TD1: T=0 only


def test_t0_card_needs_get_response_and_le():
    card = make_card("t0_visa")
    resp = card.process(SELECT_PSE)
    assert resp[0] == 0x61
    size = resp[1]
    part = card.process(bytes([0x00, 0xC0, 0x00, 0x00, 5]))
    assert part[-2] == 0x61 and part[-1] == size - 5  # rest still waiting
    rest = card.process(bytes([0x00, 0xC0, 0x00, 0x00, size - 5]))
    assert rest[-2:] == b"\x90\x00"
    tlv.parse_one(part[:-2] + rest[:-2], "6F")
    wrong = card.process(bytes.fromhex("00B2010C00"))  # Le 00: the card says 6C + length
    assert wrong[0] == 0x6C
    right = card.process(bytes.fromhex("00B2010C") + bytes([wrong[1]]))
    assert right[-2:] == b"\x90\x00" and len(right) - 2 == wrong[1]


def test_t1_card_answers_directly():
    card = make_card("visa")
    resp = card.process(SELECT_PSE)
    assert resp[-2:] == b"\x90\x00"
    assert tlv.parse_one(resp[:-2], "6F").find("88").value == b"\x01"


def test_errors_and_reset():
    card = make_card("visa")
    assert card.process(b"\x00") == b"\x67\x00"
    assert card.process(bytes.fromhex("00A4040005A0000000")) == b"\x67\x00"  # Lc lies
    assert card.process(bytes.fromhex("80A8000002830000"))[-2:] == b"\x69\x85"  # GPO first
    assert card.process(bytes.fromhex("00EE000000"))[-2:] == b"\x6D\x00"
    assert make_card("blocked").process(SELECT_PSE) == b"\x6A\x81"
    assert make_card("mastercard").process(SELECT_PSE) == b"\x6A\x82"


def test_atc_increments_per_gpo():
    card = make_card("mastercard")
    for expected in (1, 2):
        card.reset()
        card.process(bytes.fromhex("00A4040007A000000004101000"))
        assert card.process(bytes.fromhex("80A8000002830000"))[-2:] == b"\x90\x00"
        assert card.atc == expected
