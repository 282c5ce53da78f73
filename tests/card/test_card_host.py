"""What the acquirer host answers, and what happens when it does not: every decline family,
partial approval, timeout, late answer, broken link, garbage; a reversal still queued when
the next shopper pays; kiosk-core SIGKILLed after the request left."""

from __future__ import annotations

import pytest

from tests.integration.flow import to_receipt

pytestmark = pytest.mark.card

# response code → shopper message key (config/iso8583/default.toml [response_codes])
DECLINES = [
    ("05", "card_declined"),    # do not honour
    ("51", "card_declined"),    # insufficient funds
    ("01", "card_declined"),    # referral
    ("04", "card_declined"),    # pick up
    ("43", "card_declined"),    # stolen card, pick up
    ("91", "try_later"),        # issuer unavailable
    ("96", "try_later"),        # system malfunction
    ("12", "card_declined"),    # not in the table: the default
]


def test_every_decline_family_tells_the_shopper_the_mapped_message(card_lane):
    lane = card_lane
    lane.start_core()
    baskets = {}
    for code, key in DECLINES:
        lane.acq.control(f"decline {code}")
        txn = lane.to_payment()
        lane.insert("visa")   # each shopper's own card (a card left in pays for nobody)
        lane.pay()
        st = lane.wait_end()
        assert st["state"] == "declined", (code, st["state"])
        pay = st["payment"]
        assert (pay["message"], pay["reason"]) == (key, f"host_{code}"), code
        assert st["notice"] == "declined"
        baskets[txn] = code
        lane.void()
        lane.remove()
    declined = {e["basket"]: e["code"] for e in lane.acq.events("declined")}
    assert declined == baskets
    assert lane.acq.events("approved") == [] and lane.acq.events("reversed") == []
    assert len(lane.acq.received("0200")) == len(DECLINES)    # one request per attempt
    assert lane.journal_types().count("auth_declined") == len(DECLINES)
    lane.check_ledger()
    lane.verify_journal()


def test_partial_approval_is_reversed_and_declined(card_lane):
    lane = card_lane
    lane.start_core()
    lane.acq.control("partial 100")
    txn = lane.to_payment()
    lane.insert("mastercard")
    lane.pay()
    st = lane.wait_end()
    assert st["state"] == "declined"
    assert st["payment"]["message"] == "partial_not_supported"
    lane.acq.wait(lambda: lane.acq.net() == {txn: 0}, "the partial approval reversed")
    assert [e["amount"] for e in lane.acq.events("approved")] == [100]
    assert [e["mti"] for e in lane.acq.received() if e["mti"] != "0200"] == ["0400"]
    lane.check_ledger()
    lane.verify_journal()


@pytest.mark.parametrize("behaviour", ["delay 3", "late", "drop", "garbage", "mismatch"])
def test_no_usable_answer_is_reversed_never_resent(card_lane, behaviour):
    """The host approved but its answer is lost (too slow, late, link closed, unreadable,
    wrong amount): the kiosk reverses, tells the shopper, and never resends the sale."""
    lane = card_lane
    lane.start_core()
    lane.acq.control(behaviour)
    txn = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    st = lane.wait_end()
    assert st["state"] in ("reversing", "payment_unavailable", "payment"), st["state"]
    st = lane.wait_reversed()
    assert st["state"] == "payment" and st["notice"] == "payment_not_completed"
    lane.acq.wait(lambda: lane.acq.net() == {txn: 0}, "the lost approval reversed")
    assert len(lane.acq.received("0200")) == 1                     # never resent
    reversals = [e for e in lane.acq.received() if e["mti"] in ("0400", "0401")]
    assert reversals and all(e["original"][4:10] == reversals[0]["stan"] or e["original"]
                             for e in reversals)
    kinds = lane.journal_types()
    assert kinds.count("auth_requested") == 1 and "auth_failed" in kinds
    if behaviour == "late":
        assert "ignored" in lane.core.log()     # the late 0210 arrived and was dropped
    lane.check_ledger()
    # the shopper may pay again in the same basket: a new attempt, a new STAN, approved once
    lane.pay()
    to_receipt(lane.shopper, "none")
    assert lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()


def test_a_reversal_still_queued_goes_before_the_next_shoppers_request(card_lane):
    lane = card_lane
    lane.start_core()
    # a partial approval to reverse, and the host hangs up on the first reversal
    lane.acq.control("partial 50", "reversal drop")
    first = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    st = lane.wait_end()
    assert st["state"] == "declined" and st["payment"]["message"] == "partial_not_supported"
    lane.acq.wait(lambda: lane.acq.events("dropped"), "the reversal dropped")
    # the host took the 0400 but its answer was lost: for the kiosk it is still queued
    assert [e["mti"] for e in lane.acq.received()] == ["0200", "0400"]
    lane.void()
    lane.remove()
    # the next shopper, with a card of their own
    second = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    to_receipt(lane.shopper, "none")
    mtis = [(e["mti"], e["basket"]) for e in lane.acq.received()]
    assert mtis == [("0200", first), ("0400", first), ("0401", first), ("0200", second)]
    assert [e["mti"] for e in lane.acq.events("reversal_noop")] == ["0401"]  # idempotent
    assert lane.acq.net() == {first: 0, second: 1}
    lane.check_ledger()
    lane.verify_journal()


