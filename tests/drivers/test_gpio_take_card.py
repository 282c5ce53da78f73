"""kiosk-gpio and a card left in the reader (issue 14, item 1): the light turns amber at
once, the buzzer reminds after ``buzzer.take_card_after_s`` and again until the card is
taken. Mock pins, the real broker; the state is published as kiosk-core publishes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kiosk_drivers.gpio.config import BuzzerConfig, GpioConfig, LightConfig
from kiosk_drivers.gpio.devices import TONES

from kiosk.bus.client import BusClient
from kiosk.bus.light import Light
from kiosk.bus.messages import Topics, status_message
from kiosk.services.gpio import GpioService
from tests.drivers.gpio_pins import eventually, mock_factory
from tests.harness import bus_login

pytestmark = pytest.mark.integration

CONFIG = GpioConfig(pin_factory="mock", help_button=None, door_switch=None,
                    light=LightConfig(green=17, amber=27, red=22),
                    buzzer=BuzzerConfig(pin=18, kind="passive", take_card_after_s=0.3,
                                        take_card_every_s=0.3))
TAKE_CARD_HZ = round(TONES["take_card"][0][0] or 0)


def state(seq: int, **extra: object) -> dict:
    return {"v": 1, "type": "state", "seq": seq, "state": "attract", "faults": {},
            "attendant": None, **extra}


@pytest.fixture
def lane(lane_env, broker_port) -> Iterator[tuple[GpioService, BusClient, Topics]]:
    lane_id = lane_env["KIOSK__STORE__LANE_ID"]
    gpio = GpioService(CONFIG, lane_id, bus_login(broker_port, "kiosk-gpio"),
                       factory=mock_factory())
    bus = BusClient(bus_login(broker_port, "kiosk-core"), f"test-core-{lane_id}")
    assert bus.start(wait_s=10) and gpio.start(wait_s=10)
    topics = Topics(lane_id)
    bus.publish(topics.core_status, status_message(True), retain=True)
    yield gpio, bus, topics
    gpio.stop()
    bus.stop()


def test_a_card_left_turns_the_light_amber_and_the_buzzer_reminds_until_taken(lane):
    gpio, bus, topics = lane
    buzzer = gpio.factory.pin(CONFIG.buzzer.pin)
    bus.publish(topics.state, state(1, card_left=False), retain=True)
    eventually(lambda: gpio.light.current == Light("green"), what="green, nothing left")
    assert TAKE_CARD_HZ not in [round(f or 0) for f in buzzer.frequencies]
    bus.publish(topics.state, state(2, card_left=True), retain=True)
    eventually(lambda: gpio.light.current == Light("amber"), what="amber for the left card")
    eventually(lambda: [round(f or 0) for f in buzzer.frequencies].count(TAKE_CARD_HZ) >= 4,
               what="the take-card reminder, twice")
    bus.publish(topics.state, state(3, card_left=False), retain=True)
    eventually(lambda: gpio.light.current == Light("green"), what="green once taken")
    eventually(lambda: gpio._take_card is None, what="reminder off")
    eventually(lambda: buzzer.state == 0, what="buzzer silent")
