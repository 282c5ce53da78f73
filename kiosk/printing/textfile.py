"""Simulated receipt printer: writes each receipt as UTF-8 text, atomically.

The original goes to ``TXN.txt``; a reprint's copy to ``TXN-copy-N.txt`` (the first N
free), so a reprint never overwrites what was printed first.

The receipt is also kept as JSON (:class:`kiosk.printing.store.ReceiptStore`), as
with the ESC/POS backend, so ``kiosk receipt reprint`` works with either.
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.domain.receipt import Receipt, render_text
from kiosk.printing.result import PrintResult
from kiosk.printing.store import ReceiptStore


class TextFilePrinter:
    def __init__(self, receipts_dir: Path, width: int = 42) -> None:
        self.dir = receipts_dir
        self.width = width

    def print_receipt(self, receipt: Receipt) -> PrintResult:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(receipt)
        tmp = path.with_suffix(".tmp")
        try:
            ReceiptStore(self.dir).save(receipt)
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(render_text(receipt, self.width))
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except OSError as exc:
            return PrintResult(False, reason=f"write failed: {exc.strerror}")
        return PrintResult(True, str(path))

    def _path(self, receipt: Receipt) -> Path:
        if not receipt.copy:
            return self.dir / f"{receipt.txn}.txt"
        n = 1
        while (self.dir / f"{receipt.txn}-copy-{n}.txt").exists():
            n += 1
        return self.dir / f"{receipt.txn}-copy-{n}.txt"
