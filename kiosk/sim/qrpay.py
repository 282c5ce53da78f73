"""``kiosk sim qrpay``: a local HTTPS wallet gateway speaking the generic, Alipay and WeChat
Pay dialects, with the scenarios a real one goes through.

It serves on loopback over TLS (its own demo CA, :mod:`kiosk.sim.qrpay_keys`; ``--mtls``
also asks for the lane's client certificate), checks every request's signature, keeps the
orders in memory and writes a JSON-lines ledger (``qrpay-ledger.jsonl``: every request
received, each order's ``paid`` / ``closed`` / ``refunded`` / ``declined``, notifications)
that tests read to prove nothing was paid twice (:func:`ledger_summary`). No payment code
is logged or written anywhere. A restarted simulator rebuilds its orders from the ledger
(:meth:`Engine.replay`), so what it charged survives it.

Real gateway rules it keeps: the same order number with other parameters is refused
(Alipay ``ACQ.CONTEXT_INCONSISTENT``, WeChat ``OUT_TRADE_NO_USED``); the same number with
the same parameters answers the order's state (a retry never charges twice); a code pays at
most once (a second order with it: code used); a reverse closes an unpaid order, refunds a
paid one, and of an order it never saw keeps a closed tombstone so a late pay is refused.

Scenarios, chosen by the last two digits of the payment code (customer-presented; an EMVCo
code that does not end in digits uses the amount's) or of the amount in minor units
(merchant-presented, ``create``); any other ending is ``success``:

==  ========================  ===========================================================
00  success                   paid at once (merchant-presented: paid when "scanned",
                              ``--scan-after`` s after create, then notified)
01  paying_then_success       user paying (10003 / USERPAYING); paid ``--confirm-after`` s
                              later
02  paying_then_cancelled     user paying; the shopper cancels ``--confirm-after`` s later
                              (query: TRADE_CLOSED / PAYERROR; merchant-presented: stays
                              unpaid)
03  insufficient_funds        ACQ.BUYER_BALANCE_NOT_ENOUGH / NOTENOUGH (nothing charged)
04  system_error_then_success 20000 ACQ.SYSTEM_ERROR / SYSTEMERROR, but the order IS paid:
                              a query finds it
05  slow                      success, answered (and notified) ``--slow`` s late
06  down                      the connection is dropped unanswered and the gateway refuses
                              connections for ``--down`` s; the order never existed
07  notification_lost         paid, no notification (merchant-presented: polling finds it)
08  duplicate_notification    paid, notified twice
09  code_used                 ACQ.PAYMENT_AUTH_CODE_INVALID / AUTH_CODE_INVALID / CODE_USED
                              (also any code that already paid another order)
10  signature_invalid         paid, but the answer (merchant-presented: the notification)
                              carries a wrong signature; queries are signed right
11  code_expired              ACQ.PAYMENT_AUTH_CODE_INVALID / AUTHCODEEXPIRE / CODE_EXPIRED
12  answer_lost               paid, the connection closes before the answer
13  paying_forever            user paying until the lane reverses it
==  ========================  ===========================================================

Control (for tests and the demo): ``GET /sim/status`` (JSON counts), ``POST /sim/down?s=N``
(refuse connections for N s), ``POST /sim/refuse?n=N`` (drop the next N connections before
the TLS handshake: a connect failure the client may retry).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import secrets
import socket
import ssl
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from kiosk.sim.qrpay_keys import DemoFiles, lane_options, make_demo_keys
from kiosk.sim.qrpay_wire import Keys, Outcome, Parsed, RequestRefused, notification, parse, render

log = logging.getLogger("kiosk.sim.qrpay")

SCENARIOS = {"00": "success", "01": "paying_then_success", "02": "paying_then_cancelled",
             "03": "insufficient_funds", "04": "system_error_then_success", "05": "slow",
             "06": "down", "07": "notification_lost", "08": "duplicate_notification",
             "09": "code_used", "10": "signature_invalid", "11": "code_expired",
             "12": "answer_lost", "13": "paying_forever"}
SUFFIX = {name: digits for digits, name in SCENARIOS.items()}
#: order states in which nothing more happens
FINAL = ("paid", "closed", "reversed", "refunded", "insufficient_funds", "code_used",
         "code_expired", "user_cancelled")
#: scenarios where the order is paid as soon as the shopper acts
PAID_AT_ONCE = ("success", "slow", "notification_lost", "duplicate_notification",
                "signature_invalid", "answer_lost", "system_error_then_success", "down",
                "code_used", "code_expired")


def scenario_of(text: str) -> str:
    tail = text[-2:]
    return SCENARIOS.get(tail, "success") if tail.isdigit() else ""


def code_for(scenario: str, kind: str = "wechat", serial: int = 0) -> str:
    """A payment code of the published shape of ``kind`` that selects ``scenario``."""
    body = f"{serial:014d}"[-14:]
    prefix = {"wechat": "13", "alipay": "28", "unionpay": "62"}[kind]
    length = {"wechat": 18, "alipay": 18, "unionpay": 19}[kind]
    digits = (prefix + body + "0" * 10)[:length - 2]
    return digits + SUFFIX[scenario]


def amount_for(scenario: str, base: int = 1200) -> int:
    """An amount in minor units that selects ``scenario`` for a merchant-presented order."""
    return base // 100 * 100 + int(SUFFIX[scenario])


@dataclass
class Order:
    order_no: str
    dialect: str
    flow: str                 # "cpm" (customer-presented, pay) or "mpm" (create)
    params: tuple             # (amount, currency, subject, code digest) of the first request
    scenario: str
    amount: int
    currency: str
    subject: str
    echo: dict[str, str]
    notify_url: str
    state: str
    created: float = field(default_factory=time.monotonic)
    due: float | None = None
    txn_id: str = ""
    code_digest: str = ""


class Ledger:
    """The JSON-lines ledger (appended, flushed per line)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, event: str, **fields: object) -> None:
        line = json.dumps({"ts": round(time.time(), 3), "event": event, **fields},
                          ensure_ascii=False)
        with self._lock, self.path.open("a") as fh:
            fh.write(line + "\n")