def test_core_killed_after_the_request_left_reverses_on_restart(card_lane):
    lane = card_lane
    core = lane.start_core(KIOSK__ACQUIRER__RESPONSE_TIMEOUT_S="30")
    lane.acq.control("delay 5")
    txn = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    lane.wait_step("authorizing")
    lane.acq.wait(lambda: lane.acq.net() == {txn: 1}, "the host approved")
    core.kill9()
    lane.expect_open.add(txn)
    lane.shopper.core_online = None
    lane.start_core()
    st = lane.wait_reversed(timeout=30)
    assert st["state"] == "payment" and st["payment"] is None
    lane.acq.wait(lambda: lane.acq.net() == {txn: 0}, "the reversal after the restart")
    lane.expect_open.clear()
    assert len(lane.acq.received("0200")) == 1
    kinds = lane.journal_types()
    assert "recovered" in kinds and kinds.count("auth_requested") == 1
    lane.check_ledger()
    lane.verify_journal()


def test_host_gone_for_the_reversal_blocks_the_next_payment_until_it_is_sent(card_lane):
    """The host dies after taking the request: the reversal cannot be sent, the kiosk takes
    no new payment; when the host is back the reversal goes first, then the new sale."""
    lane = card_lane
    lane.start_core()
    lane.acq.control("delay 30")
    txn = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    lane.acq.wait(lambda: lane.acq.net() == {txn: 1}, "the host approved")
    lane.expect_open.add(txn)
    lane.acq.stop()                      # approved at the host, the answer never comes
    st = lane.shopper.wait_state(lambda s: s["state"] == "payment_unavailable", 20)
    assert st["reversal_owed"]
    assert lane.shopper.send("pay", method="card")["reason"] in ("payment_unavailable",
                                                                  "not_allowed_now")
    assert lane.acq.net() == {txn: 1}
    lane.acq.start()                     # same port, same ledger
    st = lane.wait_reversed(timeout=40)
    lane.acq.wait(lambda: lane.acq.net() == {txn: 0}, "the reversal once the host is back")
    lane.expect_open.clear()
    lane.pay()
    to_receipt(lane.shopper, "none")
    mtis = [e["mti"] for e in lane.acq.received()]
    assert mtis[0] == "0200" and mtis[-1] == "0200" and mtis.count("0200") == 2
    assert set(mtis[1:-1]) <= {"0400", "0401"} and mtis[1:-1]
    assert lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()


def test_a_queued_reversal_is_retried_without_waiting_for_the_next_sale(card_lane):
    lane = card_lane
    lane.start_core(KIOSK__ACQUIRER__REVERSAL_RETRY_S="0.5")  # not the lane's 5 s
    lane.acq.control("partial 50", "reversal drop")
    txn = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    st = lane.wait_end()
    assert st["state"] == "declined" and st["payment"]["message"] == "partial_not_supported"
    # nobody pays again: the card port's own drain repeats the reversal (0401) by itself
    lane.acq.wait(lambda: [e["mti"] for e in lane.acq.received()] == ["0200", "0400", "0401"],
                  "the repeated reversal", timeout=20)
    assert lane.acq.net() == {txn: 0}
    lane.check_ledger()
    lane.verify_journal()


def test_core_killed_before_the_request_left_owes_nothing_after_restart(card_lane):
    """SIGKILL while the shopper is choosing the application: the restarted core cannot
    know nothing left, so it asks for a reversal; the port has no request under that key,
    so there is nothing to undo and the lane is free again at once."""
    lane = card_lane
    core = lane.start_core()
    txn = lane.to_payment()
    lane.insert("cobadged")
    lane.pay()
    lane.wait_step("choose_app")
    core.kill9()
    lane.shopper.core_online = None
    lane.start_core()
    st = lane.wait_reversed(timeout=15)
    assert st["state"] == "payment" and not st["reversal_owed"]
    assert lane.acq.received() == []                 # nothing ever went to the host
    lane.pay()
    lane.wait_end(choose=0)
    to_receipt(lane.shopper, "none")
    assert lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()


def test_host_down_before_the_request_is_try_later_and_nothing_is_owed(card_lane):
    lane = card_lane
    lane.start_core()
    lane.acq.stop()
    txn = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    st = lane.wait_end()
    assert st["state"] == "declined" and st["payment"]["message"] == "try_later"
    assert not st["reversal_owed"]
    lane.acq.start()
    lane.pay()
    to_receipt(lane.shopper, "none")
    assert [e["mti"] for e in lane.acq.received()] == ["0200"]
    assert lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()
