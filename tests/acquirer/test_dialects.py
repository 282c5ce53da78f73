"""A second dialect file works with no code change; bad dialect files get a clear error."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kiosk.payments.iso8583 import (
    DialectError,
    FramingError,
    IsoError,
    icc_tags,
    load_dialect,
    track2_text,
)
from tests.acquirer.conftest import ICC, sale

ALT = "alt_ascii_dual"


def test_alt_dialect_dual_message_ascii_bitmap_hex_icc(start_sim, make_link):
    sim = start_sim(dialect=ALT)
    link = make_link(sim.port, dialect=ALT, response_timeout_s=0.5)
    answer = link.authorize(sale(1))
    assert answer.outcome == "approved" and answer.issuer_auth_data is not None
    link.completed("idem-1-a")  # dual message: the 0220 completion is delivered
    assert link.store.get("idem-1-a").state == "completed"
    sim.cmd("drop")
    assert link.authorize(sale(2)).outcome == "unknown"
    assert link.store.get("idem-2-a").state == "reversed"
    mtis = [r["mti"] for r in sim.events("received")]
    assert mtis == ["0100", "0220", "0100", "0420"]
    assert [r["basket"] for r in sim.events("received")][:2] == ["S001-L01-000001"] * 2
    assert sim.events("received")[0]["tid"] == "LANE0001"  # the dialect's fixed 41
    assert sim.net() == {"S001-L01-000001": 1, "S001-L01-000002": 0}
    rec = link.end_of_day(currency_numeric=840)
    assert rec.balanced and (rec.host.count, rec.host.amount) == (1, 1234)


def test_alt_dialect_wire_format(start_sim):
    """4-byte ASCII length header, ASCII bitmap and hex field 55 on the wire."""
    sim = start_sim(dialect=ALT)
    d = load_dialect(ALT)
    body, _ = d.build("0100", {"4": "000000000100", "7": "1125130000", "11": "000777",
                               "12": "130000", "13": "1125", "49": "840",
                               "55": ICC.hex().upper(), "48": "B1"})
    frame = d.frame(body)
    assert frame[:4] == str(len(body)).zfill(4).encode()
    assert body[4:20].decode("ascii").isalnum()  # hex text bitmap
    assert ICC.hex().upper().encode() in body
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as s:
        s.sendall(frame)
        head = s.recv(4, socket.MSG_WAITALL)
        assert head.isdigit()
        reply = s.recv(int(head), socket.MSG_WAITALL)
    got = d.decode(reply)
    assert got["t"] == "0110" and got["11"] == "000777" and got["39"] == "00"
    assert set(icc_tags(got["55"])) == {"91"}


def test_default_dialect_is_binary(start_sim):
    d = load_dialect("default")
    body, _ = d.build("0200", {"4": "000000000100", "7": "1125130000", "11": "000001",
                               "12": "130000", "13": "1125", "49": "840",
                               "55": ICC.hex().upper()})
    assert d.frame(body)[:2] == len(body).to_bytes(2, "big")
    assert ICC in body  # binary field 55


def test_framing_rejects_bad_headers():
    d = load_dialect(ALT)
    with pytest.raises(FramingError, match="not decimal"):
        d.framing.split(b"00x1abc")
    with pytest.raises(FramingError, match="outside"):
        d.framing.split(b"0000")
    frames, rest = d.framing.split(b"0003abc0004ab")
    assert frames == [b"abc"] and rest == b"0004ab"


def test_required_field_missing_is_a_clear_error():
    with pytest.raises(IsoError, match="field 4 is required"):
        load_dialect("default").build("0200", {"7": "1125130000", "11": "000001"})


def test_track2_conversion_and_bad_track2():
    assert track2_text(bytes.fromhex("4761739001010119D25122011F")) == "4761739001010119=25122011"
    with pytest.raises(IsoError):
        track2_text(b"\xab\xcd")


@pytest.mark.parametrize("old,new,message", [
    ('base_spec = "default"', 'base_spec = "nope"', "base_spec"),
    ("header_bytes = 2", "header_bytes = 3", "header_bytes"),
    ('reversal_mti = "0400"', 'reversal_mti = "0500"', "reversal_mti"),
    ('[spec.4]\ndata_enc = "ascii"', '[spec.4]\ndata_enc = "no-such-codec"', "no-such-codec"),
    ('desc = "Amount, Transaction"', 'desc = "Amount, Transaction"\ncolour = "red"',
     "unknown key"),
    ("[messages.0200]", "[messages.0299]", "messages.0200 missing"),
    ('"00" = { action = "approve"', '"00" = { action = "maybe"', "action must be"),
    ('name = "default"', 'name = "default"\nx = [', "dialect"),
])
def test_bad_dialect_files(tmp_path: Path, old: str, new: str, message: str):
    text = load_dialect("default").path.read_text()
    assert old in text
    path = tmp_path / "site.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DialectError, match=message) as err:
        load_dialect(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
