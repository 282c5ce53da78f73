"""Staff sign-in on the real broker with the real kiosk-core: the PIN never crosses the
bus, a captured sign-in cannot be replayed, the lockout outlives a restart, badges lock
out too, and the scrypt check runs off kiosk-core's main loop."""

from __future__ import annotations

import queue

import pytest

from kiosk.bus.messages import command, encode
from kiosk.journal.store import Journal
from kiosk.security.pinseal import staff_pin_command
from kiosk.security.staff import DEMO_BADGE, DEMO_PIN, hash_secret
from tests.fixtures.sample_items import BEER  # age restricted: the lane calls for staff
from tests.harness import kiosk_cli
from tests.integration.flow import Sniffer, fresh_seal, send_pin

pytestmark = pytest.mark.integration

PIN = "860251379"                 # long enough never to turn up in a timestamp or an id
MEMBERS = (f'[{{id = "S7", name = "Night Lead", pin_hash = "{hash_secret(PIN)}",'
           f' badge_hash = "{hash_secret("STAFF:S7-0042")}"}}]')


def call_staff(shopper) -> dict:
    shopper.wait_online()
    shopper.wait_state(lambda s: s["state"] in ("attract", "shopping"))
    assert shopper.send("scan", code=BEER)["ok"]
    return shopper.wait_state(lambda s: s["state"] == "attendant_needed")


def signed_in(lane_env) -> int:
    journal = Journal(lane_env["KIOSK__PATHS__STATE_DIR"] + "/journal.sqlite")
    try:
        return sum(e.type == "staff_signed_in" for e in journal.entries())
    finally:
        journal.close()


def test_no_pin_on_the_bus_and_a_captured_sign_in_cannot_be_replayed(
        start_core, shopper, sniffer, lane_env):
    core = start_core(KIOSK__STAFF__MEMBERS=MEMBERS)
    used: set[str] = set()
    call_staff(shopper)
    msg, result = send_pin(shopper, PIN, used)
    assert result["ok"], result
    st = shopper.wait_state(lambda s: s["staff"] is not None)
    assert st["staff"]["id"] == "S7"
    [captured] = sniffer.commands("staff_pin")
    assert all(PIN.encode() not in p for p in sniffer.payloads)
    assert PIN not in core.log()

    # staff leave; the lane calls them again; the eavesdropper replays what it saw
    assert shopper.send("attendant", action="approve_age")["ok"]
    assert shopper.send("help")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attendant_needed" and s["staff"] is None)
    seal = fresh_seal(shopper, used)
    shopper.send_raw(captured)                                   # as captured
    shopper.wait_result(msg["id"])
    for forged in (dict(msg, id="replay-0001"),                  # under a new id
                   dict(msg, id="replay-0002", challenge=seal["challenge"])):  # and challenge
        shopper.send_raw(encode(forged))
        assert shopper.wait_result(forged["id"])["reason"] in ("pin_stale", "pin_unreadable")
    assert signed_in(lane_env) == 1
    assert shopper.state["staff"] is None
    _, result = send_pin(shopper, PIN, used)                     # the real staff still can
    assert result["ok"]
    assert shopper.wait_state(lambda s: s["staff"] is not None)["staff"]["id"] == "S7"
    assert signed_in(lane_env) == 2


def test_five_wrong_pins_stay_locked_across_a_restart(start_core, shopper, lane_env):
    core = start_core()
    used: set[str] = set()
    call_staff(shopper)
    for _ in range(5):
        _, result = send_pin(shopper, "1357", used)
        assert result["ok"]
    assert shopper.wait_state(lambda s: s["seq"] >= result["seq"])["notice"] == "pin_locked"
    used.add(shopper.state["staff_seal"]["challenge"])  # the old core's last offer
    assert core.stop() == 0
    start_core()
    before = signed_in(lane_env)
    _, result = send_pin(shopper, DEMO_PIN, used)                # the right PIN, still locked
    assert result["ok"]
    st = shopper.wait_state(lambda s: s["seq"] >= result["seq"])
    assert (st["notice"], st["staff"]) == ("pin_locked", None)
    # badges count on their own: a PIN lockout does not stop a real badge...
    assert shopper.send("scan", code=DEMO_BADGE)["ok"]
    assert shopper.wait_state(lambda s: s["staff"] is not None)["staff"]["id"] == "S100"
    assert signed_in(lane_env) == before + 1
    assert shopper.send("attendant", action="approve_age")["ok"]
    # ...but five unknown badges lock badge scans out, the real one included
    assert shopper.send("help")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attendant_needed" and s["staff"] is None)
    for attempt in range(5):
        result = shopper.send("scan", code=f"STAFF:S100-{attempt:04d}")
        assert result["ok"]
    st = shopper.wait_state(lambda s: s["seq"] >= result["seq"])
    assert st["notice"] == "badge_locked"
    result = shopper.send("scan", code=DEMO_BADGE)
    st = shopper.wait_state(lambda s: s["seq"] >= result["seq"])
    assert (st["notice"], st["staff"]) == ("badge_locked", None)


