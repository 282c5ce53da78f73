"""A simulated acquirer (and card reader) for demos and tests: outcome by amount.

Totals whose minor units end in a configured decline suffix are declined; those
ending in an unavailable suffix find the host down for a few seconds (so the core
must reverse and later retry). Every authorization is kept in a JSON-lines ledger
keyed by idempotency key: a repeated key returns the first answer and never
charges again, and tests read the ledger to prove nothing was charged twice.

For ``method == "card"`` it also plays the card reader, reporting the same
progress steps the real card port does, each after ``card_step_ms``:
insert_card → reading → (choose_app, for totals ending in a co-badged suffix:
two applications, waiting up to ``card_wait_s`` for the shopper) → authorizing →
remove_card → card_removed. Totals ending in a ``card_abort_suffixes`` key end
the flow there with that reason (card_removed, card_blocked, ...) and nothing
sent. :meth:`cancel` before the authorizing step stops it with nothing sent.

With ``devices.payment = "sim"`` (the demo, the tests) kiosk-core gives the card method this
simulator and the phone-wallet method (``qr``, kiosk/payments/wallet/method.py) the
in-process simulated wallet gateway (kiosk/sim/wallet_gateway.py), unless
``[payments.options.qr]`` configures a gateway (e.g. ``kiosk sim qrpay``'s, printed by
``kiosk sim qrpay --print-options``): then the real client talks to it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import SimPaymentConfig
from kiosk.payments.method import PaymentMethod
from kiosk.payments.port import AuthRequest, AuthResult, Progress, Taken, no_progress
from kiosk.payments.registry import open_methods, simulated_hosts
from kiosk.sim.wallet_gateway import open_sim_gateway

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

HOST_DOWN_S = 4.0
#: the applications of the simulated co-badged card, in the card's order
COBADGED_APPS = (
    {"label": "VISA CREDIT", "aid": "A0000000031010", "brand": "VISA"},
    {"label": "UNIONPAY DEBIT", "aid": "A000000333010101", "brand": "UNIONPAY"},
)
MESSAGE_OF = {"declined": "card_declined", "unavailable": "try_later"}
LEDGER = "sim-acquirer.jsonl"


@dataclass
class _Flow:
    """One card attempt in progress: the shopper's choice or cancel wakes it."""

    wake: threading.Event = field(default_factory=threading.Event)
    choice: int | None = None
    cancelled: bool = False
    sent: bool = False


