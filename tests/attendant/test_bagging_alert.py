"""A bagging-area alert seen and cleared from the attendant station: a lane with the
simulated bagging scale (its own broker bridged over TLS to the real store broker, a real
kiosk-core and kiosk-scale) has an item bagged without a scan; the station's board shows the
"unexpected item" alert on that lane with its wait; an attendant's signed ``clear`` from the
station is the override: the lane goes back to shopping and journals both the override
(``bagging_cleared``) and the remote command with the attendant's id."""

from __future__ import annotations

import time

import pytest

from kiosk.bus.acl import lane_user
from kiosk.bus.bridge import StoreLink, bridge_text
from kiosk.bus.broker import credentials_dir
from kiosk.bus.credentials import read_password
from kiosk.security.remote import open_session
from tests.bagging.lane import start_lane
from tests.harness import start_broker

LANES = ("B1",)
WAIT_S = 15


@pytest.fixture(scope="module")
def bagging_lane(rig_dir, store, station_keys):
    link = StoreLink("127.0.0.1", store.port, store.cafile,
                     read_password(lane_user("B1"), credentials_dir(store.workdir)))
    port, broker = start_broker(rig_dir / "bus-B1", extra_conf=bridge_text("B1", link))
    try:
        yield from start_lane(rig_dir / "lane-B1", port, "B1",
                              KIOSK__ATTENDANT__STATION_KEY=str(station_keys[1]))
    finally:
        broker.terminate()
        broker.wait(10)


def _board_lane(station, predicate) -> dict:
    """B1 as the station's board shows it, once ``predicate`` holds (the board is fed by
    the store broker: it has no event to wait on)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        seen = {v["lane"]: v for v in station.board.lanes()}.get("B1")
        if seen is not None and predicate(seen):
            return seen
        assert time.monotonic() < deadline, f"the station shows B1 as {seen}"
        time.sleep(0.05)


def test_unexpected_item_reaches_the_station_and_its_clear_is_the_override(bagging_lane,
                                                                          station):
    lane = bagging_lane
    lane.sim.set_weight(0)
    lane.feed.wait(lambda m: m["status"] == "stable" and m["weight_g"] == 0)
    assert lane.shopper.send("start")["ok"]
    lane.shopper.wait_state(lambda s: s["state"] == "shopping" and s["txn"])
    _board_lane(station, lambda v: v["state"] == "shopping")

    lane.sim.set_weight(800)  # something bagged, nothing scanned
    lane.shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    shown = _board_lane(station, lambda v: any(a["type"] == "unexpected_item"
                                               for a in v["alerts"]))
    (alert,) = [a for a in shown["alerts"] if a["type"] == "unexpected_item"]
    assert alert["since"] > 0

    session = open_session(station.key, "S100", "Demo Supervisor")
    answer = station.board.send(session, "B1", "clear")
    assert answer["ok"], answer
    lane.shopper.wait_state(lambda s: s["state"] == "shopping" and not s["alerts"])
    _board_lane(station, lambda v: not v["alerts"])
    events = lane.journal("bagging_alert", "bagging_cleared", "remote_command")
    # the command is journaled as it arrives, then what it did
    assert [e["type"] for e in events] == ["bagging_alert", "remote_command", "bagging_cleared"]
    assert events[0]["kind"] == "unexpected_item"
    assert (events[1]["action"], events[1]["staff_id"], events[1]["ok"]) == ("clear", "S100",
                                                                            True)
    assert events[2]["staff_id"] == "S100"
    assert lane.shopper.send("cancel")["ok"]
