"""The lane without the store network: its own PIN pad still serves an age check.

A real lane bridged to a real store broker (tests/attendant/conftest.py); the store broker
is stopped, and staff at the lane sign in with the sealed PIN and approve the item.
"""

from __future__ import annotations

import threading

from kiosk.bus.acl import STATION_USER
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics
from tests.integration.flow import send_pin

LANES = ("B1",)
SOJU = "8801048052745"          # 2.49, age restricted


def test_pin_pad_works_with_the_store_network_down(lanes, store):
    a1 = lanes["B1"]
    # the lane was bridged: its state reached the store broker
    seen = threading.Event()
    watcher = BusClient(store.login(STATION_USER), "offline-watcher")
    watcher.subscribe(Topics("B1").state, lambda _t, _p: seen.set())
    assert watcher.start(wait_s=10)
    assert seen.wait(15), "lane B1's state never reached the store broker"
    watcher.stop()
    store.proc.terminate()
    store.proc.wait(10)
    assert a1.shopper.send("scan", code=SOJU)["ok"]
    a1.shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert send_pin(a1.shopper, "2468", set())[1]["ok"]
    a1.shopper.wait_state(lambda s: (s.get("staff") or {}).get("name") == "Demo Supervisor")
    assert a1.shopper.send("attendant", action="approve_age")["ok"]
    a1.shopper.wait_state(lambda s: s["state"] == "shopping")
