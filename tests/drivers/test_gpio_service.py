"""kiosk-gpio on gpiozero's mock pins, a real mosquitto and a real kiosk-core process.

Tests drive the input pins (help button, door switch, keypad) the way the
hardware would and assert the tower-light pins, the buzzer pin, the messages on
the bus and the checkout state the core ends up in.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator

import pytest
from kiosk_drivers.gpio.config import BuzzerConfig, GpioConfig, KeypadConfig, LightConfig

from kiosk.bus.client import BusClient
from kiosk.bus.light import Light
from kiosk.bus.messages import Topics
from kiosk.services.gpio import GpioService
from tests.drivers.gpio_pins import SwitchPin, eventually, mock_factory, transitions
from tests.fixtures.sample_items import MILK
from tests.harness import bus_login, core_forger

pytestmark = pytest.mark.integration

CONFIG = GpioConfig(pin_factory="mock", help_button=23, door_switch=24,
                    light=LightConfig(green=17, amber=27, red=22, blink_on_s=0.05,
                                      blink_off_s=0.05),
                    buzzer=BuzzerConfig(pin=18, kind="passive"),
                    keypad=KeypadConfig(up=5, down=6, select=13, back=19))


class Listener:
    """A bus client that collects every message on some topics."""

    def __init__(self, port: int, topics: list[str]) -> None:
        self.messages: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.client = BusClient(bus_login(port), f"test-listener-{id(self)}")
        for topic in topics:
            self.client.subscribe(topic, lambda t, p: self.messages.put((t, json.loads(p))))
        # subscribed last: once a probe comes back, the broker has every subscription above
        probe_topic = f"{Topics('probe').bench[:-1]}{id(self)}"
        probed = threading.Event()
        self.client.subscribe(probe_topic, lambda t, p: probed.set())
        assert self.client.start(wait_s=10)
        self.client.publish(probe_topic, {"probe": True})
        assert probed.wait(10), "listener subscriptions never became active"

    def next(self, match, timeout: float = 10) -> dict:
        while True:
            topic, msg = self.messages.get(timeout=timeout)
            if match(topic, msg):
                return msg


@pytest.fixture
def gpio(lane_env, broker_port) -> Iterator[GpioService]:
    factory = mock_factory()
    factory.pin(CONFIG.door_switch, pin_class=SwitchPin)  # the reed switch of a shut door
    service = GpioService(CONFIG, lane_env["KIOSK__STORE__LANE_ID"],
                          bus_login(broker_port, "kiosk-gpio"), factory=factory)
    assert service.start(wait_s=10)
    assert not service.door_open
    yield service
    service.stop()


def _lamps(gpio: GpioService) -> dict[str, bool]:
    lc = CONFIG.light
    return {c: bool(gpio.factory.pin(getattr(lc, c)).state) for c in ("green", "amber", "red")}


def _press(gpio: GpioService, pin: int) -> None:
    p = gpio.factory.pin(pin)
    p.drive_low()
    p.drive_high()


def test_help_button_calls_help_and_the_light_blinks_amber(core, shopper, gpio):
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    # attract is green too: wait until the service has seen the shopping state itself
    eventually(lambda: (gpio.state or {}).get("state") == "shopping", what="shopping seen")
    eventually(lambda: gpio.light.current == Light("green"), what="green while shopping")
    # a good read winks the green lamp; it comes back on
    eventually(lambda: _lamps(gpio) == {"green": True, "amber": False, "red": False},
               what="only green lit")
    _press(gpio, CONFIG.help_button)
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["attendant"]["reason"] == "help"
    eventually(lambda: gpio.light.current == Light("amber", blink=True), what="amber blink")
    amber = gpio.factory.pin(CONFIG.light.amber)
    amber.clear_states()
    eventually(lambda: transitions(amber) >= 4, what="the amber lamp blinking")
    assert not _lamps(gpio)["green"] and not _lamps(gpio)["red"]
    # staff sign in with a badge and clear the call: back to green
    assert shopper.send("scan", code="STAFF:S100-7731")["ok"]
    assert shopper.send("attendant", action="clear")["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    eventually(lambda: _lamps(gpio) == {"green": True, "amber": False, "red": False},
               what="green after the call is cleared")


def test_help_button_is_not_sent_where_the_core_would_refuse_it(core, shopper, gpio,
                                                                broker_port, lane_env):
    listener = Listener(broker_port, [gpio.topics.command_from("gpio"), gpio.topics.keypad])
    shopper.wait_online()
    # help is already called: the core would refuse a second one (help is accepted on
    # every other shopper screen, attract included)
    assert shopper.send("help")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    eventually(lambda: gpio.state is not None and gpio.state["state"] == "attendant_needed")
    _press(gpio, CONFIG.help_button)
    _press(gpio, CONFIG.keypad.up)  # a marker published after the (absent) help command
    topic, msg = listener.messages.get(timeout=10)
    while topic == gpio.topics.command_from("gpio") and msg["type"] == "device":
        assert msg["ok"]  # the door (shut) is reported whenever the core comes up
        topic, msg = listener.messages.get(timeout=10)
    assert (topic, msg) == (gpio.topics.keypad, {"v": 1, "type": "keypad", "key": "up"})
    listener.client.stop()


def test_door_open_turns_red_sounds_the_alarm_and_closes_the_lane(core, shopper, gpio,
                                                                  broker_port):
    listener = Listener(broker_port, [gpio.topics.command_from("gpio")])
    shopper.wait_online()
    eventually(lambda: gpio.light.current == Light("green"), what="green in attract")
    buzzer = gpio.factory.pin(CONFIG.buzzer.pin)
    door = gpio.factory.pin(CONFIG.door_switch)
    door.open_switch()  # the door opens
    msg = listener.next(lambda t, m: m["type"] == "device" and not m["ok"])
    assert (msg["device"], msg["detail"], msg["source"]) == ("door", "open", "gpio")
    assert gpio.light.current == Light("red")  # at once, locally
    assert _lamps(gpio) == {"green": False, "amber": False, "red": True}
    eventually(lambda: buzzer.state > 0 and gpio.buzzer.alarm, what="alarm sounding")
    st = shopper.wait_state(lambda s: s["state"] == "out_of_service")
    assert st["faults"] == {"door": "open"}
    door.close_switch()  # shut again
    msg = listener.next(lambda t, m: m["type"] == "device" and m["ok"])
    assert msg["detail"] == "closed"
    shopper.wait_state(lambda s: s["state"] == "attract" and not s["faults"])
    eventually(lambda: gpio.light.current == Light("green"), what="green after closing")
    eventually(lambda: buzzer.state == 0, what="alarm silent")
    listener.client.stop()


def test_malformed_and_forged_states_are_dropped_and_the_light_stays(core, shopper, gpio,
                                                                     broker_port):
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    genuine = shopper.wait_state(lambda s: s["state"] == "shopping")
    eventually(lambda: (gpio.state or {}).get("seq") == genuine["seq"], what="shopping seen")
    eventually(lambda: gpio.light.current == Light("green"), what="green while shopping")
    base = {"v": 1, "type": "state", "seq": genuine["seq"] + 1, "state": "shopping"}
    bad_states = [
        dict(base, attendant="help"),                # crashed light_for (a str has no .get)
        dict(base, faults=5),
        dict(base, state="out_of_service", seq="9"),  # forged, with a seq of the wrong type
        dict(base, lines=[{"line_id": 1}]),
        dict(base, v=2),
    ]
    forger = core_forger(broker_port)
    sent = [forger.publish(gpio.topics.state, msg, retain=True) for msg in bad_states]
    sent.append(forger.publish(gpio.topics.state, b"[" * 1000, retain=True))
    sent.append(forger.publish(gpio.topics.core_status,  # "online": 0 read as offline before
                               {"v": 1, "type": "core_status", "online": 0}))
    for info in sent:
        info.wait_for_publish(5)
    forger.stop()
    dropped = len(bad_states) + 2
    eventually(lambda: gpio.rejects.total() == dropped, what="every bad message dropped")
    assert gpio.state == genuine and gpio.core_online is True
    assert gpio.current_light() == gpio.light.current == Light("green")
    eventually(lambda: _lamps(gpio) == {"green": True, "amber": False, "red": False},
               what="only green lit (after the good read's wink)")
    counts = gpio.rejects.snapshot()
    assert sum(counts[gpio.topics.state].values()) == dropped - 1
    assert counts[gpio.topics.core_status] == {"invalid": 1}
    # nothing is broken: the door still turns the light red and back, the lane still sells
    door = gpio.factory.pin(CONFIG.door_switch)
    door.open_switch()
    assert gpio.light.current == Light("red")
    door.close_switch()
    shopper.wait_state(lambda s: s.get("faults") == {} and isinstance(s["seq"], int)
                       and s["seq"] > genuine["seq"] + 1)
    assert shopper.send("scan", code=MILK)["ok"]
    eventually(lambda: sum(ln["qty"] for ln in (gpio.state or {}).get("lines", [])) == 2,
               what="the next genuine state followed")
    eventually(lambda: gpio.light.current == Light("green"), what="green again")
    assert len(shopper.invalid_states) == len(bad_states) + 1  # the test's subscriber too
    shopper.invalid_states.clear()


def test_core_offline_is_red(core, shopper, gpio):
    shopper.wait_online()
    eventually(lambda: gpio.light.current == Light("green"), what="green with the core up")
    core.stop()
    shopper.wait_online(False)
    eventually(lambda: gpio.light.current == Light("red"), what="red with the core down")
    assert _lamps(gpio)["red"] and not _lamps(gpio)["green"]


def test_scan_feedback_beeps_good_and_bad(core, shopper, gpio):
    shopper.wait_online()
    # the core status is subscribed last: once it is here, so are the feedback events
    eventually(lambda: gpio.core_online is True, what="gpio service hearing the core")
    buzzer = gpio.factory.pin(CONFIG.buzzer.pin)
    green = gpio.factory.pin(CONFIG.light.green)
    buzzer.frequencies.clear()
    green.clear_states()
    assert shopper.send("scan", code=MILK)["ok"]
    eventually(lambda: 1760 in [round(f or 0) for f in buzzer.frequencies], what="good beep")
    eventually(lambda: transitions(green) >= 2, what="green flashed on the good read")
    eventually(lambda: buzzer.state == 0)
    buzzer.frequencies.clear()
    shopper.send("scan", code="4006381333931")  # a valid GTIN the catalog does not know
    eventually(lambda: [round(f or 0) for f in buzzer.frequencies].count(440) >= 2,
               what="bad-read tones")


def test_keypad_buttons_publish_focus_keys(gpio, broker_port):
    listener = Listener(broker_port, [gpio.topics.keypad])
    for key in ("up", "down", "select", "back"):
        _press(gpio, getattr(CONFIG.keypad, key))
        msg = listener.next(lambda t, m: True)
        assert msg == {"v": 1, "type": "keypad", "key": key}
    listener.client.stop()


def test_demo_mock_pins_start_with_the_door_shut(lane_env, broker_port):
    # pin_factory = "mock" without a test driving the pins: the demo has no door switch
    service = GpioService(GpioConfig(pin_factory="mock"), lane_env["KIOSK__STORE__LANE_ID"],
                          bus_login(broker_port, "kiosk-gpio"))
    try:
        assert service.start(wait_s=10)
        assert not service.door_open and not service.buzzer.alarm
    finally:
        service.stop()


def test_run_reports_ready_once_and_ticks_from_its_loop(lane_env, broker_port):
    service = GpioService(GpioConfig(pin_factory="mock"), lane_env["KIOSK__STORE__LANE_ID"],
                          bus_login(broker_port, "kiosk-gpio"))
    stop, ready, ticks = threading.Event(), [], []
    runner = threading.Thread(target=service.run, args=(stop,),
                              kwargs={"on_ready": lambda: ready.append(service.bus.connected
                                                                       .is_set()),
                                      "on_tick": lambda: ticks.append(1)})
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while len(ticks) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(10)
    assert ready == [True]      # once, and only with the bus connected
    assert len(ticks) >= 3 and not runner.is_alive()
