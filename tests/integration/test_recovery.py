"""kiosk-core killed with SIGKILL restarts into a consistent, journaled state."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fixtures.sample_items import CUP_NOODLES, KIMCHI, MILK
from tests.harness import kiosk_cli
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration



def _ledger(env: dict) -> list[dict]:
    path = Path(env["KIOSK__PATHS__STATE_DIR"]) / "sim-acquirer.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_sigkill_mid_basket_restores_and_republishes(lane_env, shopper, start_core):
    core = start_core()
    shopper.wait_online()
    for code in (MILK, KIMCHI, CUP_NOODLES, CUP_NOODLES):
        assert shopper.send("scan", code=code)["ok"]
    before = shopper.wait_state(lambda s: len(s["lines"]) == 3)
    core.kill9()
    shopper.wait_online(False)  # the broker publishes the core's last will
    restarted_at = time.time()
    core = start_core()
    try:
        after = shopper.wait_state(lambda s: s["server_time"] > restarted_at)
        assert after["state"] == "shopping"
        assert after["txn"] == before["txn"]
        assert after["lines"] == before["lines"]
        assert after["totals"] == before["totals"]
        # the shopper carries on where they were
        assert shopper.send("checkout")["ok"]
        assert shopper.send("pay", method="card")["ok"]
        to_receipt(shopper)
    finally:
        core.stop()
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_sigkill_during_authorization_reverses_never_resends(lane_env, shopper, start_core):
    core = start_core(KIOSK__SIM__PAYMENT__LATENCY_MS="4000")
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.send("checkout")
    assert shopper.send("pay", method="card")["ok"]
    shopper.wait_state(lambda s: s["state"] == "authorizing")
    core.kill9()
    core = start_core()
    try:
        st = shopper.wait_state(lambda s: s["state"] == "payment" and not s["reversal_owed"],
                                timeout=30)
        assert st["notice"] == "payment_not_completed"
        ledger = _ledger(lane_env)
        assert [e["kind"] for e in ledger] == ["reversal"]  # reversed, not re-sent
        assert shopper.send("pay", method="card")["ok"]  # a fresh attempt, new STAN
        st = to_receipt(shopper)
        assert st["payment"]["stan"] == 2
        approved = [e for e in _ledger(lane_env) if e["kind"] == "auth"]
        assert len(approved) == 1 and approved[0]["result"]["outcome"] == "approved"
    finally:
        core.stop()
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
