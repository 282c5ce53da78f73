"""An in-process simulated wallet gateway (the :class:`WalletGateway` port) with a durable ledger.

The demo's and the tests' ``qr`` host until ``kiosk sim qrpay`` (the HTTPS simulator of both
dialects) is merged: same answers as a gateway would give, chosen per order by a scenario.
Its truth is a JSON-lines ledger in the state directory, written (fsync) before it answers,
so it outlives the kiosk-core process it runs in: a SIGKILLed core restarts onto the same
gateway state, and tests read the ledger to prove no order was paid twice or left open.

Control (``sim-wallet.json`` beside the ledger, read at each call; tests write it):
``scenario`` for new orders (below), ``hold`` (a point where a call stops and waits, after
writing ``sim-wallet-held``: tests SIGKILL the core there), ``paying_queries`` (queries a
``user_paying`` order stays so), and the gateway's ``poll_interval_s``, ``pay_deadline_s``,
``reverse_min_delay_s``, ``confirm_by_query``. Totals ending in ``sim.payment``'s decline
suffixes are declined, its unavailable suffixes find the gateway down, as for the card.

Scenarios: success, user_paying_success, user_paying_cancelled, user_paying_forever,
insufficient_funds, system_error_success, lost_answer, bad_answer, down, code_used,
code_expired, amount_mismatch. Hold points: ``pay_before`` (the request arrived, nothing
recorded), ``pay_after`` (paid and recorded, the answer not yet given), ``query_paying``
(a query of a ``user_paying`` order).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.payments.wallet.gateway import GatewayAnswer, Notification, WalletOrder

LEDGER = "sim-wallet.jsonl"
TIMING = "sim-wallet-timing.jsonl"   # the simulator's own time per call (kiosk bench qrpay)
CONTROL = "sim-wallet.json"
HELD = "sim-wallet-held"
SCENARIOS = ("success", "user_paying_success", "user_paying_cancelled", "user_paying_forever",
             "insufficient_funds", "system_error_success", "lost_answer", "bad_answer", "down",
             "code_used", "code_expired", "amount_mismatch")


class SimWalletGateway:
    dialect = "sim"
    max_order_no = 32

    def __init__(self, state_dir: Path, decline_suffixes: tuple[str, ...] = (),
                 unavailable_suffixes: tuple[str, ...] = ()) -> None:
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ledger_path = self.dir / LEDGER
        self.decline_suffixes = decline_suffixes
        self.unavailable_suffixes = unavailable_suffixes
        self._lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        for entry in self.ledger():
            self.orders.setdefault(entry["order_no"], {}).update(entry["order"])

    # -- the gateway's tunables, from the control file ------------------------------------
    def control(self) -> dict:
        try:
            return json.loads((self.dir / CONTROL).read_text())
        except (OSError, ValueError):
            return {}

    @property
    def poll_interval_s(self) -> float:
        return float(self.control().get("poll_interval_s", 0.2))

    @property
    def pay_deadline_s(self) -> float:
        return float(self.control().get("pay_deadline_s", 45))

    @property
    def reverse_min_delay_s(self) -> float:
        return float(self.control().get("reverse_min_delay_s", 0))

    @property
    def confirm_by_query(self) -> bool:
        return bool(self.control().get("confirm_by_query", False))

    # -- the ledger -------------------------------------------------------------------------
    def ledger(self) -> list[dict]:
        if not self.ledger_path.exists():
            return []
        return [json.loads(line) for line in self.ledger_path.read_text().splitlines() if line]

    def _write(self, op: str, order_no: str, **changes: object) -> dict:
        order = self.orders.setdefault(order_no, {})
        order.update(changes)
        with self.ledger_path.open("a") as fh:
            fh.write(json.dumps({"op": op, "order_no": order_no, "order": order,
                                 "ts": time.time()}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return order

    def _hold(self, point: str) -> None:
        if self.control().get("hold") != point:
            return
        (self.dir / HELD).write_text(point)
        while self.control().get("hold") == point:
            time.sleep(0.02)

    # -- the port ---------------------------------------------------------------------------
    def _down(self) -> bool:
        return self.control().get("scenario") == "down"

    def _scenario(self, order: WalletOrder) -> str:
        minor = str(order.amount).zfill(2)
        if any(minor.endswith(s) for s in self.unavailable_suffixes):
            return "down"
        if any(minor.endswith(s) for s in self.decline_suffixes):
            return "declined"
        return str(self.control().get("scenario", "success"))

    def _timed(self, op: str, order_no: str, call):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return call()
        finally:
            took = (time.perf_counter() - started) * 1000
            with (self.dir / TIMING).open("a") as fh:
                fh.write(json.dumps({"op": op, "order_no": order_no,
                                     "took_ms": round(took, 3)}) + "\n")

    def pay(self, order: WalletOrder) -> GatewayAnswer:
        return self._timed("pay", order.order_no, lambda: self._start(order, "pay"))

    def create(self, order: WalletOrder) -> GatewayAnswer:
        return self._timed("create", order.order_no, lambda: self._start(order, "create"))

    def _start(self, order: WalletOrder, op: str) -> GatewayAnswer:
        scenario = self._scenario(order)
        if scenario == "down":
            return GatewayAnswer("error")
        self._hold("pay_before")
        with self._lock:
            known = self.orders.get(order.order_no)
            if known is not None:  # a retry: the same order is never charged twice
                if (known["amount"], known["currency"]) != (order.amount, order.currency):
                    return GatewayAnswer("ok", "not_paid", reason="declined",
                                         result_code="PARAM_MISMATCH")
                return self._answer(known)
            fields = {"amount": order.amount, "currency": order.currency, "scenario": scenario,
                      "queries": 0, "flow": op, "refunded": 0,
                      "code_sha": hashlib.sha256(order.code.encode()).hexdigest()[:12]
                      if order.code else ""}
            if op == "create" or scenario.startswith("user_paying"):
                rec = self._write(op, order.order_no, state="user_paying", paid=0, **fields)
            elif scenario in ("success", "system_error_success", "lost_answer", "bad_answer",
                              "amount_mismatch"):
                paid = order.amount - (1 if scenario == "amount_mismatch" else 0)
                rec = self._write(op, order.order_no, state="paid", paid=paid, **fields)
            else:
                reason = {"insufficient_funds": "insufficient_funds", "code_used": "code_used",
                          "code_expired": "code_expired"}.get(scenario, "declined")
                rec = self._write(op, order.order_no, state="not_paid", reason=reason,
                                  paid=0, **fields)
        self._hold("pay_after")
        if scenario == "lost_answer":
            return GatewayAnswer("error")
        if scenario == "bad_answer":
            return GatewayAnswer("bad_answer")
        if scenario == "system_error_success":
            return GatewayAnswer("ok", "unknown", reason="system_error",
                                 result_code="SYSTEMERROR")
        return self._answer(rec)

    def _answer(self, rec: dict) -> GatewayAnswer:
        state = rec["state"]
        txn = "G" + hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:15]
        if state == "paid":
            return GatewayAnswer("ok", "paid", result_code="SUCCESS", gateway_txn=txn,
                                 wallet="alipay", paid_amount=rec["paid"])
        if state == "user_paying":
            return GatewayAnswer("ok", "user_paying", result_code="USERPAYING")
        if state == "not_paid":
            return GatewayAnswer("ok", "not_paid", reason=rec.get("reason", "declined"),
                                 result_code="FAIL")
        return GatewayAnswer("ok", state, result_code=state.upper())  # type: ignore[arg-type]

    def query(self, order_no: str) -> GatewayAnswer:
        return self._timed("query", order_no, lambda: self._query(order_no))

    def _query(self, order_no: str) -> GatewayAnswer:
        with self._lock:
            rec = self.orders.get(order_no)
            if self._down():
                return GatewayAnswer("error")
            if rec is None:
                return GatewayAnswer("ok", "not_paid", reason="order_not_found",
                                     result_code="ORDERNOTEXIST")
            if rec["state"] == "user_paying":
                self._hold("query_paying")
                queries = rec["queries"] + 1
                limit = int(self.control().get("paying_queries", 2))
                scenario = rec["scenario"]
                if queries < limit or scenario in ("user_paying_forever",):
                    rec = self._write("query", order_no, queries=queries)
                elif scenario == "user_paying_cancelled":
                    rec = self._write("query", order_no, queries=queries, state="not_paid",
                                      reason="user_cancelled")
                else:
                    rec = self._write("query", order_no, queries=queries, state="paid",
                                      paid=rec["amount"])
            return self._answer(rec)

    def reverse(self, order_no: str) -> GatewayAnswer:
        with self._lock:
            rec = self.orders.get(order_no)
            if self._down():
                return GatewayAnswer("error")
            if rec is None:  # never arrived: closed, so a late request cannot pay it
                rec = self._write("reverse", order_no, state="closed", amount=0, currency="",
                                  scenario="", queries=0, flow="", paid=0, refunded=0)
            elif rec["state"] == "paid":
                rec = self._write("reverse", order_no, state="refunded", refunded=rec["paid"])
            elif rec["state"] == "user_paying":
                rec = self._write("reverse", order_no, state="closed")
            state = rec["state"]
            trade = "closed" if state in ("closed", "not_paid") else state
            return GatewayAnswer("ok", trade, result_code="REVERSED")

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification | None:
        return None  # this simulator posts none: the lane polls

    # -- for tests ------------------------------------------------------------------------
    def mpm_pay(self, order_no: str) -> None:
        """The shopper's phone pays a merchant-presented order."""
        with self._lock:
            rec = self.orders.get(order_no)
            if rec is not None and rec["state"] == "user_paying":
                self._write("scan", order_no, state="paid", paid=rec["amount"])


def open_sim_gateway(config: KioskConfig) -> SimWalletGateway:
    pay = config.sim.payment
    return SimWalletGateway(config.paths.state_dir, tuple(pay.decline_suffixes),
                            tuple(pay.unavailable_suffixes))


def ledger_problems(entries: list[dict]) -> list[str]:
    """Orders paid and neither refunded nor left as the one sale of their attempt: what a
    test asserts is empty, with the final state of each order. Returns readable problems:
    an order left open (user_paying) or charged twice."""
    last: dict[str, dict] = {}
    for entry in entries:
        last[entry["order_no"]] = entry["order"]
    return [f"{no}: open ({rec['state']})" for no, rec in last.items()
            if rec["state"] == "user_paying"]
