"""Cards that cannot be read are not declined cards (issue 14, item 2): a card whose data
does not parse and a card whose ATR the reader cannot use tell the shopper "we could not
read your card" and leave a line in the core log naming the reason (never card data); the
UnionPay credit AID is in the default list, so a credit-only card pays and a debit+credit
card offers both applications instead of silently paying by debit."""

from __future__ import annotations

import pytest

from tests.integration.flow import to_receipt

pytestmark = pytest.mark.card


@pytest.mark.parametrize(("profile", "reason"), [("bad_pan", "card_data_error"),
                                                  ("bad_atr", "atr_rejected")])
def test_an_unreadable_card_says_so_and_is_logged(card_lane, profile, reason):
    lane = card_lane
    core = lane.start_core()
    txn = lane.to_payment()
    lane.pay()
    lane.wait_step("insert_card")
    card = lane.insert(profile)
    st = lane.wait_end()
    assert st["state"] == "declined"
    assert (st["payment"]["reason"], st["payment"]["message"]) == (reason, "card_read_error")
    assert txn not in {e["basket"] for e in lane.acq.received()}      # nothing sent
    lane.remove()
    lane.void()
    lane.check_ledger()
    lane.verify_journal()
    log = core.log_path.read_text()
    assert f"ended before any request: {reason}" in log or f": {reason} (" in log, log[-2000:]
    for secret in card.secrets():
        assert secret not in log


def test_a_credit_only_unionpay_card_pays(card_lane):
    lane = card_lane
    lane.start_core()
    txn = lane.to_payment()
    lane.insert("unionpay_credit")
    lane.pay()
    st = to_receipt(lane.shopper, "none")
    assert (st["payment"]["card"]["aid"], st["payment"]["card"]["label"]) == (
        "A000000333010102", "UNIONPAY CREDIT")
    assert lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()


def test_a_debit_and_credit_unionpay_card_offers_the_choice(card_lane):
    lane = card_lane
    lane.start_core()
    txn = lane.to_payment()
    lane.insert("unionpay_dual")
    lane.pay()
    st = lane.wait_step("choose_app")
    assert [a["label"] for a in st["payment"]["apps"]] == ["UNIONPAY DEBIT", "UNIONPAY CREDIT"]
    assert lane.shopper.send("choose_app", index=1)["ok"]
    st = to_receipt(lane.shopper, "none")
    assert st["payment"]["card"]["aid"] == "A000000333010102"
    assert lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()
