"""A whole purchase over the real bus against a real kiosk-core process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.domain.gtin import check_digit
from tests.fixtures.sample_items import CUP_NOODLES, KIMCHI, MILK, SOJU
from tests.harness import kiosk_cli
from tests.integration.flow import pay_by_phone, send_pin, to_receipt

pytestmark = pytest.mark.integration



def weight_code(plu: str, grams: int) -> str:
    body = f"25{plu}{grams:05d}"
    return body + str(check_digit(body))


def ledger(env: dict) -> list[dict]:
    path = Path(env["KIOSK__PATHS__STATE_DIR"]) / "sim-acquirer.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_five_item_purchase_with_weighed_multibuy_and_age_check(core, shopper, lane_env):
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    for _ in range(3):
        assert shopper.send("scan", code=CUP_NOODLES)["ok"]
    pork = weight_code("10001", 523)  # Pork Belly 14.99/kg, 523 g
    assert shopper.send("scan", code=pork)["ok"]
    assert shopper.send("scan", code=KIMCHI)["ok"]
    assert shopper.send("scan", code=SOJU)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["attendant"]["reason"] == "age_restricted"
    # a shopper cannot go on scanning or pay while the age check is open
    assert shopper.send("checkout")["reason"] == "not_allowed_now"
    used: set[str] = set()
    assert send_pin(shopper, "1111", used)[1]["ok"]  # wrong PIN: journaled, not accepted
    st = shopper.wait_state(lambda s: s["notice"] == "pin_wrong")
    assert st["staff"] is None
    assert send_pin(shopper, "2468", used)[1]["ok"]
    assert shopper.send("attendant", action="approve_age")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "shopping")
    assert [ln["qty"] for ln in st["lines"]] == [1, 3, 1, 1, 1]
    assert st["lines"][2]["weight_g"] == 523

    totals = st["totals"]
    # reduced 2.25 %: milk 189 + noodles 297 + pork round(1499*0.523)=784 + kimchi 549
    # = 1819, minus one free cup noodle 99 = 1720 → tax 38.7 → 39
    # standard 8.875 %: soju 249 → 22.09875 → 22
    assert totals["subtotal"] == 189 + 297 + 784 + 549 + 249
    assert totals["savings"] == 99
    assert {t["tax_class"]: t["tax"] for t in totals["taxes"]} == {"reduced": 39, "standard": 22}
    assert totals["total"] == 1720 + 249 + 39 + 22

    assert shopper.send("checkout")["ok"]
    assert shopper.send("pay", method="card")["ok"]
    st = to_receipt(shopper)
    assert st["payment"]["status"] == "approved"
    assert st["payment"]["card"]["masked_pan"].endswith("0119")
    receipt = Path(st["receipt"]["path"]).read_text()
    assert "Pork Belly" in receipt and "0.523 kg" in receipt
    assert "$20.30" in receipt and "Cup Noodles 3 for 2" in receipt
    assert st["payment"]["auth_code"] in receipt
    charges = [e for e in ledger(lane_env) if e["kind"] == "auth"]
    assert [(c["amount"], c["result"]["outcome"]) for c in charges] == [(2030, "approved")]

    assert shopper.send("done")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attract" and s["lines"] == [])
    core.stop()
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "OK" in verify.stdout


def test_double_pay_charges_once(core, shopper, lane_env):
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.send("checkout")
    first = shopper.send("pay", method="card", cmd_id="pay-tap-0001")
    again = shopper.send("pay", method="card", cmd_id="pay-tap-0001")   # redelivered
    second = shopper.send("pay", method="card")                         # a second tap
    assert first["ok"] and again == first
    assert not second["ok"] and second["reason"] == "payment_in_progress"
    to_receipt(shopper)
    late = shopper.send("pay", method="card")
    assert not late["ok"]
    assert len([e for e in ledger(lane_env) if e["kind"] == "auth"]) == 1


def test_declined_then_retry(lane_env, shopper, start_core):
    # milk alone: 189 + 2.25 % tax (4.25 → 4) = 193; the simulated host declines *93
    start_core(KIOSK__SIM__PAYMENT__DECLINE_SUFFIXES='["93"]')
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.send("checkout")
    assert shopper.send("pay", method="card")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "declined")
    assert st["notice"] == "declined" and st["totals"]["total"] == 193
    pay_by_phone(shopper)                                  # try again from declined
    shopper.wait_state(lambda s: s["state"] == "declined" and s["payment"]["method"] == "qr")
    assert shopper.send("back")["ok"]
    assert shopper.send("scan", code=MILK)["ok"]           # 378 + 9 = 387: approved
    shopper.send("checkout")
    shopper.send("pay", method="card")
    st = to_receipt(shopper)
    assert st["totals"]["total"] == 387
    outcomes = [(e["amount"], e["result"]["outcome"]) for e in ledger(lane_env)]
    assert outcomes == [(193, "declined"), (387, "approved")]
    wallet = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "sim-wallet.jsonl"   # the phone's
    assert [(e["order"]["amount"], e["order"]["state"])
            for e in map(json.loads, wallet.read_text().splitlines())] == [(193, "not_paid")]


def test_host_down_reverses_then_recovers(lane_env, shopper, start_core):
    start_core(KIOSK__SIM__PAYMENT__UNAVAILABLE_SUFFIXES='["93"]')
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.send("checkout")
    shopper.send("pay", method="card")
    st = shopper.wait_state(lambda s: s["state"] == "payment_unavailable")
    assert st["reversal_owed"] and st["notice"] == "payment_not_completed"
    # idle/cancel timers are off while a reversal is owed: the shopper cannot void
    assert shopper.send("cancel")["reason"] == "not_allowed_now"
    st = shopper.wait_state(lambda s: s["state"] == "payment", timeout=30)
    assert not st["reversal_owed"]
    reversals = [e for e in ledger(lane_env) if e["kind"] == "reversal"]
    assert len(reversals) == 1 and reversals[0]["amount"] == 193


def test_cancel_voids_basket_and_journal_verifies(core, shopper, lane_env):
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    assert shopper.send("cancel")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attract")
    assert st["notice"] == "voided_cancel" and st["lines"] == []
    core.stop()
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
