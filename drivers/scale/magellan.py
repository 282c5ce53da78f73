"""The Datalogic Magellan scanner-scale protocol (single-cable RS-232, the scale part).

Commands and answers are ASCII and end with CR:

* ``S11``: the weight. A settled weight answers ``S11<5 digits>`` (grams: kg with three
  implied decimals); otherwise the scale answers with its status, as for ``S14``;
* ``S14``: the status, ``S14<n>``: ``0`` not ready, ``1`` in motion, ``2`` over capacity,
  ``3`` a settled zero, ``4`` a settled weight (followed by its 5 digits), ``5`` under zero;
* ``S334``: zero the scale (answered with the status).

The 8400/9400 series default to 9600 baud, 7 data bits, odd parity; the framing is
configurable on the scanner and in ``[scale.<name>]``.
"""

from __future__ import annotations

from kiosk_drivers.scale.port import SerialScale
from kiosk_drivers.scale.reading import Reading, grams

STATUS = {"0": "not_ready", "1": "motion", "2": "over_capacity", "3": "zero",
          "4": "stable", "5": "under_zero"}


class MagellanScale(SerialScale):
    """The scale of a Magellan scanner-scale."""

    name = "magellan"
    WEIGHT = b"S11\r"
    ZERO = b"S334\r"
    END = b"\r"
    PARITY = "odd"
    BYTESIZE = 7

    def parse(self, frame: bytes) -> Reading:
        text = frame.decode("ascii").strip()
        if text.startswith("S11"):
            digits = text[3:]
            if len(digits) not in (4, 5) or not digits.isdigit():
                raise ValueError("a weight is 4 or 5 digits")
            return Reading("stable", grams(digits, kg=False))
        if text.startswith("S14") and len(text) >= 4:
            status = STATUS.get(text[3])
            rest = text[4:]
            if status is None:
                raise ValueError(f"unknown status {text[3]!r}")
            if status == "stable":
                if len(rest) not in (4, 5) or not rest.isdigit():
                    raise ValueError("a settled weight follows status 4")
                return Reading("stable", grams(rest, kg=False))
            if rest:
                raise ValueError("nothing follows this status")
            return Reading("stable", 0) if status == "zero" else Reading(status)
        raise ValueError("not an S11 or S14 answer")
