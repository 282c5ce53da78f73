"""Sales figures from the journal: approved sales and their amount, training left out.

A sale is a session whose payment was approved (``auth_approved`` with its
``auth_requested`` amount). The sessions of a lane in training (their transaction ids
marked: :func:`kiosk.domain.training.is_training_txn`) are counted apart and never in the
sales; reports and the back office's sync totals read them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.domain.training import is_training_txn
from kiosk.journal.store import Entry


@dataclass(frozen=True)
class SalesFigures:
    sales: int = 0           # approved sales
    amount: int = 0          # their amount, minor units
    training_sales: int = 0  # approved training sales (not in the two above)


def sales_figures(entries: Iterable[Entry]) -> SalesFigures:
    """The figures of the journal ``entries`` (in order, as :meth:`Journal.entries` gives)."""
    asked: dict[tuple[str | None, int], int] = {}  # (txn, stan) → amount requested
    sales = amount = training = 0
    for entry in entries:
        if entry.type == "auth_requested":
            asked[(entry.txn, entry.data["stan"])] = entry.data["amount"]
        elif entry.type == "auth_approved":
            if is_training_txn(entry.txn):
                training += 1
            else:
                sales += 1
                amount += asked.get((entry.txn, entry.data["stan"]), 0)
    return SalesFigures(sales, amount, training)
