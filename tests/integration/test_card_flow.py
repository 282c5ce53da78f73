"""Card payment hooks through a real kiosk-core process and a real mosquitto.

The simulated port plays the card reader (insert → reading → choose application
→ authorizing → remove card) inside kiosk-core; the shopper drives the core over
the bus as the UI and the voice service do. The simulator's ledger is what the
"host" charged: every test ends by proving nothing was charged twice and no
approved sale was left unreversed where the shopper was told "not charged".
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from tests.fixtures.sample_items import MILK
from tests.harness import kiosk_cli
from tests.integration.flow import pay_by_phone, to_receipt

pytestmark = pytest.mark.integration

FAST = {"KIOSK__SIM__PAYMENT__CARD_STEP_MS": "50"}
COBADGED = {**FAST, "KIOSK__SIM__PAYMENT__COBADGED_SUFFIXES": '["93"]'}


def state_dir(env: dict) -> Path:
    return Path(env["KIOSK__PATHS__STATE_DIR"])


def ledger(env: dict) -> list[dict]:
    path = state_dir(env) / "sim-acquirer.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def charged(env: dict) -> list[str]:
    """Idempotency keys approved by the host and not reversed."""
    entries = ledger(env)
    reversed_ = {e["idem_key"] for e in entries if e["kind"] == "reversal"}
    return [e["idem_key"] for e in entries if e["kind"] == "auth"
            and e["result"]["outcome"] == "approved" and e["idem_key"] not in reversed_]


def journal_types(env: dict) -> list[str]:
    db = sqlite3.connect(f"file:{state_dir(env) / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT type FROM events ORDER BY seq")]
    finally:
        db.close()


def to_payment(shopper) -> None:
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("checkout")["ok"]


def step_is(name: str):
    return lambda s: s["state"] == "authorizing" and (s["payment"] or {}).get("step") == name


def verify(core, env: dict) -> None:
    core.stop()
    done = kiosk_cli(env, "journal", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def test_cobadged_card_choice_is_journaled_once_and_printed(start_core, shopper, lane_env):
    core = start_core(**COBADGED)
    to_payment(shopper)
    assert shopper.send("pay", method="card")["ok"]
    seen = []
    for step in ("insert_card", "reading", "choose_app"):
        seen.append(shopper.wait_state(step_is(step))["payment"]["step"])
    st = shopper.state
    assert [a["label"] for a in st["payment"]["apps"]] == ["VISA CREDIT", "UNIONPAY DEBIT"]
    assert shopper.send("choose_app", index=5)["reason"] == "unknown_application"
    first = shopper.send("choose_app", index=1, cmd_id="choose-tap-0001")
    again = shopper.send("choose_app", index=1, cmd_id="choose-tap-0001")  # redelivered
    second = shopper.send("choose_app", index=0)                           # a second tap
    assert first["ok"] and again == first
    assert not second["ok"] and second["reason"] == "app_already_chosen"
    assert shopper.send("pay", method="card")["reason"] == "payment_in_progress"
    st = shopper.wait_state(lambda s: s["state"] == "approved")
    card = st["payment"]["card"]
    assert (card["label"], card["aid"], card["entry"]) == ("UNIONPAY DEBIT", "A000000333010101",
                                                           "chip")
    assert len(st["payment"]["rrn"]) == 12
    st = to_receipt(shopper, "print")
    receipt = Path(st["receipt"]["path"]).read_text()
    for part in ("UNIONPAY DEBIT", "A000000333010101", "Chip", st["payment"]["auth_code"],
                 st["payment"]["rrn"], "**** 0119"):
        assert part in receipt, part
    kinds = journal_types(lane_env)
    assert kinds.count("app_chosen") == 1 and kinds.count("auth_requested") == 1
    assert kinds.count("receipt_chosen") == 1
    assert not {"progress", "step", "insert_card", "reading"} & set(kinds)  # steps: not journaled
    assert len(charged(lane_env)) == 1
    verify(core, lane_env)


def test_cancel_before_the_request_left_charges_nothing_and_reverses_nothing(
        start_core, shopper, lane_env):
    core = start_core(**COBADGED)
    to_payment(shopper)
    assert shopper.send("pay", method="card")["ok"]
    shopper.wait_state(step_is("choose_app"))
    first = shopper.send("cancel", cmd_id="cancel-tap-0001")
    again = shopper.send("cancel", cmd_id="cancel-tap-0001")
    second = shopper.send("cancel")
    assert first["ok"] and again == first
    # in flight, or the attempt is already over: either way it must not void the basket
    assert second["reason"] in ("cancel_in_progress", "already_cancelled")
    st = shopper.wait_state(lambda s: s["state"] == "declined")
    assert (st["payment"]["reason"], st["payment"]["message"]) == ("cancelled", "cancelled")
    assert not st["reversal_owed"]
    assert shopper.send("choose_app", index=0)["reason"] == "not_allowed_now"
    time.sleep(0.3)  # let anything the port might still do land in the ledger
    assert ledger(lane_env) == []          # nothing sent, nothing to reverse
    kinds = journal_types(lane_env)
    assert kinds.count("cancel_requested") == 1
    assert "auth_failed" not in kinds and "reversal_result" not in kinds
    # the shopper may pay again at once: a new attempt with a new STAN
    assert shopper.send("pay", method="card")["ok"]
    shopper.wait_state(step_is("choose_app"))
    assert shopper.send("choose_app", index=0)["ok"]
    st = to_receipt(shopper, "none")
    assert st["payment"]["stan"] == 2 and st["payment"]["card"]["label"] == "VISA CREDIT"
    assert len(charged(lane_env)) == 1
    verify(core, lane_env)


def test_cancel_after_the_request_left_reverses_and_says_not_charged(
        start_core, shopper, lane_env):
    core = start_core(**FAST, KIOSK__SIM__PAYMENT__LATENCY_MS="1500")
    to_payment(shopper)
    assert shopper.send("pay", method="card")["ok"]
    shopper.wait_state(step_is("authorizing"))
    first = shopper.send("cancel")
    assert first["ok"]
    second = shopper.send("cancel")
    assert not second["ok"]
    st = shopper.wait_state(lambda s: s["state"] in ("reversing", "payment"))
    assert st["notice"] == "not_charged"
    st = shopper.wait_state(lambda s: s["state"] == "payment" and not s["reversal_owed"],
                            timeout=30)
    assert st["notice"] == "not_charged"
    deadline = time.monotonic() + 10   # the host's late answer lands after the reversal
    while not any(e["kind"] == "auth" for e in ledger(lane_env)):
        assert time.monotonic() < deadline, "the request never reached the simulated host"
        time.sleep(0.05)
    assert [e["kind"] for e in ledger(lane_env)].count("reversal") == 1
    assert charged(lane_env) == []         # approved by the host, then reversed
    kinds = journal_types(lane_env)
    assert kinds.count("cancel_requested") == 1 and "auth_approved" not in kinds
    verify(core, lane_env)


def test_double_pay_during_the_card_steps_changes_nothing(start_core, shopper, lane_env):
    core = start_core(**COBADGED)
    to_payment(shopper)
    first = shopper.send("pay", method="card", cmd_id="pay-tap-0001")
    shopper.wait_state(step_is("insert_card"))
    assert shopper.send("pay", method="card", cmd_id="pay-tap-0001") == first
    assert shopper.send("pay", method="qr")["reason"] == "payment_in_progress"
    shopper.wait_state(step_is("choose_app"))
    assert shopper.send("pay", method="card")["reason"] == "payment_in_progress"
    assert shopper.send("choose_app", index=0)["ok"]
    to_receipt(shopper)
    kinds = journal_types(lane_env)
    assert kinds.count("auth_requested") == 1
    assert len([e for e in ledger(lane_env) if e["kind"] == "auth"]) == 1
    verify(core, lane_env)


def test_card_pulled_is_a_journaled_decline(start_core, shopper, lane_env):
    core = start_core(**FAST, KIOSK__SIM__PAYMENT__CARD_ABORT_SUFFIXES='{ "93" = "card_removed" }')
    to_payment(shopper)
    assert shopper.send("pay", method="card")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "declined")
    assert (st["payment"]["reason"], st["payment"]["message"]) == ("card_removed",
                                                                   "card_removed")
    assert ledger(lane_env) == []
    assert "auth_declined" in journal_types(lane_env)
    verify(core, lane_env)


def test_pay_is_refused_until_the_clock_is_synchronized(start_core, shopper, lane_env,
                                                         tmp_path):
    flag = tmp_path / "timesync" / "synchronized"
    core = start_core(KIOSK__PAYMENTS__REQUIRE_CLOCK_SYNC="true",
                      KIOSK__PAYMENTS__CLOCK_SOURCE="timesyncd",
                      KIOSK__PAYMENTS__CLOCK_SYNC_FLAG=str(flag), **FAST)
    to_payment(shopper)
    for method in ("card", "qr"):
        result = shopper.send("pay", method=method)
        assert (result["ok"], result["reason"]) == (False, "clock_not_synced")
    assert shopper.state["state"] == "payment" and ledger(lane_env) == []
    flag.parent.mkdir()
    flag.touch()   # what systemd-timesyncd does once it has synchronized
    pay_by_phone(shopper)
    to_receipt(shopper)
    verify(core, lane_env)


def test_no_receipt_prints_nothing_but_keeps_it(start_core, shopper, lane_env):
    core = start_core(**FAST)
    to_payment(shopper)
    pay_by_phone(shopper)
    st = to_receipt(shopper, "none")
    assert st["receipt"] == {"path": "", "ok": True, "printed": False}
    assert st["payment"]["receipt_choice"] == "none"
    receipts = state_dir(lane_env) / "receipts"
    assert not (receipts / f"{st['txn']}.txt").exists()        # no paper
    kept = receipts / f"{st['txn']}.json"
    deadline = time.monotonic() + 10
    while not kept.exists():                                   # kept for reprint / e-receipt
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert shopper.send("receipt", choice="print")["reason"] == "not_allowed_now"
    assert shopper.send("done")["ok"]
    verify(core, lane_env)


def test_no_choice_prints_the_receipt(start_core, shopper, lane_env):
    core = start_core(**FAST, KIOSK__TIMEOUTS__RECEIPT_CHOICE_S="1")
    to_payment(shopper)
    assert shopper.send("pay", method="card")["ok"]
    shopper.wait_state(lambda s: s["state"] == "approved")
    st = shopper.wait_state(lambda s: s["state"] == "receipt")
    assert st["payment"]["receipt_choice"] == "print" and Path(st["receipt"]["path"]).exists()
    verify(core, lane_env)


def test_a_card_step_that_never_ends_is_cancelled_by_the_core(start_core, shopper, lane_env):
    # the port should bound its own waits; if it does not, kiosk-core's card_wait_s does
    core = start_core(KIOSK__SIM__PAYMENT__CARD_STEP_MS="600000",
                      KIOSK__PAYMENTS__CARD_WAIT_S="1")
    to_payment(shopper)
    assert shopper.send("pay", method="card")["ok"]
    shopper.wait_state(step_is("insert_card"))
    st = shopper.wait_state(lambda s: s["state"] == "declined")
    assert (st["payment"]["reason"], st["payment"]["message"]) == ("card_timeout",
                                                                   "card_timeout")
    assert st["payment"]["cancel"] == "timeout" and not st["reversal_owed"]
    assert ledger(lane_env) == []
    verify(core, lane_env)
