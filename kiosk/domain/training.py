"""Training mode: the rules that keep a lane in training from moving money or counting sales.

Staff switch a lane into training and back (attendant actions ``training_on`` /
``training_off``, signed in, with an empty basket: the events ``training_started`` /
``training_ended``, journaled). While the lane is in training:

* every session's transaction id starts with :data:`TXN_PREFIX`, so every journal row of
  that session (the journal's ``txn`` column, ``session_started.txn``, every payment's
  idempotency key) is marked: reports, sales figures and sync totals leave out the
  transactions :func:`is_training_txn` names;
* every payment goes to the training method (:data:`TRAINING_METHOD`,
  :mod:`kiosk.payments.training`), whatever the shopper chose: it approves without
  contacting any host, so nothing is ever charged;
* receipts carry the mark "TRAINING — NOT A RECEIPT", every screen a banner, the tower
  light its own pattern (green, blinking).

Pure: no I/O.
"""

from __future__ import annotations

#: the payment method every payment of a training lane goes to (its entry-point id)
TRAINING_METHOD = "training"
#: what a training session's transaction id starts with
TXN_PREFIX = "TRAIN-"


def training_txn(txn: str) -> str:
    """The transaction id a session of a lane in training gets for ``txn``."""
    return TXN_PREFIX + txn


def is_training_txn(txn: str | None) -> bool:
    """Whether ``txn`` is a training session's (its events are left out of sales)."""
    return bool(txn) and txn.startswith(TXN_PREFIX)  # type: ignore[union-attr]
