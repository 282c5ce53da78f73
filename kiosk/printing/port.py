"""Receipt printer port: print a :class:`kiosk.domain.receipt.Receipt`, report what happened.

Backends: ``sim`` (:mod:`kiosk.printing.textfile`: a text file per receipt) and
``escpos`` (:mod:`kiosk.printing.escpos`: ESC/POS over the transport ``printer.transport``
names: serial, USB printer class, network port 9100, file; a real printer or the
``kiosk sim printer`` simulator on a pseudo-terminal). Both keep every receipt as JSON
beside the printed copies (:mod:`kiosk.printing.store`) so ``kiosk receipt reprint TXN``
can print it again.
"""

from __future__ import annotations

from pathlib import Path

from kiosk_drivers.printer.config import PrinterConfig

from kiosk.printing.escpos import EscposPrinter
from kiosk.printing.result import PrintResult, ReceiptPrinter
from kiosk.printing.textfile import TextFilePrinter

__all__ = ["PrintResult", "ReceiptPrinter", "open_printer"]


def open_printer(kind: str, receipts_dir: Path,
                 config: PrinterConfig | None = None) -> ReceiptPrinter:
    if kind == "sim":
        return TextFilePrinter(receipts_dir)
    if kind == "escpos":
        return EscposPrinter(config or PrinterConfig(), receipts_dir)
    raise ValueError(f"unknown printer backend {kind!r}")
