"""Hostile and repeated commands against the real kiosk-core process on the real broker.

* a nested command (1,000 unclosed brackets), published retained: the core keeps
  running, ignores it on restart, clears it, and the lane still sells;
* a replayed command id, after 10,000 other commands and a SIGKILL restart, gets
  exactly its first answer (ok, reason, seq) and changes nothing;
* a flood of 21,000 bad commands leaves a short log, is counted per reason on
  the retained core status, and the lane still sells.
"""

from __future__ import annotations

import math
import queue
import threading
import time

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import encode, parse_core_status, parse_state
from kiosk.bus.rejects import LINES_PER_WINDOW, WINDOW_S
from tests.fixtures.sample_items import CUP_NOODLES, KIMCHI, MILK, SOJU
from tests.harness import Shopper, bus_login, core_forger
from tests.integration.flow import send_pin, to_receipt

pytestmark = pytest.mark.integration

NESTED = b"[" * 1000  # 1,000 bytes: deep enough for json's RecursionError


def _sell(shopper: Shopper) -> None:
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("checkout")["ok"]
    assert shopper.send("pay", method="card")["ok"]
    to_receipt(shopper)


class CommandWatcher:
    """Subscribes to the command topic and sees each message with its retain flag."""

    def __init__(self, port: int, topic: str) -> None:
        self.topic = topic
        self.seen: queue.Queue[tuple[bytes, bool]] = queue.Queue()
        self.client = BusClient(bus_login(port), f"test-cmd-watch-{id(self)}")
        self.client.subscribe(topic, lambda _t, p, r: self.seen.put((p, r)), with_retain=True)
        assert self.client.start(wait_s=10)

    def retained_before_marker(self) -> list[bytes]:
        """Retained messages the broker still holds: they arrive on subscription, before
        a marker (an empty, not retained message) published after it."""
        # a marker that is not JSON would count as a rejected message: an empty one is not
        self.client.publish(self.topic, b"", retain=False).wait_for_publish(5)
        retained = []
        while True:
            payload, retain = self.seen.get(timeout=10)
            if retain:
                retained.append(payload)
            elif payload == b"":
                return retained

    def close(self) -> None:
        self.client.stop()


def test_retained_nested_command_neither_kills_the_core_nor_survives_a_restart(
        lane_env, shopper, start_core, broker_port):
    core = start_core()
    shopper.wait_online()
    shopper.client.publish(shopper.command_topic, NESTED, retain=True).wait_for_publish(5)
    assert shopper.send("scan", code=KIMCHI)["ok"]  # the live core read it, and goes on
    assert core.proc.poll() is None
    assert shopper.send("cancel")["ok"]
    core.stop()
    shopper.wait_online(False)
    core = start_core()  # the broker hands the retained command to the new subscription
    shopper.wait_online()
    _sell(shopper)
    assert core.proc.poll() is None
    watcher = CommandWatcher(broker_port, shopper.command_topic)
    try:
        assert watcher.retained_before_marker() == []  # the core cleared it
    finally:
        watcher.close()
    core.stop()
    logs = "".join(p.read_text() for p in sorted(core.log_path.parent.glob("core-*.log")))
    assert "Traceback" not in logs
    assert "(too_deep)" in logs and "(retained)" in logs


def test_a_replayed_command_gets_its_first_answer_after_10000_others_and_a_restart(
        lane_env, shopper, start_core):
    core = start_core()
    shopper.wait_online()
    scan = encode({"v": 1, "type": "scan", "id": "replay-scan-1", "source": "test",
                   "code": MILK})
    refused = encode({"v": 1, "type": "receipt", "id": "replay-refused-1", "source": "test",
                      "choice": "print"})
    shopper.send_raw(scan)
    first_scan = shopper.wait_result("replay-scan-1")
    shopper.send_raw(refused)
    first_refused = shopper.wait_result("replay-refused-1")
    assert first_scan["ok"] and first_scan["seq"] > 0
    assert not first_refused["ok"] and first_refused["reason"]
    lines = shopper.wait_state(lambda s: len(s["lines"]) == 1)["lines"]

    # 10,000 other commands of the same basket, accepted and rejected ones
    last = ""
    for i in range(10_000):
        kind = ("touch", {}) if i % 2 else ("receipt", {"choice": "none"})
        last = f"other-{i:05d}"
        shopper.client.publish(shopper.command_topic,
                               {"v": 1, "type": kind[0], "id": last, "source": "test",
                                **kind[1]})
        if i % 500 == 499:  # the broker queues only so many for the core: keep pace with it
            shopper.wait_result(last, timeout=120)

    def replay() -> None:
        for payload, first in ((scan, first_scan), (refused, first_refused)):
            shopper.send_raw(payload)
            assert shopper.wait_result(first["id"]) == first
        assert shopper.send("touch")["ok"]  # a later command: the state has settled
        assert shopper.state["lines"] == lines

    replay()
    core.kill9()
    shopper.wait_online(False)  # the old core's last will: else its "online" is still seen
    core = start_core()
    shopper.wait_online()
    replay()