def ledger_events(path: Path, event: str | None = None) -> list[dict]:
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []
    recs = [json.loads(line) for line in lines if line.strip()]
    return [r for r in recs if event is None or r["event"] == event]


def ledger_summary(path: Path) -> dict[str, dict[str, int]]:
    """Per order number: how many times it was paid, closed and refunded. A correct lane
    leaves every order with ``paid <= 1`` and ``paid - refunded`` of 0 or 1."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"paid": 0, "closed": 0,
                                                          "refunded": 0})
    for rec in ledger_events(path):
        if rec["event"] in ("paid", "closed", "refunded"):
            out[rec["order_no"]][rec["event"]] += 1
    return dict(out)


def _digest(code: str) -> str:
    # kept in memory only, to refuse a code used twice; never written anywhere
    return hashlib.sha256(code.encode()).hexdigest() if code else ""


class Engine:
    """The simulated gateway's orders and rules (thread-safe)."""

    def __init__(self, ledger: Ledger, keys: Keys, *, confirm_after_s: float,
                 scan_after_s: float, slow_s: float, down_s: float, notify_url: str,
                 notify_retries: int = 3, notify_retry_s: float = 0.5) -> None:
        self.ledger = ledger
        self.keys = keys
        self.confirm_after_s = confirm_after_s
        self.scan_after_s = scan_after_s
        self.slow_s = slow_s
        self.down_s = down_s
        self.notify_url = notify_url
        self.notify_retries = notify_retries
        self.notify_retry_s = notify_retry_s
        self.orders: dict[str, Order] = {}
        self.used_codes: set[str] = set()
        self.downed: set[str] = set()
        self.counts: dict[str, int] = defaultdict(int)
        self._lock = threading.RLock()
        self._notify: list[tuple[Order, str]] = []

    # -- one request ------------------------------------------------------------------------
    def handle(self, req: Parsed) -> tuple[Outcome, str]:
        """The outcome to answer and how: ``answer``, ``slow``, ``drop``, ``down``,
        ``bad_signature``."""
        with self._lock:
            self.counts[f"{req.dialect}.{req.op}"] += 1
            order = self.orders.get(req.order_no)
            same = None
            if order is not None and req.op in ("pay", "create"):
                same = self._same(order, req)
            self.ledger.write("request", dialect=req.dialect, op=req.op,
                              order_no=req.order_no, amount=req.amount,
                              currency=req.currency, same_params=same)
            if order is not None:
                self._advance(order)
            if req.op == "pay":
                return self._pay(req, order)
            if req.op == "create":
                return self._create(req, order)
            if req.op == "query":
                return (self._outcome(order) if order is not None
                        else Outcome("not_found", req.order_no)), "answer"
            if req.op == "close":
                return self._close(req, order), "answer"
            if req.op == "refund":
                return self._refund(req, order), "answer"
            return self._reverse(req, order), "answer"

    def _params(self, req: Parsed) -> tuple:
        return (req.amount, req.currency, req.subject, _digest(req.code))

    def _same(self, order: Order, req: Parsed) -> bool:
        """Same parameters as the order's first request (a tombstone takes any; an order
        replayed from the ledger after a restart no longer knows its code)."""
        if order.flow == "tombstone":
            return True
        mine = self._params(req)
        return order.params == mine or (order.params[3] is None and order.params[:3] == mine[:3])

    def replay(self) -> int:
        """Rebuild the orders from the ledger (a restarted simulator keeps what it charged);
        an order still open resumes its scenario. Returns how many orders it knows."""
        now = time.monotonic()
        with self._lock:
            for rec in ledger_events(self.ledger.path):
                no, event = rec.get("order_no"), rec["event"]
                order = self.orders.get(no) if no else None
                if event == "order":
                    flow = rec["flow"]
                    self.orders[no] = Order(
                        no, rec["dialect"], flow,
                        (rec["amount"], rec["currency"], rec["subject"], None), rec["scenario"],
                        rec["amount"], rec["currency"], rec["subject"], {}, self.notify_url,
                        "waiting" if flow == "mpm" else "paying")
                elif event == "paid" and order is not None:
                    order.state, order.txn_id = "paid", rec.get("txn_id", "")
                elif event == "refunded" and order is not None:
                    order.state = "refunded"
                elif event == "declined" and order is not None:
                    order.state = rec["reason"]
                elif event == "closed":
                    if order is None:
                        self.orders[no] = Order(no, "", "tombstone", (), "", 0, "CNY", "", {},
                                                "", "reversed")
                    elif order.state in ("paying", "waiting"):
                        order.state = "reversed"
                    else:
                        order.state = "closed"
            for order in self.orders.values():
                if order.state == "waiting":
                    order.due = now + self.scan_after_s
                elif order.state == "paying" and order.scenario != "paying_forever":
                    order.due = now + self.confirm_after_s
                if not order.txn_id:
                    order.txn_id = time.strftime("%Y%m%d") + secrets.token_hex(8)
            return len(self.orders)

    def _new(self, req: Parsed, flow: str, scenario: str, state: str) -> Order:
        order = Order(req.order_no, req.dialect, flow, self._params(req), scenario, req.amount,
                      req.currency, req.subject, dict(req.echo),
                      req.notify_url or self.notify_url, state,
                      txn_id=time.strftime("%Y%m%d") + secrets.token_hex(8),
                      code_digest=_digest(req.code))
        self.orders[req.order_no] = order
        self.ledger.write("order", dialect=req.dialect, flow=flow, order_no=req.order_no,
                          scenario=scenario, amount=req.amount, currency=req.currency,
                          subject=req.subject)
        return order

    def _pay(self, req: Parsed, order: Order | None) -> tuple[Outcome, str]:
        if order is not None:
            if not self._same(order, req):
                return Outcome("reused", req.order_no), "answer"
            if order.state == "paid":
                return Outcome("already_paid", req.order_no), "answer"
            return self._outcome(order), "answer"
        scenario = scenario_of(req.code) or scenario_of(str(req.amount))
        if scenario == "down" and req.order_no not in self.downed:
            self.downed.add(req.order_no)
            return Outcome("not_found", req.order_no), "down"
        digest = _digest(req.code)
        if scenario in ("code_used", "code_expired") or digest in self.used_codes:
            kind = "code_expired" if scenario == "code_expired" else "code_used"
            order = self._new(req, "cpm", scenario, kind)
            self.ledger.write("declined", order_no=req.order_no, reason=kind)
            return self._outcome(order), "answer"
        if scenario == "insufficient_funds":
            order = self._new(req, "cpm", scenario, "insufficient_funds")
            self.ledger.write("declined", order_no=req.order_no, reason=scenario)
            return self._outcome(order), "answer"
        self.used_codes.add(digest)
        if scenario.startswith("paying_"):
            order = self._new(req, "cpm", scenario, "paying")
            if scenario != "paying_forever":
                order.due = time.monotonic() + self.confirm_after_s
            return self._outcome(order), "answer"
        order = self._new(req, "cpm", scenario, "paying")
        self._paid(order)
        if scenario == "system_error_then_success":
            return Outcome("system_error", req.order_no), "answer"
        how = {"slow": "slow", "answer_lost": "drop",
               "signature_invalid": "bad_signature"}.get(scenario, "answer")
        return self._outcome(order), how

    def _create(self, req: Parsed, order: Order | None) -> tuple[Outcome, str]:
        if order is not None:
            if not self._same(order, req):
                return Outcome("reused", req.order_no), "answer"
            open_ = order.state in ("waiting", "paying")
            return self._outcome(order, "created" if open_ else ""), "answer"
        scenario = scenario_of(str(req.amount))
        if scenario == "down" and req.order_no not in self.downed:
            self.downed.add(req.order_no)
            return Outcome("not_found", req.order_no), "down"
        order = self._new(req, "mpm", scenario, "waiting")
        order.due = time.monotonic() + self.scan_after_s
        if scenario == "system_error_then_success":
            return Outcome("system_error", req.order_no), "answer"
        how = {"slow": "slow", "answer_lost": "drop"}.get(scenario, "answer")
        return self._outcome(order, "created"), how

    def _reverse(self, req: Parsed, order: Order | None) -> Outcome:
        now = time.monotonic()
        if order is None:
            order = Order(req.order_no, req.dialect, "tombstone", (), "", 0, req.currency, "",
                          dict(req.echo), "", "reversed")
            self.orders[req.order_no] = order
            self.ledger.write("closed", order_no=req.order_no, reason="reversed_unseen",
                              after_request_s=None)
            return self._outcome(order)
        after = round(now - order.created, 3)
        if order.state == "paid":
            order.state = "refunded"
            self.ledger.write("refunded", order_no=order.order_no, amount=order.amount,
                              after_request_s=after)
        elif order.state in ("paying", "waiting"):
            order.state = "reversed"
            order.due = None
            self.ledger.write("closed", order_no=order.order_no, reason="reversed",
                              after_request_s=after)
        elif order.state not in ("closed", "reversed", "refunded"):
            order.state = "closed"            # a declined order: nothing was charged
            self.ledger.write("closed", order_no=order.order_no, reason="reversed",
                              after_request_s=after)
        return self._outcome(order)

    def _close(self, req: Parsed, order: Order | None) -> Outcome:
        """WeChat ``closeorder``: an unpaid order is closed; a paid one is not (refund it)."""
        if order is None:
            return Outcome("not_found", req.order_no)
        if order.state == "paid":
            return Outcome("already_paid", req.order_no)
        if order.state in ("paying", "waiting"):
            order.state, order.due = "reversed", None
            self.ledger.write("closed", order_no=order.order_no, reason="closeorder",
                              after_request_s=round(time.monotonic() - order.created, 3))
        return self._outcome(order, "closed" if order.state != "refunded" else "")

    def _refund(self, req: Parsed, order: Order | None) -> Outcome:
        """A full refund (WeChat ``/secapi/pay/refund``) of a paid order, once."""
        if order is None:
            return Outcome("not_found", req.order_no)
        if order.state == "paid" and req.amount == order.amount:
            order.state = "refunded"
            self.ledger.write("refunded", order_no=order.order_no, amount=order.amount,
                              after_request_s=round(time.monotonic() - order.created, 3))
        return self._outcome(order)

    def _outcome(self, order: Order, kind: str = "") -> Outcome:
        qr = ""
        if order.flow == "mpm":
            qr = {"alipay": "https://qr.alipay.com/bax0" + order.txn_id[-12:],
                  "wechat": "weixin://wxpay/bizpayurl?pr=" + order.txn_id[-10:]
                  }.get(order.dialect, "")
        return Outcome(kind or order.state, order.order_no, order.amount, order.currency,
                       order.txn_id if order.state in ("paid", "refunded") else "", qr,
                       order.flow)

    def _paid(self, order: Order) -> None:
        order.state = "paid"
        order.due = None
        self.ledger.write("paid", order_no=order.order_no, dialect=order.dialect,
                          flow=order.flow, amount=order.amount, currency=order.currency,
                          subject=order.subject, txn_id=order.txn_id)
        if order.flow == "mpm" and order.scenario == "notification_lost":
            self.ledger.write("notification_lost", order_no=order.order_no)
        elif order.flow == "mpm":
            self._notify.append((order, order.scenario))

    # -- time passing: the shopper confirms, cancels or scans -----------------------------
    def _advance(self, order: Order) -> None:
        if order.due is None or time.monotonic() < order.due:
            return
        order.due = None
        if order.state == "paying":
            if order.scenario == "paying_then_cancelled" and order.flow == "cpm":
                order.state = "user_cancelled"
                self.ledger.write("declined", order_no=order.order_no, reason="user_cancelled")
            else:
                self._paid(order)
        elif order.state == "waiting":          # the shopper scanned the screen's code
            if order.scenario in PAID_AT_ONCE:
                self._paid(order)
            elif order.scenario == "paying_then_success":
                order.state = "paying"
                order.due = time.monotonic() + self.confirm_after_s
            # cancelled, insufficient funds, never confirmed: the order stays unpaid

    def tick(self) -> list[tuple[Order, str]]:
        """Advance every open order; the notifications now due."""
        with self._lock:
            for order in self.orders.values():
                self._advance(order)
            due, self._notify = self._notify, []
            return due

    # -- notifications ------------------------------------------------------------------------
    def post_notification(self, order: Order, scenario: str) -> None:
        if not order.notify_url:
            self.ledger.write("notify_skipped", order_no=order.order_no, reason="no notify_url")
            return
        if scenario == "slow":
            time.sleep(self.slow_s)
        for copy in range(2 if scenario == "duplicate_notification" else 1):
            headers, body = notification(order.dialect, order.order_no, order.amount,
                                         order.currency, order.txn_id, order.echo, self.keys,
                                         bad_signature=scenario == "signature_invalid")
            for attempt in range(self.notify_retries):
                try:
                    resp = httpx.post(order.notify_url, content=body, headers=headers,
                                      timeout=5.0, trust_env=False)
                    reply = resp.text[:40]
                    status = resp.status_code
                except httpx.HTTPError as exc:
                    reply, status = type(exc).__name__, 0
                self.ledger.write("notified", order_no=order.order_no, copy=copy + 1,
                                  attempt=attempt + 1, status=status, reply=reply,
                                  bad_signature=scenario == "signature_invalid")
                acked = status == 200 and ("success" in reply.lower() or "SUCCESS" in reply
                                           or '"ok":true' in reply)
                if acked or scenario == "signature_invalid":
                    break
                time.sleep(self.notify_retry_s)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    # the answer's headers and body go out in two writes: without TCP_NODELAY the body waits
    # for the client's delayed ACK (~40 ms a request), time a real gateway does not add
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def _reply(self, status: int, ctype: str, body: bytes,
               headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802
        sim = self.server.sim
        if urlsplit(self.path).path == "/sim/status":
            self._reply(200, "application/json", json.dumps(sim.status()).encode())
        else:
            self._reply(404, "text/plain", b"not found")

    def do_POST(self) -> None:  # noqa: N802
        sim = self.server.sim
        if sim.is_down():
            self._drop()
            return
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(parts.query)
        if parts.path == "/sim/down":
            sim.go_down(float(query.get("s", [sim.engine.down_s])[0]))
            self._reply(200, "application/json", b'{"ok":true}')
            return
        if parts.path == "/sim/refuse":
            sim.refuse_next(int(query.get("n", ["1"])[0]))
            self._reply(200, "application/json", b'{"ok":true}')
            return
        try:
            req = parse(parts.path, dict(self.headers.items()), body, sim.keys)
        except RequestRefused as refused:
            status, ctype, payload = refused.reply
            sim.engine.ledger.write("refused", path=parts.path, status=status)
            self._reply(status, ctype, payload)
            return
        outcome, how = sim.engine.handle(req)
        log.info("%s %s %s: %s (%s)", req.dialect, req.op, req.order_no, outcome.kind, how)
        if how == "down":
            sim.go_down(sim.engine.down_s)
            self._drop()
            return
        if how == "drop":
            self._drop()
            return
        if how == "slow":
            sim.wait_stop(sim.engine.slow_s)
        status, ctype, headers, payload = render(req, outcome, sim.keys,
                                                 bad_signature=how == "bad_signature")
        self._reply(status, ctype, payload, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: QrPaySim) -> None:
        self.sim = sim
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:  # type: ignore[override]
        if self.sim.take_refusal():
            request.close()                   # before the handshake: a connect failure
            return
        request.settimeout(10)
        try:
            tls = self.sim.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.sim.engine.ledger.write("tls_refused", error=type(exc).__name__)
            request.close()
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls.close()


class QrPaySim:
    """The simulator, in process (tests, the demo) or behind ``kiosk sim qrpay``."""

    def __init__(self, state_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                 ledger: Path | None = None, notify_url: str = "", mtls: bool = False,
                 confirm_after_s: float = 1.0, scan_after_s: float = 0.5, slow_s: float = 3.0,
                 down_s: float = 5.0, notify_retry_s: float = 0.5) -> None:
        self.state_dir = Path(state_dir)
        self.files: DemoFiles = make_demo_keys(self.state_dir / "qrpay")
        self.keys = Keys(self.files.dir)
        self.mtls = mtls
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self.tls.load_cert_chain(self.files.server_pem, self.files.server_key)
        if mtls:
            self.tls.verify_mode = ssl.CERT_REQUIRED
            self.tls.load_verify_locations(self.files.ca_pem)
        self.ledger_path = Path(ledger) if ledger else self.state_dir / "qrpay-ledger.jsonl"
        self.engine = Engine(Ledger(self.ledger_path), self.keys,
                             confirm_after_s=confirm_after_s, scan_after_s=scan_after_s,
                             slow_s=slow_s, down_s=down_s, notify_url=notify_url,
                             notify_retry_s=notify_retry_s)
        self.engine.replay()
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._up = threading.Event()
        self._down_until = 0.0
        self._refusals = 0
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def lane_options(self, dialect: str, **extra: object) -> dict:
        """``[payments.options.qr]`` for a lane talking to this simulator."""
        return lane_options(self.files, dialect, self.url, mtls=self.mtls, **extra)

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> QrPaySim:
        self._listen()
        ticker = threading.Thread(target=self._tick, name="qrpay-tick", daemon=True)
        ticker.start()
        self._threads.append(ticker)
        return self

    def _listen(self) -> None:
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         name="qrpay-http", daemon=True).start()
        self._up.set()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> QrPaySim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_stop(self, seconds: float) -> bool:
        return self._stop.wait(seconds)

    def _tick(self) -> None:
        while not self._stop.wait(0.05):
            for order, scenario in self.engine.tick():
                threading.Thread(target=self.engine.post_notification, args=(order, scenario),
                                 name="qrpay-notify", daemon=True).start()

    # -- faults -------------------------------------------------------------------------------
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def go_down(self, seconds: float) -> None:
        """Refuse connections for ``seconds`` (the listening socket is closed)."""
        with self._lock:
            self._down_until = time.monotonic() + seconds
            server, self._server = self._server, None
            self._up.clear()
        self.engine.ledger.write("down", seconds=seconds)
        threading.Thread(target=self._down_cycle, args=(server, seconds), daemon=True).start()

    def _down_cycle(self, server: _Server | None, seconds: float) -> None:
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._stop.wait(seconds):
            return
        with self._lock:
            if self._server is None and not self._stop.is_set():
                self._listen()
        self.engine.ledger.write("up")

    def wait_up(self, timeout: float = 30.0) -> bool:
        return self._up.wait(timeout)

    def refuse_next(self, n: int) -> None:
        with self._lock:
            self._refusals += n

    def refusals_left(self) -> int:
        with self._lock:
            return self._refusals

    def take_refusal(self) -> bool:
        with self._lock:
            if self._refusals > 0:
                self._refusals -= 1
                return True
            return False

    def status(self) -> dict:
        with self.engine._lock:
            states: dict[str, int] = defaultdict(int)
            for order in self.engine.orders.values():
                states[order.state] += 1
            return {"url": self.url, "ledger": str(self.ledger_path), "orders": dict(states),
                    "requests": dict(self.engine.counts), "down": self.is_down()}


