"""What a receipt printer reports (:class:`PrintResult`) and what one is (:class:`ReceiptPrinter`).

Its own module so that the backends (:mod:`kiosk.printing.textfile`,
:mod:`kiosk.printing.escpos`) and the port that picks one (:mod:`kiosk.printing.port`)
import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kiosk.domain.receipt import Receipt


@dataclass(frozen=True)
class PrintResult:
    ok: bool
    path: str = ""      # where a copy of the receipt is kept (for reprint / e-receipt)
    reason: str = ""    # printer fault when not ok; a warning (paper_near_end) when ok


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> PrintResult: ...
