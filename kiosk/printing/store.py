"""Kept receipts: every receipt is saved as JSON beside the printed copies, before printing.

A receipt the printer could not print (paper out, cover open, offline, write
timeout) is therefore never lost: ``kiosk receipt reprint TXN`` loads it from
here and prints it again (marked as a copy), and the e-receipt link is in it. The JSON holds only
what the receipt shows (masked PAN and approval code, nothing else of a card).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from kiosk.domain.receipt import Receipt

_TXN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")


class ReceiptNotFound(LookupError):
    """No kept receipt for that transaction."""


def _checked(txn: str) -> str:
    if not _TXN.match(txn) or ".." in txn:
        raise ValueError(f"not a transaction id: {txn!r}")
    return txn


class ReceiptStore:
    def __init__(self, receipts_dir: Path) -> None:
        self.dir = Path(receipts_dir)

    def path(self, txn: str) -> Path:
        return self.dir / f"{_checked(txn)}.json"

    def save(self, receipt: Receipt) -> Path:
        """Write the receipt atomically (temp file, fsync, rename); returns its path. A
        reprint's copy is not written: the original stays the kept receipt."""
        path = self.path(receipt.txn or "no-txn")
        if receipt.copy:
            return path
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(receipt), fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        return path

    def load(self, txn: str) -> Receipt:
        path = self.path(txn)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReceiptNotFound(f"no kept receipt for {txn} in {self.dir}") from None
        data["lines"] = [tuple(pair) for pair in data.get("lines", [])]
        return Receipt(**data)

    def prune(self, older_than_days: int, now: float | None = None) -> list[str]:
        """Delete the kept receipts issued more than ``older_than_days`` ago (retention: their
        e-receipt links expired after ``ereceipt.valid_days``; the sale stays in the journal).
        The age is the receipt's ``issued`` time, else the file's; returns the txn ids removed."""
        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        removed = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                issued = json.loads(path.read_text(encoding="utf-8")).get("issued", "")
                when = datetime.fromisoformat(issued).timestamp() if issued else None
            except (OSError, ValueError, AttributeError):
                when = None
            if when is None:
                when = path.stat().st_mtime
            if when < cutoff:
                path.unlink()
                removed.append(path.stem)
        return removed
