"""The wallet gateway client: the :class:`~kiosk.payments.wallet.gateway.WalletGateway` port
over HTTPS (httpx), one dialect deciding the wire.

* Trust: the gateway's certificate must chain to the configured CA file (nothing else is
  trusted, TLS 1.2+, no proxy from the environment); optional client certificate (mutual
  TLS). Connect and read timeouts from the options.
* Signatures: every request is signed by the dialect; an answer or a notification counts
  only once its signature verifies (else ``transport="bad_answer"``, which counts as no
  answer).
* Retries, only where safe, jittered and doubling (``retries``, ``retry_backoff_s``): a
  query or a reverse after any failure; a pay or a create only when the connection was
  never made (the very same bytes again: same order number, same parameters). A pay whose
  request may have arrived (timeout, reset, an unreadable answer) is reported as
  ``transport="error"``/``"bad_answer"``: the method then queries.
* Nothing is logged or raised with the payment code or a key in it: log lines name the
  operation, the order number and the outcome.

:func:`open_gateway` builds one from the ``[payments.options.qr]`` options; key files are
checked at that moment (:func:`kiosk.payments.wallet.config.load_keys`).
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from kiosk.payments.wallet.config import Keys, WalletConfigError, WalletOptions, load_keys
from kiosk.payments.wallet.dialect import BadAnswer, Dialect, NotificationReply, Operation
from kiosk.payments.wallet.gateway import GatewayAnswer, Notification, WalletOrder
from kiosk.payments.wallet.registry import dialect_class

log = logging.getLogger("kiosk.wallet")

#: called with (operation, order number, attempt from 0) just before each request leaves:
#: where the method journals it ("journal before send"); if it raises, nothing is sent
BeforeSend = Callable[[str, str, int], None]


def tls_context(keys: Keys) -> ssl.SSLContext:
    """Verify against the pinned CA only; present the client certificate if configured."""
    try:
        ctx = ssl.create_default_context(cafile=str(keys.ca_file))
    except (ssl.SSLError, OSError) as exc:
        raise WalletConfigError(f"wallet ca_file {keys.ca_file}: not a PEM CA bundle"
                                f" ({type(exc).__name__})") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if keys.client_cert is not None:
        try:
            ctx.load_cert_chain(*keys.client_cert)
        except (ssl.SSLError, OSError) as exc:
            raise WalletConfigError(f"wallet client certificate {keys.client_cert[0]}:"
                                    f" cannot be loaded ({type(exc).__name__})") from None
    return ctx


def _tls_refused(exc: BaseException) -> bool:
    """A certificate the handshake refused: trying again will not change it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class GatewayClient:
    """One configured gateway. Thread-safe; every call blocks (payment worker threads)."""

    def __init__(self, options: WalletOptions, dialect: Dialect, keys: Keys,
                 before_send: BeforeSend | None = None) -> None:
        self.options = options
        self.before_send = before_send
        self._dialect = dialect
        self.dialect = dialect.name
        self.max_order_no = dialect.max_order_no
        self.poll_interval_s = options.poll_interval_s or dialect.poll_interval_s
        self.pay_deadline_s = options.pay_deadline_s
        self.reverse_min_delay_s = (dialect.reverse_min_delay_s
                                    if options.reverse_min_delay_s is None
                                    else options.reverse_min_delay_s)
        self.confirm_by_query = (dialect.confirm_by_query if options.confirm_by_query is None
                                 else options.confirm_by_query)
        self._http = httpx.Client(
            base_url=options.url.rstrip("/"), verify=tls_context(keys), trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(connect=options.connect_timeout_s,
                                  read=options.read_timeout_s, write=options.read_timeout_s,
                                  pool=options.connect_timeout_s))
        self._lock = threading.Lock()
        self._sent_at: dict[str, float] = {}   # order number → when its pay was sent
        self.http_seconds = 0.0      # time spent waiting on the gateway (benches subtract it)

    # -- the port --------------------------------------------------------------------------
    def pay(self, order: WalletOrder) -> GatewayAnswer:
        self._note_sent(order.order_no)
        return self._call("pay", order, order.order_no)

    def create(self, order: WalletOrder) -> GatewayAnswer:
        self._note_sent(order.order_no)
        return self._call("create", order, order.order_no)

    def query(self, order_no: str) -> GatewayAnswer:
        return self._call("query", None, order_no)

    def reverse(self, order_no: str) -> GatewayAnswer:
        """Undo ``order_no``; never sooner than ``reverse_min_delay_s`` after this client
        sent its pay request (WeChat: 15 s): the call waits out the rest."""
        with self._lock:
            sent = self._sent_at.get(order_no)
        if sent is not None:
            wait = sent + self.reverse_min_delay_s - time.monotonic()
            if wait > 0:
                log.info("reverse %s: waiting %.1f s (the dialect's minimum after a pay)",
                         order_no, wait)
                time.sleep(wait)
        if not self._dialect.reverse_after_query:
            return self._call("reverse", None, order_no)
        found = self._call("query", None, order_no)
        if found.transport != "ok":
            return found
        op = self._dialect.undo_op(order_no, found)
        if op is None:
            return found
        return self._call(op, None, order_no)

    def _note_sent(self, order_no: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._sent_at[order_no] = now
            horizon = now - max(self.reverse_min_delay_s, 1.0)
            for old in [k for k, t in self._sent_at.items() if t < horizon]:
                del self._sent_at[old]

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification | None:
        try:
            note = self._dialect.notification(dict(headers), body)
        except BadAnswer as exc:
            log.warning("notification ignored: %s", exc)
            return None
        log.info("notification %s: %s %s", note.order_no, note.answer.trade,
                 note.answer.result_code)
        return note

    def notification_reply(self, accepted: bool) -> NotificationReply:
        """What the lane's listener answers the gateway (``success``, ``<xml>``...)."""
        return self._dialect.notification_reply(accepted)

    def close(self) -> None:
        self._http.close()

    # -- one call, retried where safe ----------------------------------------------------
    def _call(self, op: Operation, order: WalletOrder | None, order_no: str) -> GatewayAnswer:
        request = self._dialect.request(op, order, order_no)
        idempotent = op in ("query", "reverse", "close", "refund")
        answer = GatewayAnswer("error")
        for attempt in range(self.options.retries + 1):
            if attempt:
                time.sleep(random.uniform(0, self.options.retry_backoff_s * 2 ** (attempt - 1)))
            if self.before_send is not None:
                self.before_send(op, order_no, attempt)   # may raise: then nothing is sent
            started = time.monotonic()
            try:
                resp = self._http.post(request.path, content=request.body,
                                       headers=request.headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                self._spent(started)
                answer = GatewayAnswer("error", reason="connect")
                log.warning("%s %s: no connection (%s, attempt %d)", op, order_no,
                            type(exc).__name__, attempt + 1)
                if _tls_refused(exc):
                    return GatewayAnswer("error", reason="tls")
                continue                       # nothing was sent: safe for every operation
            except httpx.TimeoutException as exc:
                self._spent(started)
                answer = GatewayAnswer("error", reason="timeout")
                log.warning("%s %s: no answer in time (%s, attempt %d)", op, order_no,
                            type(exc).__name__, attempt + 1)
            except httpx.HTTPError as exc:     # reset, broken stream: it may have arrived
                self._spent(started)
                answer = GatewayAnswer("error", reason="network")
                log.warning("%s %s: connection lost (%s, attempt %d)", op, order_no,
                            type(exc).__name__, attempt + 1)
            else:
                self._spent(started)
                try:
                    answer = self._dialect.answer(op, order_no, resp.status_code,
                                                  dict(resp.headers), resp.content)
                except BadAnswer as exc:
                    answer = GatewayAnswer("bad_answer", reason="bad_answer")
                    log.warning("%s %s: answer refused: %s", op, order_no, exc)
                else:
                    log.info("%s %s: %s %s %s", op, order_no, answer.trade, answer.reason,
                             answer.result_code)
                    return answer
            if not idempotent:
                return answer                  # it may have arrived: the method queries
        return answer

    def _spent(self, started: float) -> None:
        with self._lock:
            self.http_seconds += time.monotonic() - started


def open_gateway(options: WalletOptions, state_dir: Path, production: bool = False,
                 before_send: BeforeSend | None = None) -> GatewayClient:
    """The gateway ``options`` describe, its key files checked now (one-line
    :class:`WalletConfigError` otherwise; demo keys refused when ``production``)."""
    cls = dialect_class(options.dialect)
    keys = load_keys(options, Path(state_dir), cls.uses_rsa, production)
    return GatewayClient(options, cls(options, keys), keys, before_send)
