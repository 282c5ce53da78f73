"""BER-TLV parser/encoder and DOL handling (kiosk.domain.tlv)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain import tlv
from kiosk.domain.tlv import TlvError


def test_parse_nested_fci_with_multibyte_tags_and_padding():
    fci = bytes.fromhex(
        "6F1E"  # FCI template
        "840E315041592E5359532E4444463031"  # DF name 1PAY.SYS.DDF01
        "A50C" "880101" "5F2D02656E" "BF0C00"  # SFI, language, empty FCI discretionary
    )
    objs = tlv.parse(b"\x00\xff" + fci + b"\x00\x00")
    assert [o.tag for o in objs] == ["6F"]
    assert objs[0].find("88").value == b"\x01"
    assert objs[0].find("5F2D").value == b"en"
    assert objs[0].find("BF0C").children == ()
    assert [o.tag for o in tlv.walk(objs)] == ["6F", "84", "A5", "88", "5F2D", "BF0C"]


def test_long_form_lengths():
    value = bytes(300)
    enc = tlv.encode("70", value)
    assert enc[:4] == bytes.fromhex("7082012C")
    assert tlv.parse_one(enc).value == value
    assert tlv.encode("5A", bytes(200))[:3] == bytes.fromhex("5A81C8")
    # a non-minimal long form is accepted (cards emit 81 xx for short values)
    assert tlv.parse(bytes.fromhex("5A8102ABCD"))[0].value == b"\xab\xcd"


def test_primitives_rejects_duplicates():
    data = tlv.encode("70", tlv.encode("5A", b"\x01") + tlv.encode("5A", b"\x02"))
    with pytest.raises(TlvError, match="duplicate"):
        tlv.primitives(tlv.parse(data))


DEEP = b""
for _ in range(40):
    DEEP = tlv.encode("70", DEEP)


@pytest.mark.parametrize("data, message", [
    (bytes.fromhex("5A05ABCD"), "claims 5 bytes"),  # length past the end
    (bytes.fromhex("9F"), "truncated tag"),
    (bytes.fromhex("9F8181"), "truncated tag"),
    (bytes.fromhex("9F818181818101"), "longer than 4"),
    (bytes.fromhex("5A"), "missing length"),
    (bytes.fromhex("5A82FF"), "truncated length"),
    (bytes.fromhex("5A80"), "indefinite"),
    (bytes.fromhex("5A850000000001"), "length field of 5"),
    (bytes.fromhex("5A84FFFFFFFF00"), "claims 4294967295"),  # absurd length
    (bytes.fromhex("70045A05ABCD"), "in template 70"),  # bad nesting: child overflows parent
    (bytes.fromhex("6F0370025A"), "in template 6F"),
    (DEEP, "deeper than"),
])
def test_malformed_raises_tlverror(data, message):
    with pytest.raises(TlvError, match=message):
        tlv.parse(data)


def test_tlverror_is_valueerror_and_non_bytes():
    assert issubclass(TlvError, ValueError)
    with pytest.raises(TlvError):
        tlv.parse("6F00")  # type: ignore[arg-type]


def test_parse_one_checks_count_and_tag():
    with pytest.raises(TlvError, match="expected one"):
        tlv.parse_one(tlv.encode("5A", b"") * 2)
    with pytest.raises(TlvError, match="expected template 70"):
        tlv.parse_one(tlv.encode("77", b""), "70")


@pytest.mark.parametrize("tag", ["", "5", "ZZ", "1F", "1F80", "5A01", "9F8101FF", "0102030405"])
def test_encode_rejects_bad_tags(tag):
    with pytest.raises(TlvError):
        tlv.encode(tag, b"")


def test_dol_parse_and_build_per_book3_5_4():
    cdol = bytes.fromhex("9F02069F03065F2A0295058A029F1C049F37025A0A9F4E046F02DF7F03")
    entries = tlv.parse_dol(cdol)
    assert entries == [("9F02", 6), ("9F03", 6), ("5F2A", 2), ("95", 5), ("8A", 2),
                       ("9F1C", 4), ("9F37", 2), ("5A", 10), ("9F4E", 4), ("6F", 2),
                       ("DF7F", 3)]
    data = {
        "9F02": bytes.fromhex("0000001234"),  # n, short: leading zeros
        "9F03": bytes.fromhex("00000000000000"),  # n, long: keep the rightmost bytes
        "5F2A": bytes.fromhex("0840"),
        "95": bytes.fromhex("8000008000"),
        "8A": b"Z3",
        "9F1C": b"KIOSK001",  # an: keep the leftmost bytes
        "9F37": bytes.fromhex("A1B2C3D4"),  # b: keep the leftmost
        "5A": bytes.fromhex("4761739001010119"),  # cn, short: trailing FF
        "9F4E": b"AB",  # ans, short: trailing zeros
        "6F": b"\x01\x02",  # constructed: zeros
    }  # DF7F missing: zeros
    out = tlv.build_dol(cdol, data)
    assert out.hex().upper() == (
        "000000001234" "000000000000" "0840" "8000008000" "5A33" "4B494F53" "A1B2"
        "4761739001010119FFFF" "41420000" "0000" "000000"
    )


@pytest.mark.parametrize("dol", [bytes.fromhex("9F"), bytes.fromhex("9F02"),
                                 bytes.fromhex("9F0281")])
def test_dol_malformed(dol):
    with pytest.raises(TlvError):
        tlv.parse_dol(dol)


def test_bcd():
    assert tlv.bcd(1234, 6) == bytes.fromhex("000000001234")
    assert tlv.bcd(410, 2) == bytes.fromhex("0410")
    with pytest.raises(ValueError):
        tlv.bcd(1234567, 3)


# --- properties ----------------------------------------------------------------------------

def _tag(constructed: bool):
    """Tags built directly (no filters): b6 of the first byte says constructed."""

    @st.composite
    def tag(draw) -> str:
        first = draw(st.integers(0, 255).map(
            lambda b: (b | 0x20) if constructed else (b & ~0x20)))
        if first in (0x00, 0xFF):  # padding bytes, never a tag's first byte
            first = 0x70 if constructed else 0x5A
        if first & 0x1F != 0x1F:
            return f"{first:02X}"
        more = draw(st.lists(st.integers(0x80, 0xFF), max_size=2))
        more.append(draw(st.integers(0x01, 0x7F)))
        return bytes([first, *more]).hex().upper()

    return tag()


PRIMITIVE_TAG = _tag(False)
CONSTRUCTED_TAG = _tag(True)


def trees(max_leaves: int, max_value: int):
    leaf = st.tuples(PRIMITIVE_TAG, st.binary(max_size=max_value))
    return st.recursive(
        st.lists(leaf, max_size=4),
        lambda kids: st.lists(st.one_of(leaf, st.tuples(CONSTRUCTED_TAG, kids)), max_size=4),
        max_leaves=max_leaves,
    )


TREES = trees(12, 300)  # built once: building strategies per draw is slow


def encode_tree(items) -> bytes:
    out = b""
    for tag, value in items:
        body = value if isinstance(value, bytes) else encode_tree(value)
        out += tlv.encode(tag, body)
    return out


def shape(objs) -> list:
    return [(o.tag, shape(o.children) if o.constructed else o.value) for o in objs]


@given(TREES)
def test_roundtrip_encode_parse(items):
    data = encode_tree(items)
    parsed = tlv.parse(data)
    assert shape(parsed) == [(t, v if isinstance(v, bytes) else shape(tlv.parse(encode_tree(v))))
                             for t, v in items]
    assert b"".join(o.encode() for o in parsed) == data


# The hostile-input fuzz of the TLV parser is tests/fuzz/ (short) and `kiosk bench fuzz`.
