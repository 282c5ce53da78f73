"""The wallet gateway port: what the phone-wallet payment method asks of a QR-pay gateway.

A gateway speaks one *dialect* (a generic JSON one, Alipay face-to-face, WeChat Pay micropay,
each registered in the entry-point group ``kiosk.wallet_dialects``). Whatever the dialect,
every call answers with a :class:`GatewayAnswer` that keeps two things apart:

* ``transport``: did a verified answer come back? ``ok`` (received, signature verified),
  ``error`` (no answer: refused, reset, timeout: the request may or may not have arrived),
  ``bad_answer`` (something came back but could not be read or its signature is wrong: it
  counts as no answer);
* ``trade``: what the gateway says of the order, meaningful only when ``transport == "ok"``:
  ``paid``, ``user_paying`` (the shopper must confirm on the phone), ``not_paid`` (a definite
  failure: nothing was or will be charged), ``closed`` (cancelled/reversed, nothing charged),
  ``refunded`` (was paid, money returned), ``unknown`` (the gateway itself does not know yet:
  e.g. Alipay 20000, WeChat SYSTEMERROR).

A request that was received but failed is ``transport="ok", trade="not_paid"`` with a
``reason``; a network error is ``transport="error"``. Only a definite ``not_paid`` lets the
lane ask the shopper for another code; anything unknown is queried, then reversed.

The order number (``order_no``) is the merchant's: unique per attempt, ``[A-Za-z0-9_]``,
within :attr:`WalletGateway.max_order_no` characters; a retry of the same code sends the same
number with the same parameters. The shopper's payment code (``WalletOrder.code``) is a
bearer credential: it is sent to the gateway and nowhere else (never logged, journaled,
published or printed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Transport = Literal["ok", "error", "bad_answer"]
Trade = Literal["paid", "user_paying", "not_paid", "closed", "refunded", "unknown"]
#: trades after which nothing more happens to the order
FINAL_TRADES = ("paid", "not_paid", "closed", "refunded")
#: stable ``reason`` codes of a ``not_paid`` answer (what the shopper is told comes from them)
NOT_PAID_REASONS = ("insufficient_funds", "code_used", "code_expired", "code_invalid",
                    "user_cancelled", "risk_declined", "amount_limit", "declined")


@dataclass(frozen=True)
class WalletOrder:
    """One payment attempt as the gateway sees it."""

    order_no: str          # merchant order number (unique per attempt)
    amount: int            # minor units
    currency: str          # ISO 4217 alpha (CNY, KRW, ...)
    subject: str           # what the shopper's wallet shows ("<store> lane <id>")
    code: str = field(default="", repr=False)  # customer-presented code; "" for merchant-presented


@dataclass(frozen=True)
class GatewayAnswer:
    transport: Transport
    trade: Trade = "unknown"
    reason: str = ""        # stable code: one of NOT_PAID_REASONS, or e.g. "system_error"
    result_code: str = ""   # the dialect's own code, journal-safe (e.g. "40004", "USERPAYING")
    gateway_txn: str = ""   # the gateway's transaction id, once it has one
    wallet: str = ""        # which wallet paid (alipay, wechat, unionpay, ...), when told
    paid_amount: int = 0    # minor units the gateway says were paid (checked against the order)
    qr_content: str = ""    # merchant-presented: what the screen's QR must hold when the
    #                         gateway makes it (Alipay precreate qr_code, WeChat code_url)


@dataclass(frozen=True)
class Notification:
    """A verified payment notification (merchant-presented flow): only what it says."""

    order_no: str
    answer: GatewayAnswer


class WalletGateway(Protocol):
    """One configured gateway (a dialect + endpoint + keys). Every method is blocking I/O and
    runs on a payment worker thread; none raises for a network or gateway fault (the answer's
    ``transport`` says so)."""

    dialect: str
    max_order_no: int            # longest order number the dialect accepts
    poll_interval_s: float       # how often to query a ``user_paying`` order
    pay_deadline_s: float        # how long a ``user_paying`` order is polled before reversal
    reverse_min_delay_s: float   # no reverse sooner than this after the pay request (WeChat)
    confirm_by_query: bool       # a ``paid`` pay answer counts only once a query confirms it

    def pay(self, order: WalletOrder) -> GatewayAnswer:
        """Customer-presented: charge ``order.code`` for ``order.amount``."""
        ...

    def create(self, order: WalletOrder) -> GatewayAnswer:
        """Merchant-presented: register the order the kiosk's screen QR refers to
        (``trade="user_paying"`` once the gateway expects it)."""
        ...

    def query(self, order_no: str) -> GatewayAnswer:
        """What the gateway knows of ``order_no`` now."""
        ...

    def reverse(self, order_no: str) -> GatewayAnswer:
        """Undo ``order_no`` whatever its state: close it if unpaid, refund it if paid
        (Alipay ``trade.cancel``, WeChat ``reverse``). ``closed``/``refunded`` once done."""
        ...

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification | None:
        """A notification posted to the lane's listener, if its signature verifies;
        None otherwise (it is then ignored: polling still finds the result)."""
        ...