# -- the command ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", required=True,
                        help="keys go to STATE_DIR/qrpay (where a lane sharing this state dir"
                        " finds them by default), the ledger to STATE_DIR/qrpay-ledger.jsonl")
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8643, help="0: any free port")
    parser.add_argument("--ledger", help="JSON-lines ledger file")
    parser.add_argument("--notify-url", default="",
                        help="where to post notifications of orders that name none")
    parser.add_argument("--mtls", action="store_true", help="require the lane's client certificate")
    parser.add_argument("--confirm-after", type=float, default=3.0,
                        help="seconds before a user-paying shopper confirms or cancels")
    parser.add_argument("--scan-after", type=float, default=2.0,
                        help="seconds after create before the shopper 'scans' the screen")
    parser.add_argument("--slow", type=float, default=3.0, help="the slow scenario's delay (s)")
    parser.add_argument("--down", type=float, default=5.0, help="the down scenario's length (s)")
    parser.add_argument("--print-options", choices=("generic", "alipay", "wechat"),
                        help="print the lane's [payments.options.qr] for this dialect and exit")


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    host = args.host
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"kiosk sim qrpay: serves on loopback only, not {host}", file=sys.stderr)
        return 2
    sim = QrPaySim(Path(args.state_dir), host=host, port=args.port, ledger=args.ledger,
                   notify_url=args.notify_url, mtls=args.mtls,
                   confirm_after_s=args.confirm_after, scan_after_s=args.scan_after,
                   slow_s=args.slow, down_s=args.down)
    if args.print_options:
        print("[payments.options.qr]")
        for key, value in sim.lane_options(args.print_options).items():
            print(f"{key} = {json.dumps(value)}")
        return 0
    sim.start()
    print(json.dumps({"ready": True, "url": sim.url, "port": sim.port,
                      "ledger": str(sim.ledger_path), "keys": str(sim.files.dir),
                      "scenarios": SCENARIOS}), flush=True)
    try:
        while not sim.wait_stop(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
