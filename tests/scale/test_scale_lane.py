"""A weighed sale through the real stack: the scale simulator on a socat pty, ``kiosk scale
produce`` (the kiosk-scale service) reading it over pyserial and publishing on the test
broker, and a real kiosk-core pricing PLU items from that weight only. A moving, overloaded or
silent scale is refused with its reason (and a silent one is a device fault on the state);
the price matches a hand calculation in USD and in KRW (no minor unit)."""

from __future__ import annotations

import json
import os
import queue

import pytest

from kiosk.bus.client import BusClient
from tests.harness import Shopper, bus_login
from tests.scale.feed import ScaleFeed
from tests.scale.lane import start_scale_lane

KRW_CSV = """gtin,name_en,name_zh,name_ko,price,tax_class,age_restricted,sold_by_weight,plu
,Bananas,香蕉,바나나,3980,reduced,0,1,04011
"""


@pytest.fixture
def weighing_lane(tmp_path, broker_port, request):
    """(shopper, simulator) on a lane whose produce scale speaks ``protocol`` in ``currency``."""
    protocol, currency = request.param
    extra = {"KIOSK__SCALE__PRODUCE__PROTOCOL": protocol, "KIOSK__SCALE__PRODUCE__MIN_G": "5"}
    if currency == "KRW":
        extra.update({"KIOSK__STORE__CURRENCY__CODE": "KRW",
                      "KIOSK__STORE__CURRENCY__NUMERIC": "410",
                      "KIOSK__STORE__CURRENCY__EXPONENT": "0"})
    csv = tmp_path / "catalog.csv"
    csv.write_text(KRW_CSV if currency == "KRW" else KRW_CSV.replace("3980", "1.99"))
    for lane in start_scale_lane(tmp_path, broker_port,
                                 f"W{os.getpid()}{protocol[:3]}{currency}", "produce", csv,
                                 env=extra):
        yield lane.shopper, lane.sim, lane.feed, currency


def _buy(shopper: Shopper, feed: ScaleFeed, status: str, grams: int | None) -> dict:
    """Once kiosk-scale published the reading, buy bananas by PLU. The core heard the same
    message a moment earlier or later: while it still answers from the last one, the next
    message (kiosk-scale repeats each reading every second) is waited for and it is asked
    again."""
    def now(msg: dict) -> bool:
        return msg["status"] == status and msg["weight_g"] == grams

    feed.wait(now)
    for _ in range(5):
        result = shopper.send("add_plu", plu="4011")
        if result["ok"] or result["reason"] == REFUSED.get(status):
            return result
        feed.wait(now)
    return result


REFUSED = {"motion": "scale_motion", "over_capacity": "scale_over_capacity",
           "no_response": "scale_no_response", "under_zero": "scale_under_zero"}


@pytest.mark.parametrize("weighing_lane", [("mettler8217", "KRW"), ("magellan", "USD")],
                         indirect=True)
def test_only_the_scales_settled_weight_prices_an_item(weighing_lane):
    shopper, sim, feed, currency = weighing_lane
    sim.set_motion(True)
    assert _buy(shopper, feed, "motion", None)["reason"] == "scale_motion"
    sim.set_motion(False)
    sim.set_weight(15_500)  # over the simulated scale's 15 kg
    assert _buy(shopper, feed, "over_capacity", None)["reason"] == "scale_over_capacity"
    sim.set_weight(1234)
    result = _buy(shopper, feed, "stable", 1234)
    assert result["ok"], result
    state = shopper.wait_state(lambda s: len(s["lines"]) == 1)
    (line,) = state["lines"]
    assert line["weight_g"] == 1234
    # by hand: USD 199 x 1.234 = 245.566 -> 246 cents; KRW 3980 x 1.234 = 4911.32 -> 4911
    assert line["amount"] == (4911 if currency == "KRW" else 246)
    refused = shopper.send("add_plu", plu="4011", weight_g=500)
    assert refused["reason"] == "weight_from_scale"  # a lane with a scale takes no other
    # forged or broken scale messages (only kiosk-scale may write there): refused, counted,
    # and the lane carries on with the real readings
    forger = BusClient(bus_login(feed.client.port, "kiosk-scale"), f"test-forger-{os.getpid()}")
    assert forger.start(wait_s=10)
    statuses: queue.Queue[dict] = queue.Queue()
    watcher = BusClient(bus_login(feed.client.port), f"test-status-{os.getpid()}")
    watcher.subscribe(shopper.topics.core_status, lambda _t, p: statuses.put(json.loads(p)))
    assert watcher.start(wait_s=10)
    topic = shopper.topics.scale("produce")
    for bad in (b"{not json", b'{"v":1,"type":"scale","scale":"produce","online":true,'
                b'"status":"motion","weight_g":5000}',
                b'{"v":1,"type":"scale","scale":"produce","online":true,"status":"stable",'
                b'"weight_g":-3}'):
        forger.publish(topic, bad).wait_for_publish(5)
    while sum((statuses.get(timeout=15).get("rejected") or {}).get(topic, {}).values()) < 3:
        pass  # kiosk-core counts each refusal on its status (at most once a second)
    forger.stop()
    watcher.stop()
    # a scale that stops answering: a device fault on the state, and nothing is priced
    sim.set_silent(True)
    assert _buy(shopper, feed, "no_response", None)["reason"] == "scale_no_response"
    shopper.wait_state(lambda s: s["faults"].get("scale_produce") == "no_response")
    sim.set_silent(False)
    sim.set_weight(800)
    assert _buy(shopper, feed, "stable", 800)["ok"]
    shopper.wait_state(lambda s: "scale_produce" not in s["faults"] and len(s["lines"]) == 2)
