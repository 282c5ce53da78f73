"""Shopper feedback on a real lane (issue 18): two shoppers in a row on the receipt screen,
in a real Kivy window, with a real mosquitto and kiosk-core.

The first taps a low face, ticks what went wrong and sends it; the second (in English) taps a
low face and walks away: the receipt timer returns the lane to the welcome screen as before,
and the rating is journaled without reasons; (in Chinese and Korean) skips the rating with
Done: nothing is journaled for that sale. Each sale gets exactly one ``shopper_rating`` with its
step timings, read back from the lane's journal. Bad ``rate`` commands are refused with
their reason and journal nothing. Screens are photographed and checked in en, zh_Hans, ko.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from kiosk.domain.feedback import STEP_FIELDS
from tests.fixtures.sample_items import KIMCHI, MILK
from tests.integration.flow import pay_by_phone, to_receipt
from tests.ui.test_purchase_ui import Screens

pytestmark = pytest.mark.ui



def _ratings(lane_env: dict) -> list[dict]:
    """The lane's ``shopper_rating`` events, with their txn, as journaled."""
    import json

    path = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT txn, data FROM events WHERE type = 'shopper_rating'"
                          " ORDER BY seq").fetchall()
    return [{"txn": txn, **json.loads(data)} for txn, data in rows]


def _buy(shopper, *codes: str) -> dict:
    for code in codes:
        assert shopper.send("scan", code=code)["ok"]
    assert shopper.send("checkout")["ok"]
    pay_by_phone(shopper)
    return to_receipt(shopper, choice="none")


#: Chinese is the Korean run's flow again (skips with Done): opt-in for the default suite's time
ALSO = pytest.mark.skipif(os.environ.get("KIOSK_SOAK_TESTS") != "1",
                          reason="the rating in zh: KIOSK_SOAK_TESTS=1")


@pytest.mark.parametrize("locale", ["en", pytest.param("zh_Hans", marks=ALSO), "ko"])
def test_two_shoppers_in_a_row_one_rates_one_skips(locale, start_core, shopper,
                                                       ui_factory, shots, ui_fonts, lane_env):
    start_core()
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    assert shopper.send("set_language", locale=locale)["ok"]
    screens = Screens(ui, shots, locale, ui_fonts())

    # shopper 1: a low face, what went wrong, send
    first = _buy(shopper, MILK, KIMCHI)
    assert first["accepts"] and "rate" in first["accepts"]
    ui.sync(first)
    ui.wait_screen("receipt")
    screens.snap("receipt-rate", "receipt")
    # bad input on the command: refused by reason, nothing journaled, nothing held
    for fields, reason in (({"rating": 7}, "bad_rating"), ({"rating": 0}, "bad_rating"),
                           ({"rating": 1, "reasons": ["lost_my_cat"]}, "unknown_reason"),
                           ({"reasons": ["payment"]}, "no_rating")):
        result = shopper.send("rate", **fields)
        assert (result["ok"], result["reason"]) == (False, reason), fields
    assert _ratings(lane_env) == []
    assert shopper.state["rating_pending"] is None
    ui.tap("rate:2")
    st = shopper.wait_state(lambda s: s["rating_pending"] == 2)
    assert _ratings(lane_env) == []  # held until the reasons come
    ui.sync(st)
    screens.snap("receipt-what-went-wrong", "receipt")
    ui.tap("reason:scanning")
    ui.tap("reason:too_slow")
    screens.snap("receipt-reasons-ticked", "receipt")
    ui.tap("rate:send")
    st = shopper.wait_state(lambda s: (s.get("receipt") or {}).get("rating") == 2)
    assert st["state"] == "receipt" and st["rating_pending"] is None
    ui.sync(st)
    screens.snap("receipt-thanks", "receipt")
    [rated] = _ratings(lane_env)
    assert (rated["txn"], rated["rating"], rated["reasons"], rated["by"], rated["training"]) == (
        first["txn"], 2, ["scanning", "too_slow"], "ui", False)
    steps = [rated[f] for f in STEP_FIELDS]
    assert all(isinstance(ms, int) and ms >= 0 for ms in steps), rated
    assert rated["scan_to_receipt_ms"] == sum(steps[:3]) or abs(
        rated["scan_to_receipt_ms"] - sum(steps[:3])) <= 2  # whole ms, rounded apart
    assert shopper.send("rate", rating=3)["reason"] == "already_rated"
    ui.tap("done")
    shopper.wait_state(lambda s: s["state"] == "attract")
    ui.wait_screen("attract")

    second = _buy(shopper, MILK)
    assert second["txn"] != first["txn"]
    ui.sync(second)
    ui.wait_screen("receipt")
    if locale != "en":
        # shopper 2 skips the rating: Done, as before; nothing journaled for that sale
        ui.tap("done")
        shopper.wait_state(lambda s: s["state"] == "attract")
        ui.wait_screen("attract")
        assert [r["txn"] for r in _ratings(lane_env)] == [first["txn"]]
        return
    # shopper 2: a low face, then gone: the receipt timer ends the sale as it always did
    ui.tap("rate:1")
    st = shopper.wait_state(lambda s: s["rating_pending"] == 1)
    ui.sync(st)
    ui.wait_screen("receipt")
    shopper.wait_state(lambda s: s["state"] == "attract", timeout=60)  # timeouts.receipt_s
    ui.wait_screen("attract")
    later = _ratings(lane_env)
    assert [(r["txn"], r["rating"], r["reasons"]) for r in later] == [
        (first["txn"], 2, ["scanning", "too_slow"]), (second["txn"], 1, [])]
    assert isinstance(later[1]["scan_to_receipt_ms"], int)
