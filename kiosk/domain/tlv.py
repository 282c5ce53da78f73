"""BER-TLV as EMV uses it (EMV Book 3 Annex B): parse, encode, and Data Object Lists.

Pure (no I/O), so it lives in the domain: the card flow (kiosk.payments.emv) reads card
answers with it, and the scanner's wallet-code rule (kiosk.domain.wallet_codes) checks an
EMVCo consumer-presented QR payload with it.

Tags are upper-case hex strings ("9F02"), values are bytes. The parser is strict and
bounded: any malformed input (truncated tag or length, a length running past the end,
indefinite or over-long length fields, bad nesting, absurd depth) raises
:class:`TlvError` and nothing else, so card answers can never crash the EMV flow.
Bytes 00 and FF between data objects are padding and skipped (Book 3 Annex B).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

MAX_DEPTH = 16  # EMV templates nest 3-4 deep; anything deeper is garbage, not recursion fodder
MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4  # 0x81..0x84; 0x80 (indefinite) and 0x85+ are refused


class TlvError(ValueError):
    """Malformed BER-TLV or DOL data; the message says what and at which offset."""


@dataclass(frozen=True)
class Tlv:
    """One data object. ``children`` is filled for constructed tags (b6 of the first byte)."""

    tag: str
    value: bytes
    children: tuple[Tlv, ...] = field(default=())

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def find(self, tag: str) -> Tlv | None:
        """First object with ``tag`` at any depth below this one."""
        return find(self.children, tag)

    def encode(self) -> bytes:
        return encode(self.tag, self.value)


def is_constructed(tag: str) -> bool:
    return bool(int(tag[:2], 16) & 0x20)


def _read_tag(data: bytes, pos: int, end: int) -> tuple[str, int]:
    start = pos
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:  # subsequent bytes follow while b8 is set
        while True:
            if pos >= end:
                raise TlvError(f"truncated tag at offset {start}")
            byte = data[pos]
            pos += 1
            if pos - start > MAX_TAG_BYTES:
                raise TlvError(f"tag longer than {MAX_TAG_BYTES} bytes at offset {start}")
            if not byte & 0x80:
                break
    return data[start:pos].hex().upper(), pos


def _read_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise TlvError(f"missing length at offset {pos}")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise TlvError(f"indefinite length (0x80) at offset {pos - 1} is not allowed in EMV")
    if count > MAX_LENGTH_BYTES:
        raise TlvError(f"length field of {count} bytes at offset {pos - 1} (max 4)")
    if pos + count > end:
        raise TlvError(f"truncated length field at offset {pos - 1}")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def _parse(data: bytes, pos: int, end: int, depth: int) -> list[Tlv]:
    if depth > MAX_DEPTH:
        raise TlvError(f"templates nested deeper than {MAX_DEPTH}")
    out: list[Tlv] = []
    while pos < end:
        if data[pos] in (0x00, 0xFF):  # padding before, between or after objects
            pos += 1
            continue
        tag_at = pos
        tag, pos = _read_tag(data, pos, end)
        length, pos = _read_length(data, pos, end)
        if length > end - pos:
            raise TlvError(
                f"tag {tag} at offset {tag_at} claims {length} bytes but only "
                f"{end - pos} remain{' in its template' if depth else ''}"
            )
        value = bytes(data[pos : pos + length])
        children: tuple[Tlv, ...] = ()
        if is_constructed(tag):
            try:
                children = tuple(_parse(data, pos, pos + length, depth + 1))
            except TlvError as exc:
                raise TlvError(f"in template {tag} at offset {tag_at}: {exc}") from None
        out.append(Tlv(tag, value, children))
        pos += length
    return out


def parse(data: bytes) -> list[Tlv]:
    """Parse a sequence of BER-TLV objects (constructed ones recursively)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TlvError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    return _parse(data, 0, len(data), 0)


def parse_one(data: bytes, tag: str | None = None) -> Tlv:
    """Parse data holding exactly one object (optionally of the given tag)."""
    objs = parse(data)
    if len(objs) != 1:
        raise TlvError(f"expected one data object, found {len(objs)}")
    if tag is not None and objs[0].tag != tag:
        raise TlvError(f"expected template {tag}, found {objs[0].tag}")
    return objs[0]


def walk(objs: Iterable[Tlv]) -> Iterator[Tlv]:
    """Every object, depth first, templates before their children."""
    for obj in objs:
        yield obj
        yield from walk(obj.children)


def find(objs: Iterable[Tlv], tag: str) -> Tlv | None:
    for obj in walk(objs):
        if obj.tag == tag:
            return obj
    return None


