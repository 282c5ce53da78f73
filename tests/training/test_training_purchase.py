"""A whole training purchase through a real kiosk-core process and the simulated acquirer:
the acquirer's ledger and the sales figures do not move, the receipt is marked, the journal
keeps every training row marked; leaving training needs staff and an empty basket."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from kiosk.domain.training import is_training_txn
from kiosk.journal.figures import sales_figures
from kiosk.journal.store import Journal
from tests.fixtures.sample_items import KIMCHI, MILK
from tests.integration.flow import send_pin, to_receipt
from tests.integration.test_purchase import ledger

pytestmark = pytest.mark.integration


def journal(env: dict) -> closing[Journal]:
    """The lane's journal, read beside the running kiosk-core (SQLite WAL)."""
    return closing(Journal(Path(env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite"))


def buy(shopper, code: str, method: str = "card") -> dict:
    assert shopper.send("scan", code=code)["ok"]
    assert shopper.send("checkout")["ok"]
    assert shopper.send("pay", method=method)["ok"]
    st = to_receipt(shopper)
    assert shopper.send("done")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attract" and s["lines"] == [])
    return st


def staff(shopper, action: str, used: set[str]) -> dict:
    """Staff at the lane: a help call, the PIN, the action."""
    if shopper.state["state"] != "attendant_needed":
        assert shopper.send("help")["ok"]
        shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert send_pin(shopper, "2468", used)[1]["ok"]
    shopper.wait_state(lambda s: s["staff"] is not None)
    return shopper.send("attendant", action=action)


def test_a_training_purchase_moves_no_money_and_no_sales(core, shopper, lane_env):
    shopper.wait_online()
    real = buy(shopper, MILK)  # a real sale first: the figures and the ledger have one
    assert real["payment"]["status"] == "approved" and not is_training_txn(real["txn"])
    before_ledger = ledger(lane_env)
    assert len(before_ledger) == 1
    with journal(lane_env) as j:
        before = sales_figures(j.entries())
    assert (before.sales, before.amount, before.training_sales) == (1, 193, 0)

    used: set[str] = set()
    assert staff(shopper, "training_on", used)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attract" and s["training"] is True)
    assert st["staff"] is None

    st = buy(shopper, KIMCHI)  # the trainee pays "by card"
    assert is_training_txn(st["txn"])
    assert (st["payment"]["method"], st["payment"]["status"]) == ("training", "approved")
    receipt = Path(st["receipt"]["path"]).read_text()
    lines = receipt.strip().splitlines()
    assert "TRAINING — NOT A RECEIPT" in lines[1] and "TRAINING — NOT A RECEIPT" in lines[-1]
    assert "Training payment" in receipt

    assert ledger(lane_env) == before_ledger  # the acquirer never heard of it
    with journal(lane_env) as j:
        after = sales_figures(j.entries())
        rows = [e for e in j.entries() if e.txn == st["txn"]]
        started = [e for e in j.entries() if e.type == "training_started"]
    assert (after.sales, after.amount, after.training_sales) == (1, 193, 1)
    assert {e.type for e in rows} >= {"session_started", "item_added", "auth_requested",
                                      "auth_approved", "session_finished"}
    assert [e.data["staff_id"] for e in started] == ["S100"]

    # leaving needs staff and an empty basket
    assert shopper.send("scan", code=MILK)["ok"]
    assert staff(shopper, "training_off", used)["reason"] == "basket_not_empty"
    assert shopper.send("attendant", action="cancel_basket")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attract")
    assert staff(shopper, "training_off", used)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attract" and s["training"] is False)
    st = buy(shopper, MILK)
    assert not is_training_txn(st["txn"]) and len(ledger(lane_env)) == 2
