"""Every wallet scenario through the real kiosk-core process on the real mosquitto: the
shopper pays by phone, the gateway (simulated, its ledger the truth) behaves as the scenario
says, and each basket ends in the state, journal and money the issue's rules give: nothing
paid twice, nothing paid and lost, no order left open, no payment code written anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.domain.emvqr import parse_mpm
from tests.integration.flow import to_receipt
from tests.wallet.core.lane import WalletLane

pytestmark = pytest.mark.integration

#: scenario → (final state of the attempt, payment message/notice, journal events of the
#: attempt, the gateway's final state of its order)
SCENARIOS = [
    ("success", "approved", None, ["auth_requested", "auth_approved"], "paid"),
    ("user_paying_success", "approved", None, ["auth_requested", "auth_approved"], "paid"),
    ("system_error_success", "approved", None, ["auth_requested", "auth_approved"], "paid"),
    ("lost_answer", "approved", None, ["auth_requested", "auth_approved"], "paid"),
    ("bad_answer", "approved", None, ["auth_requested", "auth_approved"], "paid"),
    ("insufficient_funds", "declined", "wallet_insufficient_funds",
     ["auth_requested", "auth_declined"], "not_paid"),
    ("user_paying_cancelled", "declined", "wallet_cancelled",
     ["auth_requested", "auth_declined"], "not_paid"),
    ("user_paying_forever", "payment", None,
     ["auth_requested", "auth_failed", "reversal_result"], "closed"),
    ("amount_mismatch", "payment", None,
     ["auth_requested", "auth_failed", "reversal_result"], "refunded"),
]


@pytest.fixture
def lane(start_core, lane_env, shopper):
    lane = WalletLane(lane_env, shopper)
    lane.control(scenario="success", pay_deadline_s=1)
    lane.core = start_core()
    shopper.wait_online()
    return lane


def attempt_events(lane: WalletLane, txn: str) -> list[str]:
    kinds = ("auth_requested", "auth_approved", "auth_declined", "auth_failed",
             "reversal_result", "cancel_requested", "app_chosen")
    return [e["type"] for e in lane.journal() if e["txn"] == txn and e["type"] in kinds]


def test_every_gateway_scenario_ends_as_the_rules_say(lane):
    for scenario, state, message, events, gateway in SCENARIOS:
        lane.control(scenario=scenario, pay_deadline_s=1)
        txn = lane.to_payment()
        lane.pay()
        if scenario.startswith("user_paying"):
            lane.step("user_paying")   # "confirm the payment on your phone"
        st = lane.end()
        if st["state"] == "approved":
            assert st["payment"]["card"] == {"brand": "alipay"}, scenario
        assert st["state"] == state, (scenario, st["state"])
        if message:
            assert st["payment"]["message"] == message, scenario
        assert attempt_events(lane, txn) == events, scenario
        order = [o for o in lane.book() if o["idem_key"].startswith(txn)]
        assert len(order) == 1, scenario
        assert lane.gateway_orders()[order[0]["order_no"]]["state"] == gateway, scenario
        lane.finish()
        lane.check_money()
    lane.core.stop()
    lane.check_no_code_leaked(lane.core.log())


def test_used_expired_and_reused_codes_ask_for_another_then_it_pays(lane):
    lane.control(scenario="code_used")
    txn = lane.to_payment()
    first = lane.pay()
    st = lane.shopper.wait_state(lambda s: s["payment"].get("notice") == "code_used")
    assert st["state"] == "authorizing" and st["payment"]["step"] == "show_code"
    assert lane.present(first)["ok"]            # the same code again: refused locally
    lane.shopper.wait_state(lambda s: s["payment"].get("notice") == "code_reused")
    lane.control(scenario="code_expired")
    lane.show()
    lane.shopper.wait_state(lambda s: s["payment"].get("notice") == "code_expired")
    lane.control(scenario="success")
    lane.show()
    st = lane.end()
    assert st["state"] == "approved" and st["payment"]["card"]["brand"] == "alipay"
    st = to_receipt(lane.shopper, "print")
    receipt = Path(st["receipt"]["path"]).read_text()
    assert "Mobile QR Alipay" in receipt          # the payment line names the wallet
    assert not any(code in receipt for code in lane.codes)
    lane.finish()
    assert [o["state"] for o in lane.book() if o["idem_key"].startswith(txn)] == [
        "not_paid", "not_paid", "recorded"]                # 3 codes sent, the reused one not
    assert len(lane.gateway_orders()) == 3
    lane.check_money()
    # merchant-presented: the shopper picks "scan a code with my phone instead"; the
    # screen's QR is a valid EMVCo payload for this order and amount; the phone pays it
    lane.control(scenario="success", paying_queries=2)
    txn = lane.to_payment()
    shown = lane.phone_scans()
    parsed = parse_mpm(shown["qr"])
    assert (parsed["amount"], parsed["dynamic"]) == ("1.93", True)
    assert parsed["additional"]["01"] == [o["order_no"] for o in lane.book()][-1]
    assert lane.end()["state"] == "approved"
    lane.finish()
    lane.check_money()
    # a wallet code when no attempt waits for one is refused, never an item
    txn = lane.to_payment()
    refused = lane.present("134567890123456789")
    assert (refused["ok"], refused["reason"]) == (False, "not_allowed_now")
    assert [ln["key"] for ln in lane.shopper.state["lines"]] != []
    lane.finish()
    lane.core.stop()
    lane.check_no_code_leaked(lane.core.log())


def test_cancel_while_confirming_closes_the_order_and_down_gateway_is_retried(lane):
    lane.control(scenario="user_paying_forever", pay_deadline_s=30)
    txn = lane.to_payment()
    lane.pay()
    lane.step("user_paying")
    assert lane.shopper.send("cancel")["ok"]
    st = lane.shopper.wait_state(lambda s: s["state"] == "payment" and not s["reversal_owed"])
    assert st["notice"] == "not_charged"
    assert [lane.gateway_orders()[o["order_no"]]["state"] for o in lane.book()] == ["closed"]
    lane.finish()
    # the gateway is down: the answer is lost, queried, still unknown: reversed, retried
    # until the gateway answers; no new payment meanwhile
    lane.control(scenario="down")
    txn = lane.to_payment()
    lane.pay()
    st = lane.shopper.wait_state(lambda s: s["state"] == "payment_unavailable", 20)
    assert lane.shopper.send("pay", method="qr")["ok"] is False
    lane.control(scenario="success")
    lane.shopper.wait_state(lambda s: s["state"] == "payment" and not s["reversal_owed"], 20)
    assert attempt_events(lane, txn)[:2] == ["auth_requested", "auth_failed"]
    assert [o["state"] for o in lane.book() if o["idem_key"].startswith(txn)] == ["closed"]
    lane.finish()
    lane.check_money()
