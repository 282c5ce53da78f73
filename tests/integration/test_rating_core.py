"""kiosk-core and the shopper's rating (issue 18), over the real bus: a low rating is held
(``rating_pending`` on the state, nothing journaled) until its reasons come, and journaled
without them, just before the sale ends, when the shopper taps Done instead; the journal
then verifies (hash chain, replay, snapshots)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.journal.store import Journal
from tests.fixtures.sample_items import MILK
from tests.integration.flow import pay_by_phone, to_receipt

pytestmark = pytest.mark.integration



def test_a_low_rating_without_reasons_is_journaled_when_the_shopper_is_done(core, shopper,
                                                                             lane_env):
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("checkout")["ok"]
    pay_by_phone(shopper)
    sale = to_receipt(shopper, choice="print")
    assert sale["rating_pending"] is None
    assert shopper.send("rate", rating=2)["ok"]
    shopper.wait_state(lambda s: s["rating_pending"] == 2)
    assert shopper.send("rate", rating=1)["ok"]  # changed their mind before saying why
    shopper.wait_state(lambda s: s["rating_pending"] == 1)
    journal = Journal(Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite")
    try:
        assert journal.last_of("shopper_rating") is None
        assert shopper.send("done")["ok"]
        st = shopper.wait_state(lambda s: s["state"] == "attract")
        assert st["rating_pending"] is None
        rows = [e for e in journal.entries() if e.txn == sale["txn"]]
        kinds = [e.type for e in rows]
        assert kinds[-3:] == ["shopper_rating", "session_finished", "snapshot"]
        rated = rows[-3].data
        assert (rated["rating"], rated["reasons"], rated["by"]) == (1, [], "test")
        assert rated["approved_to_receipt_ms"] is not None  # the printed receipt's moment
        assert rated["scan_to_receipt_ms"] >= rated["approved_to_receipt_ms"]
        assert json.dumps(rated).count("masked_pan") == 0
        assert journal.verify()[1] == []
    finally:
        journal.close()
    # the next sale starts with nothing held
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("rate", rating=3)["reason"] == "not_allowed_now"
