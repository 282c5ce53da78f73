"""The Mettler Toledo 8217 protocol (also spoken by NCR and many POS scales): 9600 baud, 7E1.

The host sends ``W``; the scale answers ``STX <weight> CR`` with a settled weight in kg
(``01.234``; leading spaces and a trailing ``N`` for a net weight are allowed), or
``STX ? <status> CR`` when it has none to give. The status byte's bits:

===  ========================================
bit  meaning
===  ========================================
0    in motion
1    over capacity
2    under zero
3    outside the zero capture range
4    at the centre of zero
5,6  always 1 (the byte stays printable ASCII)
===  ========================================

``Z`` zeroes the scale; it answers with its status frame.
"""

from __future__ import annotations

from kiosk_drivers.scale.port import SerialScale
from kiosk_drivers.scale.reading import Reading, grams

STX = 0x02
MOTION, OVER, UNDER, OUT_OF_ZERO_RANGE, CENTER_OF_ZERO = 0x01, 0x02, 0x04, 0x08, 0x10
ALWAYS = 0x60


def status_reading(status: int) -> Reading:
    """The reading a status byte stands for (a fault first, then motion)."""
    if status & ALWAYS != ALWAYS:
        raise ValueError(f"not a status byte: {status:#04x}")
    if status & OVER:
        return Reading("over_capacity")
    if status & UNDER:
        return Reading("under_zero")
    if status & MOTION:
        return Reading("motion")
    if status & CENTER_OF_ZERO:
        return Reading("stable", 0)
    return Reading("not_ready")  # a status with nothing wrong and no weight: ask again


class Toledo8217(SerialScale):
    """A scale speaking the 8217 protocol."""

    name = "mettler8217"
    WEIGHT = b"W"
    ZERO = b"Z"
    END = b"\r"
    PARITY = "even"
    BYTESIZE = 7

    def parse(self, frame: bytes) -> Reading:
        start = frame.rfind(bytes((STX,)))  # a stray byte before STX is line noise
        if start < 0:
            raise ValueError("no STX")
        body = frame[start + 1:]
        if body[:1] == b"?":
            if len(body) != 2:
                raise ValueError("a status frame holds one status byte")
            return status_reading(body[1])
        text = body.decode("ascii").strip()
        if text.endswith("N"):
            text = text[:-1].rstrip()
        if "." not in text:
            raise ValueError("a weight has its decimal point")
        return Reading("stable", grams(text, kg=True))