class SimulatedAcquirer:
    def __init__(self, config: SimPaymentConfig, ledger_path: Path) -> None:
        self.config = config
        self.ledger_path = ledger_path
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._answers: dict[str, AuthResult] = {}
        self._reversed: set[str] = set()
        self._flows: dict[int, _Flow] = {}
        self._finished: set[int] = set()
        self._precancelled: set[int] = set()
        for entry in self.ledger():
            if entry["kind"] == "auth":
                self._answers[entry["idem_key"]] = AuthResult(**entry["result"])
            else:
                self._reversed.add(entry["idem_key"])

    def ledger(self) -> list[dict]:
        if not self.ledger_path.exists():
            return []
        return [json.loads(line) for line in self.ledger_path.read_text().splitlines() if line]

    def _record(self, entry: dict) -> None:
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger_path.open("a") as fh:
            fh.write(json.dumps(entry) + "\n")

    # -- the port --------------------------------------------------------------------------

    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        flow = _Flow(sent=request.method != "card")  # a QR request leaves at once
        with self._lock:
            if request.stan in self._precancelled:
                self._precancelled.discard(request.stan)
                self._finished.add(request.stan)
                return _declined("cancelled")
            self._flows[request.stan] = flow
        try:
            if request.method != "card":
                return self._host(request, {"brand": "QR"})
            ended, app = self._card_flow(request, flow, progress)
            if ended is not None:
                return ended
            result = self._host(request, {
                "brand": app["brand"], "masked_pan": f"******{self.config.card_last4}",
                "aid": app["aid"], "label": app["label"], "entry": "chip",
                "tvr": "0000008000",
                "arqc": hashlib.sha256(f"arqc{request.idem_key}".encode()).hexdigest()[:16]})
            progress({"step": "remove_card"})
            threading.Timer(self.config.card_step_ms / 1000,
                            lambda: progress({"step": "card_removed"})).start()
            return result
        finally:
            with self._lock:
                self._flows.pop(request.stan, None)
                self._finished.add(request.stan)

    def _card_flow(self, request: AuthRequest, flow: _Flow,
                   progress: Progress) -> tuple[AuthResult | None, dict]:
        step_s = self.config.card_step_ms / 1000
        minor = str(request.amount).zfill(2)
        app = {"label": f"{self.config.card_brand} CREDIT", "aid": "A0000000031010",
               "brand": self.config.card_brand}
        progress({"step": "insert_card"})
        if self._wait(flow, step_s):
            return _declined("cancelled"), app
        progress({"step": "reading"})
        if self._wait(flow, step_s):
            return _declined("cancelled"), app
        abort = next((reason for suffix, reason in self.config.card_abort_suffixes.items()
                      if minor.endswith(suffix)), None)
        if abort is not None:
            if abort == "unsupported_card":
                progress({"step": "unsupported_card"})
            return _declined(abort), app
        if any(minor.endswith(s) for s in self.config.cobadged_suffixes):
            progress({"step": "choose_app",
                      "apps": [{"label": a["label"]} for a in COBADGED_APPS]})
            deadline = time.monotonic() + self.config.card_wait_s
            while flow.choice is None and not flow.cancelled:
                left = deadline - time.monotonic()
                if left <= 0:
                    return _declined("card_timeout"), app
                flow.wake.wait(left)
                flow.wake.clear()
            if flow.cancelled:
                return _declined("cancelled"), app
            app = COBADGED_APPS[flow.choice or 0]
            progress({"step": "reading"})
        with self._lock:
            if flow.cancelled:
                return _declined("cancelled"), app
            flow.sent = True  # from here on a cancel must reverse
        progress({"step": "authorizing"})
        return None, app

    @staticmethod
    def _wait(flow: _Flow, seconds: float) -> bool:
        """Sleep ``seconds`` unless cancelled first; True if cancelled."""
        deadline = time.monotonic() + seconds
        while not flow.cancelled:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            flow.wake.wait(left)
            flow.wake.clear()
        return True

    def _host(self, request: AuthRequest, card: dict) -> AuthResult:
        time.sleep(self.config.latency_ms / 1000)
        minor = str(request.amount).zfill(2)
        with self._lock:
            if request.idem_key in self._answers:
                return self._answers[request.idem_key]
            if time.monotonic() < self._down_until:
                return AuthResult("unavailable", reason="host_unreachable",
                                  message_key="try_later")
            if any(minor.endswith(s) for s in self.config.unavailable_suffixes):
                self._down_until = time.monotonic() + HOST_DOWN_S
                return AuthResult("unavailable", reason="host_unreachable",
                                  message_key="try_later")
            digest = hashlib.sha256(request.idem_key.encode()).hexdigest()
            rrn = str(int(digest[:12], 16))[-12:].zfill(12)
            if any(minor.endswith(s) for s in self.config.decline_suffixes):
                result = AuthResult("declined", reason="do_not_honour", response_code="05",
                                    rrn=rrn, message_key="card_declined")
            else:
                result = AuthResult("approved", auth_code=digest[:6].upper(), card=card,
                                    rrn=rrn, response_code="00")
            self._answers[request.idem_key] = result
            self._record({"kind": "auth", "idem_key": request.idem_key, "txn": request.txn,
                          "amount": request.amount, "result": result.__dict__})
            return result

    def reverse(self, request: AuthRequest) -> bool:
        time.sleep(self.config.latency_ms / 1000)
        with self._lock:
            if time.monotonic() < self._down_until:
                return False
            if request.idem_key not in self._reversed:
                self._reversed.add(request.idem_key)
                self._record({"kind": "reversal", "idem_key": request.idem_key,
                              "txn": request.txn, "amount": request.amount})
            return True

    def choose(self, stan: int, index: int) -> None:
        with self._lock:
            flow = self._flows.get(stan)
            if flow is not None and 0 <= index < len(COBADGED_APPS):
                flow.choice = index
                flow.wake.set()

    def seal_cards(self, on_taken: Taken) -> bool:
        return False  # the simulated reader's card is always taken with the sale

    def cancel(self, stan: int) -> bool:
        with self._lock:
            flow = self._flows.get(stan)
            if flow is None:
                if stan in self._finished:
                    return False  # over: whatever happened stands (the core reverses)
                self._precancelled.add(stan)  # the worker has not started it yet
                return True
            if flow.sent:
                return False
            flow.cancelled = True
            flow.wake.set()
            return True


def _declined(reason: str) -> AuthResult:
    return AuthResult("declined", reason=reason, message_key=reason)


def open_simulator(config: KioskConfig) -> SimulatedAcquirer:
    """The lane's simulated host, its ledger in the state directory."""
    return SimulatedAcquirer(config.sim.payment, config.paths.state_dir / LEDGER)


def lane_methods(config: KioskConfig) -> dict[str, PaymentMethod]:
    """The lane's payment methods by id, opened, for a composition root that may run the
    demo: with ``devices.payment = "sim"`` the card and phone methods share one simulated
    host (as a single acquirer would); otherwise the methods' own real flows."""
    simulated = simulated_hosts(config)
    if not simulated:
        return open_methods(config)
    ports = {"card": open_simulator(config)}
    if "qr" in simulated:  # no gateway configured: the in-process one
        ports["qr"] = open_sim_gateway(config)
    return open_methods(config, ports)
