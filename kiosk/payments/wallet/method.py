"""Pay by phone: the phone-wallet payment method (id ``qr``) over a :class:`WalletGateway`.

Two flows, both from the one ``pay qr`` attempt:

* **customer-presented** (default): the screen asks the shopper to show their wallet's
  payment code to the camera (step ``show_code``). kiosk-scanner sends it to kiosk-core only
  (command ``wallet_code``); the core hands it here (:meth:`WalletMethod.present_code`).
  A code already presented in this basket is refused locally (notice ``code_reused``). For
  each code an order is written to the order book (kiosk/payments/wallet/orders.py) BEFORE
  the pay request leaves, with a new order number; a retry of that request keeps the number
  and the parameters. Then, following the gateways' rules:

  - ``user_paying``: step ``user_paying`` ("confirm the payment on your phone"), the order is
    queried every ``gateway.poll_interval_s`` up to ``gateway.pay_deadline_s``, then reversed;
  - no answer, an unreadable one, or ``unknown``: step ``checking``, a short wait, then a
    query before anything else (a few times); still unknown → reversed;
  - ``paid``: counts only if the paid amount is the order's (else reversed) and, where the
    dialect says ``confirm_by_query``, only once a query confirms it;
  - a definite ``not_paid``: a used, expired or invalid code asks for another code in place
    (notice on ``show_code``); any other reason ends the attempt declined.

* **merchant-presented**: from ``show_code`` the shopper may pick "scan the kiosk's code"
  (``choose_app`` index 1). An order is created at the gateway, its EMVCo QR is published on
  step ``scan_code`` with its expiry (the screen shows it with the amount and a countdown);
  the result comes from a verified notification (:class:`NotifyListener`) or, as fallback,
  from polling; on expiry the order is closed.

Every order that must not stand (cancelled after it left, unknown, past its deadline, a wrong
amount, a late approval) is reversed through kiosk-core's reversal queue (:meth:`reverse`:
close if unpaid, refund if paid, retried until the gateway answers; not sooner than the
dialect's ``reverse_min_delay_s`` after the request). After a restart :meth:`recover`
resolves every order that is not final (query, then reverse or record the payment) and the
core takes no new payment until it has.

The shopper's payment code lives only in memory, for the one attempt: it is never logged,
journaled, published, printed, nor put in an exception message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from kiosk.i18n import N_
from kiosk.payments.method import PaymentMethod, VoiceWords
from kiosk.payments.port import AuthRequest, AuthResult, Progress, no_progress
from kiosk.payments.wallet.config import WalletConfigError, WalletOptions
from kiosk.payments.wallet.gateway import GatewayAnswer, WalletGateway, WalletOrder
from kiosk.payments.wallet.orders import Order, OrderBook

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

log = logging.getLogger("kiosk.payments.wallet")
ORDER_BOOK = "wallet-orders.sqlite"
#: not_paid reasons after which the shopper is asked for another code in place
ANOTHER_CODE = ("code_used", "code_expired", "code_invalid")
#: gateway not_paid reason → the shopper's message key (kiosk.domain.vocabulary.MESSAGE_KEYS)
MESSAGE_OF = {
    "insufficient_funds": "wallet_insufficient_funds",
    "code_used": "code_used",
    "code_expired": "code_expired",
    "code_invalid": "code_invalid",
    "user_cancelled": "wallet_cancelled",
    "risk_declined": "wallet_declined",
    "amount_limit": "wallet_amount_limit",
    "declined": "wallet_declined",
}
WALLETS = ("alipay", "wechat", "unionpay", "emvco_cpm", "kakaopay", "naverpay", "payco")


class QrOptions(WalletOptions):
    """``[payments.options.qr]``: the gateway (kiosk.payments.wallet.config.WalletOptions:
    dialect, url, keys, timeouts, polling) and how the lane waits for the shopper."""

    code_wait_s: float = Field(default=60, gt=0, description="wait this long for a code")
    query_wait_s: float = Field(default=1.0, ge=0, description="wait before querying an"
                                " order whose answer was lost or unknown")
    doubt_queries: int = Field(default=3, ge=1, le=20, description="queries of an order in"
                               " doubt before it is reversed")
    mpm_expiry_s: float = Field(default=120, gt=0, description="life of the screen QR")
    mcc: str = Field(default="5411", pattern=r"^\d{4}$", description="merchant category"
                     " code in the screen's QR (5411: grocery stores)")
    country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    city: str = Field(default="", max_length=15)
    notify_host: str = Field(default="127.0.0.1", description="the notification listener's"
                             " address (notify_url is where the gateway reaches it)")
    notify_port: int = Field(default=0, ge=0, le=65535,
                             description="the notification listener's port; 0: none")


@dataclass
class _Flow:
    """One attempt in progress: the shopper's code, switch or cancel wakes it."""

    stan: int
    wake: threading.Event = field(default_factory=threading.Event)
    codes: list[tuple[str, str]] = field(default_factory=list, repr=False)
    switch_to_mpm: bool = False
    cancelled: bool = False
    order_no: str = ""                  # the order in flight (nothing while waiting)
    notes: list[GatewayAnswer] = field(default_factory=list)
    qr_step: dict | None = None          # merchant-presented: the step showing the QR
    done: threading.Event = field(default_factory=threading.Event)


