"""Receipt printer port: print a :class:`kiosk.domain.receipt.Receipt`, report what happened.

Backends: ``sim`` (:mod:`kiosk.printing.textfile`: a text file per receipt) and
``escpos`` (:mod:`kiosk.printing.escpos_serial`: ESC/POS over a serial port, real
printer or the ``kiosk sim printer`` simulator on a pseudo-terminal). Both keep
every receipt as JSON beside the printed copies (:mod:`kiosk.printing.store`) so
``kiosk receipt reprint TXN`` can print it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # not at run time: kiosk.config imports kiosk_drivers.printer.config
    from kiosk_drivers.printer.config import PrinterConfig

    from kiosk.domain.receipt import Receipt


@dataclass(frozen=True)
class PrintResult:
    ok: bool
    path: str = ""      # where a copy of the receipt is kept (for reprint / e-receipt)
    reason: str = ""    # printer fault when not ok; a warning (paper_near_end) when ok


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> PrintResult: ...


def open_printer(kind: str, receipts_dir: Path,
                 config: PrinterConfig | None = None) -> ReceiptPrinter:
    if kind == "sim":
        from kiosk.printing.textfile import TextFilePrinter

        return TextFilePrinter(receipts_dir)
    if kind == "escpos":
        from kiosk_drivers.printer.config import PrinterConfig

        from kiosk.printing.escpos_serial import EscposSerialPrinter

        return EscposSerialPrinter(config or PrinterConfig(), receipts_dir)
    raise ValueError(f"unknown printer backend {kind!r}")
