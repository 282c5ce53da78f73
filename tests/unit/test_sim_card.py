"""The simulated card port: its steps, the co-badged choice, cancel before and after the
request left, and the clock witness (kiosk.ops.timesync)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from kiosk.config import SimPaymentConfig
from kiosk.ops.timesync import clock_synchronized, kernel_synchronized
from kiosk.payments.port import AuthRequest
from kiosk.sim.payments import SimulatedAcquirer


def sim(tmp_path: Path, **over) -> SimulatedAcquirer:
    cfg = dict(decline_suffixes=["51"], unavailable_suffixes=["52"], latency_ms=0,
               card_brand="VISA", card_last4="0119", card_step_ms=0, card_wait_s=30,
               cobadged_suffixes=["77"], card_abort_suffixes={"78": "card_removed"})
    cfg.update(over)
    return SimulatedAcquirer(SimPaymentConfig(**cfg), tmp_path / "ledger.jsonl")


def req(amount: int, stan: int = 1, method: str = "card") -> AuthRequest:
    return AuthRequest("T-1", method, amount, "USD", 840, stan, f"T-1-{stan:06d}")


class Run:
    """authorize() on its own thread (as kiosk-core's worker), steps into a queue."""

    def __init__(self, port: SimulatedAcquirer, request: AuthRequest) -> None:
        self.steps: queue.Queue[dict] = queue.Queue()
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(port, request))
        self.thread.start()

    def _run(self, port, request) -> None:
        self.result = port.authorize(request, self.steps.put)

    def until(self, name: str) -> dict:
        while True:
            step = self.steps.get(timeout=10)
            if step["step"] == name:
                return step

    def done(self):
        self.thread.join(10)
        assert not self.thread.is_alive()
        return self.result


def test_card_steps_then_approval_with_chip_facts(tmp_path):
    port = sim(tmp_path)
    run = Run(port, req(1000))
    seen = [run.until("insert_card")["step"]]
    result = run.done()
    while not run.steps.empty():
        seen.append(run.steps.get()["step"])
    assert seen[:4] == ["insert_card", "reading", "authorizing", "remove_card"]
    assert result.outcome == "approved" and result.response_code == "00"
    assert len(result.rrn) == 12 and result.card["entry"] == "chip"
    assert result.card["masked_pan"] == "******0119" and result.card["aid"]


def test_cobadged_card_waits_for_the_choice(tmp_path):
    port = sim(tmp_path)
    run = Run(port, req(1077))
    step = run.until("choose_app")
    assert [a["label"] for a in step["apps"]] == ["VISA CREDIT", "UNIONPAY DEBIT"]
    port.choose(1, 1)
    result = run.done()
    assert result.outcome == "approved" and result.card["label"] == "UNIONPAY DEBIT"


def test_cancel_before_the_request_sends_nothing(tmp_path):
    port = sim(tmp_path)
    run = Run(port, req(1077))
    run.until("choose_app")
    assert port.cancel(1) is True
    result = run.done()
    assert (result.outcome, result.reason, result.message_key) == (
        "declined", "cancelled", "cancelled")
    assert port.ledger() == []


def test_cancel_after_the_request_left_is_refused(tmp_path):
    port = sim(tmp_path, latency_ms=300)
    run = Run(port, req(1000))
    run.until("authorizing")
    assert port.cancel(1) is False
    assert run.done().outcome == "approved"
    assert port.cancel(1) is False   # over: a late cancel never claims nothing was sent


def test_cancel_before_the_worker_started(tmp_path):
    port = sim(tmp_path)
    assert port.cancel(5) is True
    assert port.authorize(req(1000, stan=5)).reason == "cancelled"
    assert port.ledger() == []


def test_qr_cannot_be_cancelled_for_free(tmp_path):
    port = sim(tmp_path, latency_ms=300)
    run = Run(port, req(1000, method="qr"))
    while 1 not in port._flows:  # the worker has taken it (then it is on its way at once)
        assert run.thread.is_alive()
    assert port.cancel(1) is False
    assert run.done().outcome == "approved"


@pytest.mark.parametrize(("amount", "reason"), [(1078, "card_removed")])
def test_card_abort_by_amount(tmp_path, amount, reason):
    result = sim(tmp_path).authorize(req(amount))
    assert (result.outcome, result.reason, result.message_key) == ("declined", reason, reason)


def test_clock_witnesses(tmp_path):
    flag = tmp_path / "synchronized"
    assert clock_synchronized("timesyncd", flag) is False
    flag.touch()
    assert clock_synchronized("timesyncd", flag) is True
    assert clock_synchronized("any", flag) is True
    assert kernel_synchronized() in (True, False, None)
    assert clock_synchronized("adjtimex", flag) is bool(kernel_synchronized())