def test_a_flood_of_bad_commands_is_counted_and_barely_logged(lane_env, shopper, start_core,
                                                              broker_port):
    core = start_core()
    shopper.wait_online()
    statuses: queue.Queue[dict] = queue.Queue()
    watcher = BusClient(bus_login(broker_port), "test-status-watch")
    watcher.subscribe(shopper.topics.core_status,
                      lambda _t, p: statuses.put(parse_core_status(p)))
    assert watcher.start(wait_s=10)
    kinds = {
        "not_json": lambda i: f"garbage {i}".encode(),
        "too_deep": lambda i: b"[" * 20 + str(i).encode(),
        "unknown_type": lambda i: encode({"v": 1, "type": "refund", "id": f"u{i:06d}",
                                          "source": "ui"}),
        "invalid": lambda i: encode({"v": 1, "type": "scan", "id": f"i{i:06d}",
                                     "source": "ui", "code": "bad code"}),
    }
    names = sorted(kinds)
    started = time.monotonic()
    for i in range(21_000):
        shopper.client.publish(shopper.command_topic, kinds[names[i % 4]](i))
        if i % 500 == 499:  # the broker queues only so many for the core: keep pace with it
            shopper.send("touch", timeout=120)
    want = {name: 21_000 // 4 for name in names}
    topic = shopper.command_topic
    try:
        while True:  # wait for the counts on the retained status (sent at most once a second)
            counts = statuses.get(timeout=60).get("rejected", {}).get(topic, {})
            if {name: counts.get(name) for name in names} == want:
                break
        _sell(shopper)  # and the lane still sells
    finally:
        watcher.stop()
    windows = math.ceil((time.monotonic() - started) / WINDOW_S) + 1
    core.stop()
    log = core.log().splitlines()
    rejected = [ln for ln in log if "rejected message on" in ln]
    assert len(rejected) <= len(kinds) * (LINES_PER_WINDOW + 1) * windows
    for name in names:
        assert sum(f"({name})" in ln for ln in rejected) >= LINES_PER_WINDOW
    suppressed = [int(ln.split("): ")[1].split()[0]) for ln in rejected if "not logged" in ln]
    assert sum(suppressed) + len(rejected) - len(suppressed) == 21_000  # summaries add up
    assert len(log) < 100 + len(rejected)


def test_every_state_of_a_sale_passes_the_one_schema(lane_env, shopper, core):
    """The schema subscribers read through accepts what kiosk-core really publishes."""
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    for _ in range(3):
        assert shopper.send("scan", code=CUP_NOODLES)["ok"]  # 3 for 2: a discount line
    assert shopper.send("add_plu", plu="04011", weight_g=1234)["ok"]
    assert shopper.send("scan", code=SOJU)["ok"]  # age restricted: the attendant
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert send_pin(shopper, "2468", set())[1]["ok"]
    assert shopper.send("attendant", action="approve_age")["ok"]
    assert shopper.send("checkout")["ok"]
    assert shopper.send("pay", method="card")["ok"]
    to_receipt(shopper)
    assert shopper.send("done")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attract" and s["txn"] is None)
    seen = set()
    while not shopper.states.empty():
        state = shopper.states.get_nowait()
        assert parse_state(encode(state)) == state
        seen.add(state["state"])
    assert seen >= {"attract", "shopping", "attendant_needed", "payment", "authorizing",
                    "approved", "receipt"}


def test_the_ui_bridge_drops_malformed_states_and_follows_the_core(lane_env, shopper, core,
                                                                   broker_port):
    from kiosk.ui.bridge import BusBridge

    shopper.wait_online()
    states: queue.Queue[dict] = queue.Queue()
    online: queue.Queue[bool | None] = queue.Queue()
    bridge = BusBridge(bus_login(broker_port, "kiosk-ui"), lane_env["KIOSK__STORE__LANE_ID"],
                       post=lambda fn: fn(), on_state=states.put, on_online=online.put,
                       on_result=lambda _msg: None)
    bridge.start()
    try:
        assert states.get(timeout=10)["state"] == "attract"  # the retained one
        assert online.get(timeout=10) is True
        topic = shopper.topics.state
        forger = core_forger(broker_port)
        for bad in (b"[" * 1000, b"not json", encode({"v": 1, "type": "state", "seq": 1}),
                    encode({"v": 1, "type": "state", "seq": 1, "state": "shopping",
                            "payment": {"amount": "9.99"}})):
            forger.publish(topic, bad).wait_for_publish(5)
        forger.publish(shopper.topics.core_status,
                       encode({"v": 1, "type": "core_status", "online": "yes"})
                       ).wait_for_publish(5)
        forger.stop()
        assert shopper.send("scan", code=MILK)["ok"]
        # the next state the bridge hands over is the core's, not one of the bad ones
        assert states.get(timeout=10)["lines"][0]["gtin"].endswith(MILK)
        assert online.empty()
        assert bridge.rejects.total() == 5
        assert len(shopper.invalid_states) == 4  # the test's own subscriber saw them too
        shopper.invalid_states.clear()
    finally:
        bridge.stop()


def test_an_error_while_handling_one_message_does_not_stop_the_loop(lane_env, shopper,
                                                                     monkeypatch):
    for key, value in lane_env.items():
        if key.startswith("KIOSK"):
            monkeypatch.setenv(key, value)
    from kiosk.config import load_config
    from kiosk.services.core import CoreService
    from kiosk.sim.payments import lane_methods

    made: queue.Queue[CoreService] = queue.Queue()
    stop = threading.Event()

    def run() -> None:  # SQLite wants its connection used on the thread that made it
        service = CoreService(config := load_config(), lane_methods(config))
        made.put(service)
        service.run(stop)

    loop = threading.Thread(target=run, name="core-loop")
    loop.start()
    try:
        service = made.get(timeout=30)
        shopper.wait_online()
        service.inbox.put(("printed", "not a print result"))  # an answer no handler expects
        assert shopper.send("scan", code=MILK)["ok"]
        assert loop.is_alive()
    finally:
        stop.set()
        loop.join(15)
