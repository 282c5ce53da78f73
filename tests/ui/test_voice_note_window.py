"""The no-voice note in a real Kivy window (issue 20, item 5): kiosk-voice's retained status
says Korean alone has voice; the attract and payment screens of a Chinese shopper say so,
photographed and checked for clipped text, missing glyphs and English left on screen."""

from __future__ import annotations

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, status_message
from tests.harness import bus_login
from tests.ui.test_purchase_ui import Screens
from tests.ui.test_viewmodel import state

pytestmark = pytest.mark.ui

NOTE = "此语言不支持语音指令。"


def test_the_screen_says_a_language_has_no_voice(lane_env, broker_port, ui_factory, shots,
                                                 ui_fonts) -> None:
    topics = Topics(lane_env["KIOSK__STORE__LANE_ID"])
    core = BusClient(bus_login(broker_port, "kiosk-core"), f"test-core-{topics.state}")
    voice = BusClient(bus_login(broker_port, "kiosk-voice"), f"test-voice-{topics.state}")
    assert core.start(wait_s=10) and voice.start(wait_s=10)
    try:
        core.publish(topics.core_status, status_message(True), retain=True)
        core.publish(topics.state, {**state(state="attract", lines=[], txn=None, seq=1),
                                    "locale": "zh_Hans"}, retain=True)
        voice.publish(topics.voice_status, {"v": 1, "type": "voice_status",
                                            "locales": ["ko"]}, retain=True).wait_for_publish(5)
        ui = ui_factory()
        ui.wait_screen("attract", locale="zh_Hans")
        screens = Screens(ui, shots, "zh_Hans", ui_fonts())
        # the two retained messages may arrive in either order
        ui.wait(lambda _st: any(NOTE in t["text"] for t in ui.call("texts")["texts"]),
                "the voice note")
        texts = screens.snap("attract-no-voice", "attract")
        assert any(NOTE in t and "한국어" in t for t in texts), texts
        core.publish(topics.state, {**state(state="payment", locale="zh_Hans"), "seq": 2},
                     retain=True)
        ui.wait_screen("payment", locale="zh_Hans")
        assert any(NOTE in t for t in screens.snap("payment-no-voice", "payment"))
    finally:
        core.stop()
        voice.stop()
