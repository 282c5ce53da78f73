"""A card left in the reader (issue 14, item 1): two shoppers in a row, the first one's card
still in. It is announced as left (``card_left`` on the state) and never pays for the second
shopper; once it is taken, a card inserted again pays."""

from __future__ import annotations

import pytest

from tests.cardsupport import READER0, wait_present
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.card


def test_a_card_left_in_the_reader_never_pays_for_the_next_shopper(card_lane):
    lane = card_lane
    lane.start_core()
    first = lane.to_payment()
    lane.insert("visa")
    lane.pay()
    to_receipt(lane.shopper, "none")
    assert lane.shopper.send("done")["ok"]          # the first shopper walks away ...
    st = lane.shopper.wait_state(lambda s: s["state"] == "attract" and s.get("card_left"))
    apdus = lane.slot.apdus                          # ... leaving the card in the reader
    second = lane.to_payment()
    assert lane.shopper.state["card_left"]
    lane.pay()
    st = lane.wait_step("insert_card")              # asked for a card: the left one is not read
    assert st["card_left"] and lane.slot.apdus == apdus
    lane.remove()                                    # somebody takes the left card
    st = lane.shopper.wait_state(lambda s: not s["card_left"])
    assert st["state"] == "authorizing" and st["payment"]["step"] == "insert_card"
    assert second not in {e["basket"] for e in lane.acq.received()}
    lane.insert("visa")                              # a card inserted now pays
    st = to_receipt(lane.shopper, "none")
    assert st["txn"] == second
    assert lane.acq.net() == {first: 1, second: 1}
    assert [e["basket"] for e in lane.acq.received("0200")] == [first, second]
    lane.check_ledger()
    lane.verify_journal()


def test_a_card_left_after_a_voided_basket_is_announced_until_taken(card_lane):
    lane = card_lane
    lane.start_core()
    lane.acq.control("decline 05")
    first = lane.to_payment()
    lane.insert("mastercard")
    lane.pay()
    assert lane.wait_end()["state"] == "declined"
    lane.void()                                      # the shopper gives up and walks away
    st = lane.shopper.wait_state(lambda s: s["state"] == "attract" and s["card_left"])
    lane.remove()
    st = lane.shopper.wait_state(lambda s: not s["card_left"])
    assert st["state"] == "attract"
    # a card inserted after the session ended (the next shopper's) is theirs to pay with
    lane.insert("mastercard")
    txn = lane.to_payment()
    lane.pay()
    st = to_receipt(lane.shopper, "none")
    assert st["txn"] == txn and lane.acq.net() == {txn: 1} and first != txn
    lane.check_ledger()
    lane.verify_journal()


def test_a_card_in_the_reader_when_the_core_starts_is_a_left_card(card_lane):
    lane = card_lane
    lane.insert("visa")                  # left in before kiosk-core (re)started
    wait_present(READER0, True)
    lane.start_core()
    lane.shopper.wait_state(lambda s: s["card_left"])
    apdus = lane.slot.apdus
    txn = lane.to_payment()
    lane.pay()
    st = lane.wait_step("insert_card")
    assert st["card_left"] and lane.slot.apdus == apdus
    lane.remove()
    lane.shopper.wait_state(lambda s: not s["card_left"])
    lane.insert("visa")
    st = to_receipt(lane.shopper, "none")
    assert st["txn"] == txn and lane.acq.net() == {txn: 1}
    lane.check_ledger()
    lane.verify_journal()
