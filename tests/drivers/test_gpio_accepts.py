"""The retained state carries what its state accepts (``accepts``), and kiosk-gpio's help
button follows it: real kiosk-core, real mosquitto, gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kiosk_drivers.gpio.config import BuzzerConfig, GpioConfig, KeypadConfig, LightConfig

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, status_message
from kiosk.domain.vocabulary import accepts
from kiosk.services.gpio import GpioService
from tests.drivers.gpio_pins import eventually, mock_factory
from tests.drivers.test_gpio_service import Listener, _press
from tests.fixtures.sample_items import MILK
from tests.harness import bus_login

pytestmark = pytest.mark.integration

CONFIG = GpioConfig(pin_factory="mock", help_button=23, door_switch=None,
                    light=LightConfig(green=17, amber=27, red=22),
                    buzzer=BuzzerConfig(pin=18, kind="passive"),
                    keypad=KeypadConfig(up=5, down=6, select=13, back=19))


@pytest.fixture
def gpio(lane_env, broker_port) -> Iterator[GpioService]:
    service = GpioService(CONFIG, lane_env["KIOSK__STORE__LANE_ID"],
                          bus_login(broker_port, "kiosk-gpio"), factory=mock_factory())
    assert service.start(wait_s=10)
    yield service
    service.stop()


def test_the_retained_state_says_what_it_accepts_and_help_follows(core, shopper, gpio,
                                                                  broker_port):
    listener = Listener(broker_port, [gpio.topics.command_from("gpio")])
    shopper.wait_online()
    st = shopper.wait_state(lambda s: s["state"] == "attract")
    assert st["accepts"] == list(accepts("attract")) and "help" in st["accepts"]  # issue 21
    assert shopper.send("scan", code=MILK)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "shopping")
    assert st["accepts"] == list(accepts("shopping")) and "help" in st["accepts"]
    eventually(lambda: (gpio.state or {}).get("accepts") == st["accepts"], what="shopping seen")
    _press(gpio, CONFIG.help_button)
    assert listener.next(lambda t, m: m["type"] == "help")["source"] == "gpio"
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["accepts"] == list(accepts("attendant_needed")) and "help" not in st["accepts"]
    listener.client.stop()


def _publish(bus: BusClient, topics: Topics, seq: int, state: str, accepts: list[str]) -> None:
    bus.publish(topics.state, {"v": 1, "type": "state", "seq": seq, "state": state,
                               "faults": {}, "attendant": None, "accepts": accepts},
                retain=True).wait_for_publish(5)


def test_the_help_button_reads_accepts_not_the_state_name(lane_env, broker_port, gpio):
    """As kiosk-core would publish it: a shopping state that takes no help call, then an
    attract state that does; the button calls only where ``accepts`` has ``help``."""
    topics = Topics(lane_env["KIOSK__STORE__LANE_ID"])
    listener = Listener(broker_port, [topics.command_from("gpio"), topics.keypad])
    core = BusClient(bus_login(broker_port, "kiosk-core"), "test-core-accepts")
    assert core.start(wait_s=10)
    core.publish(topics.core_status, status_message(True), retain=True).wait_for_publish(5)
    _publish(core, topics, 1, "shopping", ["scan", "checkout"])
    eventually(lambda: (gpio.state or {}).get("seq") == 1, what="the first state seen")
    _press(gpio, CONFIG.help_button)
    _press(gpio, CONFIG.keypad.up)  # a marker published after the (absent) help command
    assert listener.next(lambda t, m: True) == {"v": 1, "type": "keypad", "key": "up"}
    _publish(core, topics, 2, "attract", ["help"])
    eventually(lambda: (gpio.state or {}).get("seq") == 2, what="the second state seen")
    _press(gpio, CONFIG.help_button)
    msg = listener.next(lambda t, m: True)
    assert (msg["type"], msg["source"]) == ("help", "gpio")
    core.stop()
    listener.client.stop()