class _Stop(Exception):
    """The attempt was cancelled while it waited."""


class WalletMethod(PaymentMethod):
    """Pay with a phone wallet (Alipay, WeChat Pay, UnionPay, EMVCo): the shopper's payment
    code read by the camera, or the kiosk's QR code scanned by the phone."""

    id = "qr"
    label = N_("Mobile QR")
    hint = N_("Pay with the payment app on your phone")
    receipt_label = N_("Mobile QR")
    voice_words = {
        "ko": VoiceWords(keys=("카카오페이", "네이버페이", "삼성페이", "페이", "모바일"),
                         phrases=("카카오페이 할게요", "카카오페이 결제", "카카오페이 결제할게요",
                                  "모바일 결제", "삼성페이 할게요", "네이버페이 할게요",
                                  "페이 결제")),
        "en": VoiceWords(keys=("phone", "mobile"),
                         phrases=("pay by phone", "mobile pay", "phone please")),
        "zh": VoiceWords(keys=("手机", "扫码", "微信", "支付宝"),
                         phrases=("手机 支付", "扫码 支付")),
    }
    config_model = QrOptions
    simulated = False

    def __init__(self, config: KioskConfig, options: BaseModel | None = None,
                 port: WalletGateway | None = None) -> None:
        super().__init__(config, options)
        self.opts: QrOptions = options if isinstance(options, QrOptions) else QrOptions()
        self.gateway: WalletGateway = port if port is not None else self.open_port(config)
        self.book = OrderBook(config.paths.state_dir / ORDER_BOOK)
        self._lock = threading.Lock()
        self._resolve_lock = threading.Lock()   # one reversal/resolution at a time
        self._flows: dict[int, _Flow] = {}
        self._finished: set[int] = set()        # attempts over (a cancel then reverses)
        self._precancelled: set[int] = set()    # cancelled before their worker started
        self._by_order: dict[str, _Flow] = {}
        self._basket = ""                       # the txn the presented codes belong to
        self._seen: set[bytes] = set()          # keyed digests of this basket's codes
        self._key = os.urandom(32)              # per process: the digests are never stored
        self.listener: Any = None
        if self.opts.notify_port:
            from kiosk.payments.wallet.notify import NotifyListener
            try:
                self.listener = NotifyListener(self.opts.notify_host, self.opts.notify_port,
                                               self.gateway, self.notified)
            except OSError as exc:  # the lane sells on: payments are confirmed by polling
                log.error("wallet notifications off: cannot listen on %s:%d (%s); "
                          "payments are confirmed by polling the gateway",
                          self.opts.notify_host, self.opts.notify_port,
                          exc.strerror or exc)
            else:
                self.listener.start()

    def open_port(self, config: KioskConfig) -> WalletGateway:
        """The configured gateway (``payments.options.qr``: dialect, endpoint, keys), its
        key files checked now; one line (MethodError) if the lane cannot use it."""
        from kiosk.payments.registry import MethodError
        from kiosk.payments.wallet.client import open_gateway

        try:
            return open_gateway(self.opts, config.paths.state_dir, config.security.production)
        except (WalletConfigError, OSError) as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise MethodError(f"payment method 'qr': {first}") from None

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        close = getattr(self.gateway, "close", None)
        if close is not None:
            close()
        self.book.close()

    # -- hooks the core calls (its main loop) ---------------------------------------------
    def present_code(self, stan: int, code: str, kind: str) -> None:
        """The scanner read a wallet payment code while attempt ``stan`` waits for one."""
        with self._lock:
            flow = self._flows.get(stan)
            if flow is None or flow.cancelled:
                return
            flow.codes.append((code, kind))
            flow.wake.set()

    def choose(self, stan: int, index: int) -> None:
        """On ``show_code``, option 1 is "scan the kiosk's code with your phone"."""
        with self._lock:
            flow = self._flows.get(stan)
            if flow is not None and index == 1 and not flow.order_no:
                flow.switch_to_mpm = True
                flow.wake.set()

    def cancel(self, stan: int) -> bool:
        with self._lock:
            flow = self._flows.get(stan)
            if flow is None:
                if stan in self._finished:
                    return False  # over: whatever happened stands (the core reverses it)
                self._precancelled.add(stan)  # the worker has not started it yet
                return True
            flow.cancelled = True
            flow.wake.set()
            return not flow.order_no   # waiting for a code: nothing is out

    def notified(self, order_no: str, answer: GatewayAnswer) -> None:
        """A verified notification (the listener's thread) for a merchant-presented order."""
        with self._lock:
            flow = self._by_order.get(order_no)
            if flow is not None:
                flow.notes.append(answer)
                flow.wake.set()
        log.info("order %s: notification (%s) %s", order_no, answer.trade,
                 "for the waiting attempt" if flow is not None else "for no waiting attempt")

    def recorded(self, idem_key: str) -> None:
        """kiosk-core journaled the sale approved under ``idem_key``: its paid order is final."""
        for order in self.book.orders(idem_key, states=("paid",)):
            self._set(order.order_no, "recorded")

    def open_orders(self) -> list[str]:
        """The attempts whose orders a restart left unresolved (no payment meanwhile)."""
        return sorted({o.idem_key for o in self.book.open_orders()})

    # -- the attempt (a payment worker thread) --------------------------------------------
    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        flow = _Flow(request.stan)
        with self._lock:
            if request.stan in self._precancelled:
                self._precancelled.discard(request.stan)
                self._finished.add(request.stan)
                return AuthResult("declined", reason="cancelled", message_key="cancelled")
            self._flows[request.stan] = flow
            if self._basket != request.txn:  # a code is single-use per basket
                self._basket, self._seen = request.txn, set()
        try:
            return self._customer_presented(request, flow, progress)
        except _Stop:
            return AuthResult("declined", reason="cancelled", message_key="cancelled")
        finally:
            with self._lock:
                self._flows.pop(request.stan, None)
                self._finished.add(request.stan)
                self._by_order = {k: v for k, v in self._by_order.items() if v is not flow}
            flow.done.set()

    def _customer_presented(self, req: AuthRequest, flow: _Flow,
                            progress: Progress) -> AuthResult:
        notice = ""
        while True:
            progress({"step": "show_code", "notice": notice} if notice else
                     {"step": "show_code"})
            deadline = time.monotonic() + self.opts.code_wait_s
            code, kind = "", ""
            while not code:
                with self._lock:
                    if flow.cancelled:
                        raise _Stop
                    if flow.switch_to_mpm:
                        break
                    if flow.codes:
                        code, kind = flow.codes.pop(0)
                        break
                    flow.wake.clear()
                left = deadline - time.monotonic()
                if left <= 0:
                    return AuthResult("declined", reason="code_timeout",
                                      message_key="code_timeout")
                flow.wake.wait(left)
            if flow.switch_to_mpm and not code:
                return self._merchant_presented(req, flow, progress)
            digest = hmac.new(self._key, code.encode(), hashlib.sha256).digest()
            with self._lock:
                reused = digest in self._seen
                self._seen.add(digest)
            if reused:
                notice = "code_reused"
                continue
            order = self._new_order(req, flow, "cpm")
            progress({"step": "checking"})
            wallet_order = WalletOrder(order.order_no, order.amount, order.currency,
                                       order.subject, code)
            answer = self.gateway.pay(wallet_order)
            result = self._settle(order, answer, flow, progress,
                                  retry=lambda o=wallet_order: self.gateway.pay(o),
                                  wallet=kind)
            del code, wallet_order
            if result.outcome == "declined" and result.reason in ANOTHER_CODE:
                with self._lock:
                    flow.order_no = ""
                notice = result.reason
                continue
            return result

    def _new_order(self, req: AuthRequest, flow: _Flow, kind: str) -> Order:
        # unique across the lanes of a merchant account: the prefix, the lane, a counter
        prefix = f"{self.opts.order_prefix}{self.config.store.lane_id}_"
        number = self.book.next_number(prefix, self.gateway.max_order_no)
        subject = f"{self.config.store.name} lane {self.config.store.lane_id}"[:64]
        with self._lock:
            if flow.cancelled:
                raise _Stop
            flow.order_no = number   # from here on a cancel reverses
            self._by_order[number] = flow
        return self.book.record(order_no=number, idem_key=req.idem_key, flow=kind,
                                amount=req.amount, currency=req.currency_code,
                                subject=subject)

    def _settle(self, order: Order, answer: GatewayAnswer, flow: _Flow, progress: Progress,
                retry: Callable[[], GatewayAnswer] | None = None, wallet: str = "",
                until: float | None = None) -> AuthResult:
        """Follow one order from its first answer to an outcome."""
        gw = self.gateway
        paying_until: float | None = until
        doubts = 0
        confirmed = False
        while True:
            if flow.cancelled:
                return _unknown("cancelled")
            lost = (answer.transport == "ok" and answer.trade == "not_paid"
                    and answer.reason == "order_not_found")   # a query of a request lost
            if lost and retry is not None:
                answer, retry = retry(), None   # never arrived: the same request again
                continue
            if answer.transport != "ok" or answer.trade == "unknown" or lost:
                self._set(order.order_no, "in_doubt", result_code=answer.result_code[:32])
                doubts += 1
                if doubts > self.opts.doubt_queries:
                    return _unknown("in_doubt")
                progress({"step": "checking"})
                self._pause(flow, self.opts.query_wait_s)
                answer = gw.query(order.order_no)
                continue
            trade = answer.trade
            if trade == "paid":
                if answer.paid_amount and answer.paid_amount != order.amount:
                    log.warning("order %s: paid %d, not %d: reversing", order.order_no,
                                answer.paid_amount, order.amount)
                    self._set(order.order_no, "in_doubt", reason="amount_mismatch",
                              paid_amount=answer.paid_amount)
                    return _unknown("amount_mismatch")
                if gw.confirm_by_query and not confirmed:
                    confirmed = True
                    answer = gw.query(order.order_no)
                    continue
                done = self._set(order.order_no, "paid", result_code=answer.result_code[:32],
                                 gateway_txn=answer.gateway_txn[:64],
                                 wallet=(answer.wallet or wallet)[:16],
                                 paid_amount=answer.paid_amount or order.amount)
                if done.state != "paid":   # a cancel reversed it meanwhile
                    return _unknown("cancelled")
                return _approved(done)
            confirmed = False
            if trade == "user_paying":
                self._set(order.order_no, "user_paying", result_code=answer.result_code[:32])
                now = time.monotonic()
                if paying_until is None:
                    paying_until = now + gw.pay_deadline_s
                if now >= paying_until:
                    return _unknown("user_paying_timeout")
                progress(flow.qr_step or {"step": "user_paying"})
                self._pause(flow, min(gw.poll_interval_s, paying_until - now))
                if flow.notes:
                    with self._lock:
                        answer = flow.notes.pop(0)
                else:
                    answer = gw.query(order.order_no)
                continue
            if trade in ("closed", "refunded"):
                self._set(order.order_no, trade, result_code=answer.result_code[:32])
                return _declined(answer.reason or "user_cancelled")
            self._set(order.order_no, "not_paid", result_code=answer.result_code[:32],
                      reason=answer.reason[:32])
            return _declined(answer.reason or "declined")

    @staticmethod
    def _pause(flow: _Flow, seconds: float) -> None:
        """Sleep ``seconds``, woken early by a cancel or a notification."""
        if seconds > 0 and not flow.cancelled and not flow.notes:
            flow.wake.clear()
            if not flow.cancelled and not flow.notes:
                flow.wake.wait(seconds)

    def _merchant_presented(self, req: AuthRequest, flow: _Flow,
                            progress: Progress) -> AuthResult:
        order = self._new_order(req, flow, "mpm")
        progress({"step": "checking"})
        answer = self.gateway.create(WalletOrder(order.order_no, order.amount, order.currency,
                                                 order.subject))
        if answer.transport != "ok" or answer.trade not in ("user_paying", "paid"):
            if answer.transport == "ok" and answer.trade == "not_paid":
                self._set(order.order_no, "not_paid", result_code=answer.result_code[:32])
                return _declined(answer.reason or "declined")
            self._set(order.order_no, "in_doubt", result_code=answer.result_code[:32])
            return _unknown("create_failed")
        self._set(order.order_no, "user_paying", result_code=answer.result_code[:32])
        expires = time.time() + self.opts.mpm_expiry_s
        flow.qr_step = {"step": "scan_code", "qr": self.mpm_payload(order, answer),
                        "expires_at": round(expires, 1)}
        result = self._settle(order, answer, flow, progress,
                              until=time.monotonic() + self.opts.mpm_expiry_s)
        if result.reason == "user_paying_timeout":  # the QR expired: close it now
            if self._reverse_order(self.book.get(order.order_no) or order):
                return _declined("qr_expired")
        return result

    def mpm_payload(self, order: Order, answer: GatewayAnswer | None = None) -> str:
        """What the screen's QR holds: the gateway's own code when it makes one (Alipay
        precreate ``qr_code``, WeChat ``code_url``), else the EMVCo merchant-presented
        payload of ``order`` (kiosk.domain.emvqr: amount, currency, the order number as
        the bill number, CRC)."""
        made = str(getattr(answer, "qr_content", "") or "")
        if made:
            return made
        from kiosk.domain.emvqr import MerchantAccount, build_mpm
        from kiosk.domain.money import Currency

        store, cur = self.config.store, self.config.currency
        guid = f"kiosk.{self.gateway.dialect}"[:32]
        return build_mpm(
            accounts=[MerchantAccount("26", guid, (("01", order.order_no[:99]),))],
            mcc=self.opts.mcc, currency=Currency(cur.code, cur.numeric, cur.exponent),
            amount_minor=order.amount, country=self.opts.country,
            name=_emv_text(store.name, 25), city=_emv_text(self.opts.city or store.store_id,
                                                           15),
            bill_number=order.order_no[:25],
            terminal_label=_emv_text(store.lane_id, 25))

    # -- undo ----------------------------------------------------------------------------
    def reverse(self, request: AuthRequest) -> bool:
        """Close or refund every order of ``request`` that must not stand. True once the
        gateway has answered for all of them; False: try again later."""
        with self._lock:
            flow = self._flows.get(request.stan)
        if flow is not None:  # let the attempt's own requests finish first
            flow.cancelled = True
            flow.wake.set()
            flow.done.wait(30)
        ok = True
        for order in self.book.orders(request.idem_key):
            if order.state in ("sending", "user_paying", "in_doubt", "paid", "reversing"):
                ok &= self._reverse_order(order)
        return ok

    def resolve(self, request: AuthRequest) -> bool:
        """An attempt a restart interrupted: its orders are resolved like any left open."""
        ok = True
        for order in self.book.orders(request.idem_key):
            if not order.final:
                ok &= self._resolve_order(order, recorded=False)
        return ok

    def recover(self, approved: Callable[[str], bool]) -> bool:
        """Start-up: resolve every order not final. ``approved(idem_key)``: the journal holds
        the sale as approved (its paid order is then recorded, not refunded). True once none
        is left open."""
        ok = True
        for order in self.book.open_orders():
            ok &= self._resolve_order(order, recorded=approved(order.idem_key))
        return ok

    def _resolve_order(self, order: Order, recorded: bool) -> bool:
        if order.state == "paid" and recorded:
            self._set(order.order_no, "recorded")
            return True
        if order.state == "reversing":
            return self._reverse_order(order)
        answer = self.gateway.query(order.order_no)
        if answer.transport != "ok":
            return False
        if answer.trade == "paid" and recorded and answer.paid_amount in (0, order.amount):
            self._set(order.order_no, "recorded", gateway_txn=answer.gateway_txn[:64],
                      wallet=answer.wallet[:16])
            return True
        if answer.trade in ("not_paid", "closed", "refunded") and \
                answer.reason != "order_not_found":   # unknown to it: closed, so it stays so
            state = "not_paid" if answer.trade == "not_paid" else answer.trade
            self._set(order.order_no, state, result_code=answer.result_code[:32],
                      reason=answer.reason[:32])
            return True
        return self._reverse_order(order, paid=answer.trade == "paid")

    def _reverse_order(self, order: Order, paid: bool = False) -> bool:
        with self._resolve_lock:
            current = self.book.get(order.order_no) or order
            if current.state in ("closed", "refunded", "not_paid", "recorded"):
                return True
            self._set(order.order_no, "reversing")
            wait = current.sent_at + self.gateway.reverse_min_delay_s - time.time()
            if wait > 0:  # WeChat: no reverse sooner than its minimum after the pay request
                time.sleep(wait)
            answer = self.gateway.reverse(order.order_no)
            if answer.transport != "ok" or answer.trade not in ("closed", "refunded",
                                                                "not_paid"):
                log.warning("order %s: reversal not answered (%s %s): retried later",
                            order.order_no, answer.transport, answer.result_code[:32])
                return False
            state = "closed" if answer.trade == "not_paid" else answer.trade
            self._set(order.order_no, state, result_code=answer.result_code[:32])
            return True

    def _set(self, order_no: str, state: str, **fields: Any) -> Order:
        """Move an order on; a reversed order never goes back (a late answer is ignored)."""
        with self._lock:
            current = self.book.get(order_no)
            if current is None:
                raise ValueError(f"no order {order_no}")
            if current.state in ("reversing", "closed", "refunded") and state not in (
                    "closed", "refunded", "reversing"):
                return current
            if current.state == "recorded":
                return current
            return self.book.update(order_no, state, **fields)


def _emv_text(text: str, limit: int) -> str:
    """An EMVCo root text field: printable ASCII (59/60 are Latin; a local name goes in the
    alternate-language template), at most ``limit`` characters."""
    clean = "".join(c for c in text if 0x20 <= ord(c) < 0x7F).strip()
    return (clean or "KIOSK")[:limit]


def _approved(order: Order) -> AuthResult:
    wallet = order.wallet if order.wallet in WALLETS else "wallet"
    return AuthResult("approved", auth_code=(order.gateway_txn[-6:] or order.order_no[-6:]),
                      card={"brand": wallet}, rrn=order.order_no[-12:], response_code="00")


def _declined(reason: str) -> AuthResult:
    return AuthResult("declined", reason=reason[:32],
                      message_key=MESSAGE_OF.get(reason, "wallet_declined"
                                                 if reason != "qr_expired" else "qr_expired"))


def _unknown(reason: str) -> AuthResult:
    """No outcome that may stand: kiosk-core reverses the attempt (its queue)."""
    return AuthResult("unavailable", reason=reason, message_key="try_later")
