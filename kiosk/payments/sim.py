"""A simulated acquirer for demos and tests: approves or declines by amount.

Totals whose minor units end in a configured decline suffix are declined; those
ending in an unavailable suffix find the host down for a few seconds (so the core
must reverse and later retry). Every authorization is kept in a JSON-lines ledger
keyed by idempotency key: a repeated key returns the first answer and never
charges again, and tests read the ledger to prove nothing was charged twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from kiosk.config import SimPaymentConfig
from kiosk.payments.port import AuthRequest, AuthResult

HOST_DOWN_S = 4.0


class SimulatedAcquirer:
    def __init__(self, config: SimPaymentConfig, ledger_path: Path) -> None:
        self.config = config
        self.ledger_path = ledger_path
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._answers: dict[str, AuthResult] = {}
        self._reversed: set[str] = set()
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

    def authorize(self, request: AuthRequest) -> AuthResult:
        time.sleep(self.config.latency_ms / 1000)
        minor = str(request.amount).zfill(2)
        with self._lock:
            if request.idem_key in self._answers:
                return self._answers[request.idem_key]
            if time.monotonic() < self._down_until:
                return AuthResult("unavailable", reason="host_unreachable")
            if any(minor.endswith(s) for s in self.config.unavailable_suffixes):
                self._down_until = time.monotonic() + HOST_DOWN_S
                return AuthResult("unavailable", reason="host_unreachable")
            if any(minor.endswith(s) for s in self.config.decline_suffixes):
                result = AuthResult("declined", reason="do_not_honour")
            else:
                code = hashlib.sha256(request.idem_key.encode()).hexdigest()[:6].upper()
                card = ({"brand": self.config.card_brand,
                         "masked_pan": f"******{self.config.card_last4}"}
                        if request.method == "card" else {"brand": "QR"})
                result = AuthResult("approved", auth_code=code, card=card)
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
