"""ATR parsing (ISO/IEC 7816-3): the protocols a card offers, its historical bytes, and
whether the ATR is a PC/SC part 3 pseudo-ATR of a contactless card. Pure, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: PC/SC part 3 RID in the historical bytes of a contactless storage card's pseudo-ATR
PCSC_RID = bytes.fromhex("A000000306")
#: reader-name words that mark a contactless (PICC) interface
CONTACTLESS_READER = re.compile(r"PICC|Contactless|\bCL\b", re.IGNORECASE)


class AtrError(ValueError):
    """Bytes that are not a well-formed ATR."""


@dataclass(frozen=True)
class Atr:
    raw: bytes
    protocols: tuple[int, ...]      # offered protocols in ATR order (0 = T=0, 1 = T=1)
    historical: bytes
    interface: tuple[int, ...]      # TDi bytes, for the contactless check

    @property
    def hex(self) -> str:
        return self.raw.hex().upper()

    @property
    def contactless(self) -> bool:
        """PC/SC part 3 pseudo-ATR: ``3B 8n 80 01 ...`` (ISO 14443-4 card or storage card
        behind a contactless reader), or the PC/SC RID in the historical bytes."""
        pseudo = len(self.raw) >= 4 and self.raw[1] & 0xF0 == 0x80 and self.raw[2:4] == b"\x80\x01"
        return pseudo or (self.historical[:1] == b"\x80" and PCSC_RID in self.historical)


def parse_atr(raw: bytes) -> Atr:
    """Parse an ATR; raises :class:`AtrError` on truncated or malformed bytes."""
    if len(raw) < 2 or raw[0] not in (0x3B, 0x3F):
        raise AtrError(f"not an ATR (TS must be 3B or 3F): {raw.hex().upper()}")
    y, k = raw[1] >> 4, raw[1] & 0x0F
    i = 2
    protocols: list[int] = []
    tds: list[int] = []
    while True:
        i += bin(y & 0x07).count("1")  # TA, TB, TC present
        if not y & 0x08:
            break
        if i >= len(raw):
            raise AtrError(f"ATR truncated in its interface bytes: {raw.hex().upper()}")
        td = raw[i]
        tds.append(td)
        if td & 0x0F != 15 and td & 0x0F not in protocols:
            protocols.append(td & 0x0F)
        y = td >> 4
        i += 1
    if i + k > len(raw):
        raise AtrError(f"ATR truncated in its historical bytes: {raw.hex().upper()}")
    historical = raw[i:i + k]
    if not protocols:
        protocols = [0]  # no TD1: T=0 only
    return Atr(bytes(raw), tuple(protocols), bytes(historical), tuple(tds))


def is_contactless(reader: str, atr: bytes | None = None) -> bool:
    """True for a contactless reader (by name) or a contactless card's pseudo-ATR."""
    if CONTACTLESS_READER.search(reader):
        return True
    if atr:
        try:
            return parse_atr(atr).contactless
        except AtrError:
            return False
    return False
