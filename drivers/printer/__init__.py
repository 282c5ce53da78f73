"""Receipt printer port: print a :class:`kiosk.receipt.Receipt`, report what happened.

Backends: ``textfile`` (the simulator: a text file per receipt). The ESC/POS
serial backend replaces it behind this same interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiosk.receipt import Receipt


@dataclass(frozen=True)
class PrintResult:
    ok: bool
    path: str = ""      # where a copy of the receipt is kept (for reprint / e-receipt)
    reason: str = ""    # printer fault when not ok


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> PrintResult: ...


def open_printer(kind: str, receipts_dir: Path) -> ReceiptPrinter:
    if kind == "sim":
        from drivers.printer.textfile import TextFilePrinter

        return TextFilePrinter(receipts_dir)
    raise ValueError(f"unknown printer backend {kind!r}")
