"""kiosk-voice says "take your card" when a card was left in the reader (issue 14, item 1),
even on the idle screen, which is otherwise silent; the state is published as kiosk-core
publishes it (``card_left``), on the real broker, and spoken through the real TTS."""

from __future__ import annotations

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, status_message
from tests.harness import bus_login
from tests.ui.test_viewmodel import state

pytestmark = [pytest.mark.voice, pytest.mark.integration]


def test_a_card_left_is_said_on_the_idle_screen(lane_env, broker_port, start_voice):
    topics = Topics(lane_env["KIOSK__STORE__LANE_ID"])
    bus = BusClient(bus_login(broker_port, "kiosk-core"), f"test-core-{topics.state}")
    assert bus.start(wait_s=10)
    try:
        bus.publish(topics.core_status, status_message(True), retain=True)
        sale = {**state(state="receipt", seq=1), "card_left": False}
        bus.publish(topics.state, sale, retain=True)
        voice = start_voice()
        bus.publish(topics.state, {**state(state="attract", lines=[], txn=None, seq=2),
                                   "card_left": True}, retain=True)
        said = voice.wait_spoken("Please take your card from the card reader.")
        assert "Welcome" not in said          # the idle prompt stays quiet
        bus.publish(topics.state, {**state(state="attract", lines=[], txn=None, seq=3),
                                   "card_left": False}, retain=True)
        voice.wait_for(lambda: voice.service.msg.get("seq") == 3)
        assert [t for t in voice.spoken() if "take your card" in t] == [said]
    finally:
        bus.stop()
