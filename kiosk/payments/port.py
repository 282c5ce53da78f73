"""The payment port: what kiosk-core asks of an acquirer or QR-pay gateway.

A port authorizes one amount under an idempotency key (the same key never
charges twice) and reverses an authorization whose outcome is unknown. Card
data never crosses this interface: results carry only journal-safe card facts
(brand, masked PAN, AID, application label, entry mode, TVR, cryptograms).

The card path talks back while it runs: ``authorize(request, progress)`` calls
``progress({"step": ...})`` from its worker thread (kiosk-core posts it to its
inbox and publishes it on the retained state as ``payment.step``; steps are not
journaled). The core answers a ``choose_app`` step with :meth:`PaymentPort.choose`
and a shopper's cancel with :meth:`PaymentPort.cancel`, which tells the core
whether anything has left the kiosk yet.

A card reader belongs to one shopper at a time: when a session ends, kiosk-core calls
:meth:`PaymentPort.seal_cards`. A card still in the reader then can never pay for a later
session (only a card inserted after that moment can); the core publishes ``card_left``
on the state (the "take your card" prompt on screen, by voice and on the tower light)
until the port reports, from the reader's own removal event, that it was taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from kiosk.domain.cards import is_masked
from kiosk.domain.vocabulary import WALLET_NOTICES, WALLET_STEPS

#: progress steps a port may report, in the order a card flow goes through them
STEPS = ("insert_card", "reading", "choose_app", "authorizing", "remove_card", "card_removed",
         "unsupported_card", *WALLET_STEPS)
#: steps before an authorization request has left the kiosk (a cancel there is free)
PRE_REQUEST_STEPS = ("insert_card", "reading", "choose_app", "unsupported_card", "show_code")
#: reasons a card flow ends without a request (AuthResult.reason, outcome "declined")
CARD_ABORTS = ("card_removed", "card_timeout", "card_blocked", "unsupported_card",
               "no_application", "cancelled", "card_data_error", "card_data_missing",
               "reader_error", "atr_rejected")
#: shopper message keys (AuthResult.message_key); the UI translates them
MESSAGE_KEYS = ("card_declined", "try_later", "partial_not_supported", "card_removed",
                "card_timeout", "card_blocked", "no_application", "unsupported_card",
                "not_charged", "cancelled", "clock_not_synced", "card_read_error",
                "wallet_insufficient_funds", "wallet_declined", "wallet_cancelled",
                "wallet_amount_limit", "code_used", "code_expired", "code_invalid",
                "code_timeout", "qr_expired")
#: card facts a result may carry (anything else is dropped before the journal sees it)
CARD_FIELDS = ("brand", "masked_pan", "aid", "label", "entry", "tvr", "tsi", "arqc", "tc",
               "aac", "cvm_results")
MAX_APPS = 8
MAX_QR = 512   # an EMVCo merchant-presented payload is well under this

Progress = Callable[[dict], None]
Taken = Callable[[], None]


def no_progress(step: dict) -> None:
    """The default ``progress``: a port called without one reports nowhere."""


@dataclass(frozen=True)
class AuthRequest:
    txn: str
    method: Literal["card", "qr"]
    amount: int                 # minor units
    currency_code: str
    currency_numeric: int
    stan: int
    idem_key: str


@dataclass(frozen=True)
class AuthResult:
    outcome: Literal["approved", "declined", "unavailable"]
    auth_code: str = ""         # field 38
    reason: str = ""            # stable code for logs and the journal (e.g. "card_removed")
    card: dict = field(default_factory=dict)  # CARD_FIELDS only
    rrn: str = ""               # field 37
    response_code: str = ""     # field 39
    message_key: str = ""       # one of MESSAGE_KEYS: what the shopper is told


class PaymentPort(Protocol):
    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        """Authorize ``request.amount`` once under ``request.idem_key``.

        Runs on a worker thread; may call ``progress`` with a step dict any number of
        times. Returns when the attempt has ended (approved, declined, or unavailable:
        outcome unknown, the core then reverses).
        """
        ...

    def reverse(self, request: AuthRequest) -> bool:
        """Undo the authorization under ``request.idem_key`` if the host has one.

        Returns True once the host confirmed (also when it had nothing to undo),
        False if it could not be reached: the caller keeps the reversal queued.
        """
        ...

    def choose(self, stan: int, index: int) -> None:
        """The shopper picked application ``index`` of the last ``choose_app`` step."""
        ...

    def cancel(self, stan: int) -> bool:
        """Stop attempt ``stan``. True: nothing has left the kiosk and nothing will;
        the attempt is over (its ``authorize`` returns declined "cancelled", and a new
        ``authorize`` may follow at once). False: a request has left (or may have):
        the core reverses it."""
        ...

    def seal_cards(self, on_taken: Taken) -> bool:
        """A shopper's session has ended: no card in a reader now may pay again.

        Returns True when such a card is still in: it must be taken, and ``on_taken`` is
        called once (from the reader's event thread) when the last of them is removed.
        A port with no card reader returns False."""
        ...


def safe_card(card: dict | None) -> dict:
    """Only the journal-safe card facts, as short strings; a masked PAN that is not
    masked is dropped rather than kept."""
    out: dict = {}
    for key in CARD_FIELDS:
        value = (card or {}).get(key)
        if value is None or value == "":
            continue
        text = str(value)[:40]
        if key == "masked_pan" and not is_masked(text):
            continue
        out[key] = text
    return out


def safe_step(step: dict) -> dict | None:
    """A progress step reduced to what may be published: its name and app labels."""
    name = step.get("step") if isinstance(step, dict) else None
    if name not in STEPS:
        return None
    out: dict = {"step": name}
    if name == "choose_app":
        apps = step.get("apps") or []
        out["apps"] = [{"label": str(a.get("label", ""))[:32] or f"#{i + 1}"}
                       for i, a in enumerate(apps[:MAX_APPS]) if isinstance(a, dict)]
    if step.get("notice") in WALLET_NOTICES:
        out["notice"] = step["notice"]
    if name == "scan_code":  # the kiosk's own QR (no secret: an order to pay) and its expiry
        qr = step.get("qr")
        expires = step.get("expires_at")
        if not (isinstance(qr, str) and 0 < len(qr) <= MAX_QR and qr.isprintable()
                and isinstance(expires, int | float)):
            return None
        out.update(qr=qr, expires_at=float(expires))
    return out