def primitives(objs: Iterable[Tlv]) -> dict[str, bytes]:
    """Primitive objects at any depth as {tag: value}; a duplicated tag raises TlvError."""
    out: dict[str, bytes] = {}
    for obj in walk(objs):
        if obj.constructed:
            continue
        if obj.tag in out:
            raise TlvError(f"duplicate data object {obj.tag}")
        out[obj.tag] = obj.value
    return out


def _tag_bytes(tag: str) -> bytes:
    try:
        raw = bytes.fromhex(tag)
    except ValueError:
        raise TlvError(f"bad tag {tag!r}") from None
    if not raw or len(raw) > MAX_TAG_BYTES:
        raise TlvError(f"bad tag {tag!r}")
    multi = raw[0] & 0x1F == 0x1F
    if not multi and len(raw) != 1:
        raise TlvError(f"bad tag {tag!r}: single-byte tag number with extra bytes")
    if multi and (len(raw) == 1 or any(b & 0x80 == 0 for b in raw[1:-1]) or raw[-1] & 0x80):
        raise TlvError(f"bad tag {tag!r}: subsequent-byte continuation bits are wrong")
    return raw


def encode_length(length: int) -> bytes:
    if length < 0:
        raise TlvError("negative length")
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    if size > MAX_LENGTH_BYTES:
        raise TlvError(f"length {length} does not fit 4 bytes")
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode(tag: str, value: bytes) -> bytes:
    """One data object: tag, minimal-length length field, value."""
    return _tag_bytes(tag) + encode_length(len(value)) + bytes(value)


def encode_many(items: Iterable[tuple[str, bytes]] | Mapping[str, bytes]) -> bytes:
    pairs = items.items() if isinstance(items, Mapping) else items
    return b"".join(encode(tag, value) for tag, value in pairs)


# --- Data Object Lists (EMV Book 3 section 5.4) ---------------------------------------

#: format "n" (BCD numeric): pad with leading zeros, truncate on the left (keep the right)
NUMERIC_TAGS = frozenset({
    "5F24", "5F25", "5F28", "5F2A", "5F34", "5F36", "9A", "9C", "9F02", "9F03", "9F11",
    "9F15", "9F1A", "9F21", "9F35", "9F39", "9F41", "9F42", "9F44", "9F01",
})
#: format "cn" (compressed numeric): pad with trailing FF
COMPRESSED_NUMERIC_TAGS = frozenset({"5A", "9F20"})


def parse_dol(data: bytes) -> list[tuple[str, int]]:
    """A DOL (PDOL, CDOL1, CDOL2, DDOL, TDOL) as [(tag, length)]; lengths are one byte."""
    data = bytes(data)
    out: list[tuple[str, int]] = []
    pos, end = 0, len(data)
    while pos < end:
        tag, pos = _read_tag(data, pos, end)
        if pos >= end:
            raise TlvError(f"DOL entry {tag} has no length")
        length = data[pos]
        if length & 0x80:
            raise TlvError(f"DOL entry {tag} has a multi-byte length")
        out.append((tag, length))
        pos += 1
    return out


def fit(tag: str, value: bytes | None, length: int) -> bytes:
    """Fit a value into a DOL slot of ``length`` bytes as Book 3 5.4 prescribes."""
    if value is None or is_constructed(tag):
        return bytes(length)  # unknown or constructed: hex zeros
    if len(value) == length:
        return value
    if tag in NUMERIC_TAGS:
        if len(value) > length:
            return value[len(value) - length :]
        return bytes(length - len(value)) + value
    if len(value) > length:
        return value[:length]
    pad = b"\xff" if tag in COMPRESSED_NUMERIC_TAGS else b"\x00"
    return value + pad * (length - len(value))


def build_dol(dol: list[tuple[str, int]] | bytes, data: Mapping[str, bytes]) -> bytes:
    """Concatenate the values for a DOL from ``data`` (missing tags become zeros)."""
    entries = parse_dol(dol) if isinstance(dol, bytes | bytearray) else dol
    return b"".join(fit(tag, data.get(tag), length) for tag, length in entries)


def bcd(number: int, size: int) -> bytes:
    """Unsigned int as ``size`` bytes of packed BCD (format n), e.g. 1234, 6 → 000000001234."""
    if number < 0:
        raise ValueError("BCD of a negative number")
    text = f"{number:0{size * 2}d}"
    if len(text) > size * 2:
        raise ValueError(f"{number} does not fit n{size * 2}")
    return bytes.fromhex(text)
