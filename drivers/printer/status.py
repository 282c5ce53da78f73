"""ESC/POS real-time status (DLE EOT n): the bytes, their meaning, the fault they imply.

Each DLE EOT query (``10 04 n``) is answered by one byte in which bit 1 and bit 4
are always 1 and bits 0 and 7 always 0 (``0x12`` when nothing is set):

* n = 1, printer: bit 3 offline, bit 5 waiting for online recovery, bit 6 feed button
* n = 2, offline cause: bit 2 cover open, bit 3 paper fed by the button, bit 5 printing
  stopped by paper end, bit 6 error
* n = 3, error cause: bit 2 recoverable (mechanical), bit 3 autocutter, bit 5
  unrecoverable, bit 6 auto-recoverable (e.g. head temperature)
* n = 4, roll paper sensor: bits 2+3 paper near end, bits 5+6 paper end

The same table is used by the printer driver (to decode) and by the simulator
(to encode), so both sides speak one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

DLE, EOT, ENQ, DC4 = 0x10, 0x04, 0x05, 0x14
FIXED = 0x12
FIXED_MASK = 0x93  # bits 0, 1, 4, 7 have fixed values
QUERIES = (1, 2, 3, 4)

ONLINE_OFFLINE = 0x08
ONLINE_WAITING = 0x20
OFFLINE_COVER = 0x04
OFFLINE_PAPER_STOP = 0x20
OFFLINE_ERROR = 0x40
ERROR_MECHANICAL = 0x04
ERROR_CUTTER = 0x08
ERROR_UNRECOVERABLE = 0x20
ERROR_AUTO_RECOVER = 0x40
PAPER_NEAR_END = 0x0C
PAPER_END = 0x60


def query(n: int) -> bytes:
    """The DLE EOT n real-time status request."""
    if n not in QUERIES:
        raise ValueError(f"DLE EOT n takes n = 1..4, not {n}")
    return bytes((DLE, EOT, n))


def valid_status_byte(b: int) -> bool:
    return b & FIXED_MASK == FIXED


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reported; ``fault`` is the reason it cannot print, or ''."""

    online: bool = True
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False
    cutter_error: bool = False

    @property
    def fault(self) -> str:
        if self.paper_out:
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if self.cutter_error:
            return "cutter_error"
        if self.error:
            return "printer_error"
        if not self.online:
            return "offline"
        return ""

    @property
    def warning(self) -> str:
        return "paper_near_end" if self.paper_near_end and not self.fault else ""

    @classmethod
    def decode(cls, printer: int, offline: int, error: int, paper: int) -> PrinterStatus:
        """From the answers to DLE EOT 1, 2, 3 and 4."""
        return cls(
            online=not printer & ONLINE_OFFLINE,
            cover_open=bool(offline & OFFLINE_COVER),
            paper_out=bool(paper & PAPER_END) or bool(offline & OFFLINE_PAPER_STOP),
            paper_near_end=bool(paper & PAPER_NEAR_END),
            error=bool(offline & OFFLINE_ERROR)
            or bool(error & (ERROR_MECHANICAL | ERROR_UNRECOVERABLE | ERROR_AUTO_RECOVER)),
            cutter_error=bool(error & ERROR_CUTTER),
        )

    def encode(self, n: int) -> int:
        """The byte a printer in this condition answers to DLE EOT n (simulator side)."""
        b = FIXED
        if n == 1:
            if not self.online or self.paper_out or self.cover_open or self.error:
                b |= ONLINE_OFFLINE
            if self.cover_open:
                b |= ONLINE_WAITING
        elif n == 2:
            if self.cover_open:
                b |= OFFLINE_COVER
            if self.paper_out:
                b |= OFFLINE_PAPER_STOP
            if self.error or self.cutter_error:
                b |= OFFLINE_ERROR
        elif n == 3:
            if self.cutter_error:
                b |= ERROR_CUTTER
            if self.error:
                b |= ERROR_MECHANICAL
        elif n == 4:
            if self.paper_near_end or self.paper_out:
                b |= PAPER_NEAR_END
            if self.paper_out:
                b |= PAPER_END
        else:
            raise ValueError(f"DLE EOT n takes n = 1..4, not {n}")
        return b

    def as_dict(self) -> dict:
        return {"online": self.online, "cover_open": self.cover_open,
                "paper_out": self.paper_out, "paper_near_end": self.paper_near_end,
                "error": self.error, "cutter_error": self.cutter_error,
                "fault": self.fault, "warning": self.warning}
