"""What a wallet gateway dialect is: how requests are built and signed, how answers are read.

A dialect (registered in the entry-point group ``kiosk.wallet_dialects``, see
:mod:`kiosk.payments.wallet.registry`) turns each port call into one HTTP request
(:class:`HttpRequest`: path, body, headers, already signed) and reads the answer into a
:class:`~kiosk.payments.wallet.gateway.GatewayAnswer`, or raises :class:`BadAnswer` when it
cannot be read or its signature does not verify (the client reports ``bad_answer``). It
also reads a notification the gateway posted to the lane. It does no I/O: the client
(:mod:`kiosk.payments.wallet.client`) sends, retries and times out.

A dialect states its rules as class attributes: the longest order number, the default
polling interval, the least time before a reverse, whether a paid pay answer must be
confirmed by a query.
"""

from __future__ import annotations

import re
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal

from babel.numbers import get_currency_precision

from kiosk.payments.wallet.config import Keys, WalletOptions
from kiosk.payments.wallet.gateway import GatewayAnswer, Notification, WalletOrder

#: the port's calls; "close" and "refund" are a dialect's own ways to undo (see undo_op)
Operation = Literal["pay", "create", "query", "reverse", "close", "refund"]
#: the merchant order number rule every dialect shares (each has its own length limit)
ORDER_NO = re.compile(r"[A-Za-z0-9_]+", re.ASCII)


class BadAnswer(Exception):
    """An answer that does not count: unreadable, unsigned or wrongly signed, or about
    another order. The message says why in a few journal-safe words."""


@dataclass(frozen=True)
class HttpRequest:
    path: str
    body: bytes = field(repr=False)   # holds the payment code on a pay request
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationReply:
    """What the lane's listener answers the gateway (each dialect has its own word)."""

    content_type: str
    body: bytes


class Dialect(ABC):
    name: ClassVar[str]
    uses_rsa: ClassVar[bool] = False
    max_order_no: ClassVar[int] = 32
    poll_interval_s: ClassVar[float] = 5.0
    reverse_min_delay_s: ClassVar[float] = 0.0
    confirm_by_query: ClassVar[bool] = False
    #: a reverse first queries the order, and :meth:`undo_op` picks how to undo it
    reverse_after_query: ClassVar[bool] = False

    def __init__(self, options: WalletOptions, keys: Keys) -> None:
        self.options = options
        self.keys = keys

    @abstractmethod
    def request(self, op: Operation, order: WalletOrder | None, order_no: str) -> HttpRequest:
        """The signed request of ``op`` (``order`` for pay/create, else None)."""

    @abstractmethod
    def answer(self, op: Operation, order_no: str, status: int, headers: dict[str, str],
               body: bytes) -> GatewayAnswer:
        """The verified answer, or :class:`BadAnswer`."""

    def undo_op(self, order_no: str, found: GatewayAnswer) -> Operation | None:
        """How to undo an order a query just described (``reverse_after_query`` dialects):
        an operation, or None when ``found`` is already final."""
        return "reverse"

    @abstractmethod
    def notification(self, headers: dict[str, str], body: bytes) -> Notification:
        """A verified notification, or :class:`BadAnswer`."""

    @abstractmethod
    def notification_reply(self, accepted: bool) -> NotificationReply:
        """The listener's answer to a notification (accepted: verified and handled)."""

    # -- shared helpers -----------------------------------------------------------------
    def check_order_no(self, order_no: str) -> None:
        if not (ORDER_NO.fullmatch(order_no) and len(order_no) <= self.max_order_no):
            raise ValueError(f"order number {order_no!r} breaks the {self.name} rule:"
                             f" [A-Za-z0-9_], at most {self.max_order_no} characters")


def nonce() -> str:
    return secrets.token_hex(16)


def exponent(currency: str) -> int:
    return int(get_currency_precision(currency))


def major(amount: int, currency: str) -> str:
    """Minor units as the decimal text in major units Alipay wants ("12.34")."""
    exp = exponent(currency)
    return f"{Decimal(amount).scaleb(-exp):.{exp}f}"


def minor(text: str, currency: str) -> int:
    """Major-unit text back to minor units; :class:`BadAnswer` when it is not exact."""
    try:
        value = Decimal(str(text)).scaleb(exponent(currency))
    except (InvalidOperation, ValueError):
        raise BadAnswer("amount not a number") from None
    if value != value.to_integral_value() or value < 0:
        raise BadAnswer("amount not exact")
    return int(value)


def lower_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def same_order(answer: GatewayAnswer, asked: str, said: str | None) -> GatewayAnswer:
    """``answer`` if the gateway spoke of the order asked about (or did not say)."""
    if said and said != asked:
        raise BadAnswer("answer for another order")
    return answer
