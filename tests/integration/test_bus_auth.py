"""Hostile clients on the real broker, configured as the device's (auth, ACLs, client id =
username), against a real kiosk-core: each forgery gets nothing and the lane still sells."""

from __future__ import annotations

import json
import os
import queue
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from kiosk.bus.messages import ROOT, Topics, command
from tests.fixtures.sample_items import MILK
from tests.harness import (
    SAMPLE_CSV,
    CoreProcess,
    Shopper,
    bus_login,
    kiosk_cli,
    kiosk_env,
    start_broker,
)
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration



class Attacker:
    """A raw paho client: whatever credential and client id it is given, nothing else."""

    def __init__(self, port: int, username: str = "", password: str = "",
                 client_id: str = "attacker", subscribe: tuple[str, ...] = ()) -> None:
        self.connack: queue.Queue = queue.Queue()
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, m: self.received.put((m.topic, m.payload))
        self._subscribe = subscribe
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        self.reason = self.connack.get(timeout=10)

    def _on_connect(self, client, _userdata, _flags, reason, _props) -> None:
        if not reason.is_failure and self._subscribe:
            client.subscribe([(t, 1) for t in self._subscribe])  # one SUBSCRIBE packet
        self.connack.put(reason)

    def publish(self, topic: str, message: dict, retain: bool = False) -> None:
        # QoS 1: the broker has handled (routed or dropped) it once the PUBACK is back
        self.client.publish(topic, json.dumps(message), qos=1, retain=retain).wait_for_publish(5)

    def next_on(self, topic: str, timeout: float = 10) -> bytes:
        while True:
            got, payload = self.received.get(timeout=timeout)
            if got == topic:
                return payload

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def lane(tmp_path: Path, tmp_path_factory) -> Iterator[tuple[int, str, CoreProcess, Shopper]]:
    """A lane on its own broker with the device's settings (one session per username)."""
    port, broker = start_broker(tmp_path_factory.mktemp("device-broker"),
                                one_session_per_user=True)
    lane_id = f"H{os.getpid()}"
    env = kiosk_env(tmp_path / "kiosk-state", port, lane_id)
    done = kiosk_cli(env, "catalog", "import", str(SAMPLE_CSV))
    assert done.returncode == 0, done.stderr
    core = CoreProcess(env, tmp_path / "core.log").start()
    observer = Shopper(port, lane_id)  # the operator's tools: reads everything
    try:
        observer.wait_online()
        observer.wait_state(lambda s: s["state"] == "attract")
        yield port, lane_id, core, observer
    finally:
        observer.close()
        core.stop()
        broker.terminate()
        broker.wait(10)


def _barrier(observer: Shopper) -> dict:
    """A command round trip through the broker and kiosk-core: whatever an attacker sent
    before it has been delivered (or dropped) by the time its result is back."""
    observer.send("back")
    return observer.state


def _sells(port: int, lane_id: str) -> None:
    """A whole sale driven with the UI's own credential, as kiosk-ui does."""
    ui = Shopper(port, lane_id, username="kiosk-ui")
    try:
        assert ui.send("scan", code=MILK)["ok"]
        assert ui.send("checkout")["ok"]
        assert ui.send("pay", method="card")["ok"]
        assert to_receipt(ui)["payment"]["status"] == "approved"
        assert ui.send("done")["ok"]
    finally:
        ui.close()


def test_clients_without_a_valid_credential_are_refused(lane) -> None:
    port, lane_id, core, observer = lane
    ui_password = bus_login(port, "kiosk-ui").password
    for username, password in (("", ""), ("kiosk-core", ""), ("kiosk-core", "guess"),
                               ("kiosk-core", ui_password), ("intruder", "x")):
        attacker = Attacker(port, username, password, client_id=f"kiosk-core-{lane_id}")
        try:
            assert attacker.reason.is_failure, (username, attacker.reason)
        finally:
            attacker.close()
    _barrier(observer)
    # a status is republished (online, with reject counts) after refused commands; knocked
    # off, the broker would have published its will (offline) in between
    assert observer.statuses[0] and False not in observer.statuses, (
        "kiosk-core was knocked off the bus")
    _sells(port, lane_id)


def test_the_uis_credential_cannot_forge_state_door_or_identity(lane) -> None:
    port, lane_id, core, observer = lane
    topics = Topics(lane_id)
    ui_password = bus_login(port, "kiosk-ui").password
    attacker = Attacker(port, "kiosk-ui", ui_password, client_id=f"kiosk-core-{lane_id}",
                        subscribe=(topics.state, "#", f"{ROOT}/{lane_id}/cmd/#"))
    assert not attacker.reason.is_failure
    attacker.next_on(topics.state)  # the core's retained state: the subscriptions are active

    # a retained forged state, a door report on every command topic, a scan as the scanner
    forged = {"v": 1, "type": "state", "seq": 10**9, "state": "out_of_service",
              "forged": True}
    attacker.publish(topics.state, forged, retain=True)
    attacker.publish(topics.core_status, {"v": 1, "type": "core_status", "online": False},
                     retain=True)
    door = command("device", source="gpio", device="door", ok=False, detail="open")
    for service in ("ui", "gpio", "cli"):
        attacker.publish(topics.command_from(service), dict(door, id=f"door-{service}-0001"))
    attacker.publish(topics.command_from("scanner"),
                     command("scan", source="scanner", code=MILK))
    state = _barrier(observer)  # the operator's command crosses the bus meanwhile

    assert state["state"] == "attract" and state["faults"] == {} and state["lines"] == []
    assert "forged" not in state
    assert observer.statuses[0] and False not in observer.statuses
    # kiosk-core itself refused the door report that came on the UI's own topic
    assert "(not_allowed): device door-ui-0001 from 'ui'" in core.log()
    seen = []
    while not attacker.received.empty():
        seen.append(attacker.received.get_nowait()[0])
    assert topics.state in seen                                   # it reads what the UI may
    assert not [t for t in seen if "/cmd/from/" in t], seen       # but no one's commands
    attacker.close()

    # connecting with kiosk-core's client ids: the broker gives it "kiosk-ui" instead
    for client_id in (f"kiosk-core-{lane_id}", "kiosk-core"):
        takeover = Attacker(port, "kiosk-ui", ui_password, client_id=client_id,
                            subscribe=(topics.state,))
        assert not takeover.reason.is_failure
        retained = json.loads(takeover.next_on(topics.state))  # the core's, not the forgery
        assert "forged" not in retained and retained["state"] == "attract"
        takeover.close()
    _barrier(observer)
    assert observer.statuses[0] and False not in observer.statuses, (
        "kiosk-core was knocked off the bus")
    assert "bus disconnected" not in core.log()
    _sells(port, lane_id)
