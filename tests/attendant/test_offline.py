"""Lanes and the store network apart (tests/attendant/conftest.py: real brokers, real cores).

* A lane whose broker goes away is shown unreachable: the store broker publishes its
  bridge's will (``kiosk/v1/<lane>/bridge`` = ``0``), which the station reads.
* With the store broker gone, a lane's own PIN pad still serves an age check: staff at the
  lane sign in with the sealed PIN and approve the item.
"""

from __future__ import annotations

import queue
import threading

from kiosk.bus.acl import STATION_USER, bridge_status_topic
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics
from tests.fixtures.sample_items import SOJU
from tests.integration.flow import send_pin

LANES = ("B1", "B2")


def test_a_lane_gone_is_shown_and_the_pin_pad_works_without_the_store(lanes, store):
    a1 = lanes["B1"]
    seen, links = threading.Event(), queue.Queue()
    watcher = BusClient(store.login(STATION_USER), "offline-watcher")
    watcher.subscribe(Topics("B1").state, lambda _t, _p: seen.set())
    watcher.subscribe(bridge_status_topic("B2"), lambda _t, p: links.put(p))
    assert watcher.start(wait_s=10)
    # both lanes were bridged: B1's state reached the store broker, B2's bridge said so
    assert seen.wait(15), "lane B1's state never reached the store broker"
    assert links.get(timeout=15) == b"1"
    lanes["B2"].broker.kill()  # lane B2 drops off: the store broker publishes its will
    assert links.get(timeout=60) == b"0"
    watcher.stop()
    store.proc.terminate()
    store.proc.wait(10)
    assert a1.shopper.send("scan", code=SOJU)["ok"]
    a1.shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert send_pin(a1.shopper, "2468", set())[1]["ok"]
    a1.shopper.wait_state(lambda s: (s.get("staff") or {}).get("name") == "Demo Supervisor")
    assert a1.shopper.send("attendant", action="approve_age")["ok"]
    a1.shopper.wait_state(lambda s: s["state"] == "shopping")