@pytest.fixture
def core_service(lane_env, monkeypatch):
    for key, value in lane_env.items():
        if key.startswith("KIOSK"):
            monkeypatch.setenv(key, value)
    from kiosk.config import load_config
    from kiosk.services.core import CoreService
    from kiosk.sim.payments import lane_methods

    service = CoreService(config := load_config(), lane_methods(config))
    service.bus.start(wait_s=10)
    yield service
    service.bus.stop()
    service.journal.close()


def test_the_pin_check_runs_off_the_main_loop_and_keeps_command_order(core_service):
    core = core_service
    results: queue.Queue[dict] = queue.Queue()
    core.bus.publish = lambda topic, msg, **kw: (  # type: ignore[method-assign]
        results.put(msg) if topic == core.topics.result else None)
    assert core.handle_command(encode(command("scan", code=BEER)))["ok"]
    assert core.state.state == "attendant_needed"
    results.get_nowait()
    pin = staff_pin_command(DEMO_PIN, core.pins.offer(), source="test")
    after = command("attendant", action="approve_age")
    # the main loop is free at once: neither command is answered yet
    assert core.handle_command(encode(pin)) is None
    assert core.handle_command(encode(after)) is None
    assert core.handle_command(encode(pin)) is None                # its duplicate waits too
    kind = ""
    while kind != "staff_checked":                                 # the worker's answer
        kind, item = core.inbox.get(timeout=30)
    core._dispatch(kind, item)
    answered = [results.get_nowait() for _ in range(3)]
    assert [r["id"] for r in answered] == [pin["id"], after["id"], pin["id"]]
    assert [r["ok"] for r in answered] == [True, True, True]
    assert answered[0]["seq"] == answered[2]["seq"]
    assert core.state.state == "shopping"


def test_a_device_refuses_the_demo_staff_and_an_empty_list(lane_env):
    device = dict(lane_env, KIOSK__SECURITY__PRODUCTION="true", KIOSK__DEVICES__SCANNER="camera",
                  KIOSK__DEVICES__PRINTER="escpos", KIOSK__DEVICES__PAYMENT="card",
                  KIOSK__PAYMENTS__METHODS='["card"]')
    for args in (("core",), ("config", "check")):
        done = kiosk_cli(device, *args, timeout=60)
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert "demo credentials" in line and "S100 PIN, S100 badge" in line
    done = kiosk_cli(dict(device, KIOSK__STAFF__MEMBERS="[]"), "core")
    [line] = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "no staff configured" in line
    done = kiosk_cli(dict(device, KIOSK__STAFF__MEMBERS=MEMBERS), "config", "check")
    assert done.returncode == 0, done.stderr


def test_the_demo_pin_line_seals_the_pin(tmp_path):
    """`kiosk run`'s ``pin 2468`` signs staff in like the PIN pad: sealed, never in clear."""
    from kiosk.bus.broker import private_login
    from tests.card.test_card_demo import Demo

    demo = Demo(tmp_path, "--sim-payments")
    sniffer = None
    try:
        demo.expect("state: [attract]")
        # `kiosk run` started its own broker, with its passwords in the state dir
        sniffer = Sniffer(demo.port, private_login(tmp_path / "broker", demo.port, "kiosk-cli"))
        demo.type(BEER)
        demo.expect("[attendant_needed [age_restricted]]")
        demo.type("pin 1111")
        demo.expect("(pin_wrong)")
        demo.type(f"pin {DEMO_PIN}")
        demo.type("approve")
        demo.expect("state: [shopping]")
        assert len(sniffer.commands("staff_pin")) == 2
        assert all(b'"pin"' not in p and b"1111" not in p for p in sniffer.commands("staff_pin"))
    finally:
        if sniffer is not None:
            sniffer.close()
        assert demo.quit() == 0
