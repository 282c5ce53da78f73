"""Never silent (issue 20, item 5): a language without a speech model is said, on the bus for
the screen and in speech; "change language" with no target asks; a switch to a language
without a model is confirmed first. Real broker, real core, the real Korean model."""

from __future__ import annotations

import json
import threading

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics
from tests.fixtures.sample_items import MILK
from tests.harness import bus_login

pytestmark = [pytest.mark.voice, pytest.mark.integration]



def inject(voice, name: str, arg: str | None = None) -> None:
    voice.service.inbox.put(("intent", json.dumps({"name": name, "arg": arg}).encode()))


def voice_status(broker_port: int, lane: str) -> dict:
    """The retained voice/status message, as the screen reads it."""
    got: dict = {}
    seen = threading.Event()
    client = BusClient(bus_login(broker_port, "kiosk-ui"), "test-voice-status")

    def on(_topic: str, payload: bytes) -> None:
        got.update(json.loads(payload))
        seen.set()

    client.subscribe(Topics(lane).voice_status, on)
    assert client.start(wait_s=10)
    try:
        assert seen.wait(10), "no retained voice/status"
    finally:
        client.stop()
    return got


def test_missing_model_is_said_in_the_shoppers_language(core, shopper, start_voice, korean,
                                                        broker_port, lane_env) -> None:
    shopper.wait_online()
    voice = start_voice(korean)  # Korean has a model; the lane starts in English, which has none
    status = voice_status(broker_port, lane_env["KIOSK__STORE__LANE_ID"])
    assert status["locales"] == ["ko"]
    assert shopper.send("scan", code=MILK)["ok"]
    said = voice.wait_spoken("Voice commands are not available in this language")
    assert "Voice commands work in Korean" in said
    assert "Scan your next item" in said  # with the state's own prompt, not instead of it
    # once per session: the next prompt does not repeat it
    inject(voice, "repeat")
    voice.wait_for(lambda: sum("Scan your next item" in t for t in voice.spoken()) == 2)
    assert sum("not available" in t for t in voice.spoken()) == 1
    # switched by touch to Chinese (no model either): said again, in Chinese
    assert shopper.send("set_language", locale="zh_Hans")["ok"]
    said = voice.wait_spoken("此语言不支持语音指令")
    assert "韩语" in said


def test_change_language_asks_which_and_confirms_a_language_without_a_model(
        core, shopper, start_voice, korean) -> None:
    shopper.wait_online()
    assert shopper.send("set_language", locale="ko")["ok"]
    assert shopper.send("scan", code=MILK)["ok"]
    voice = start_voice(korean)
    service = voice.service
    voice.wait_for(lambda: service.msg.get("locale") == "ko"
                   and service.msg.get("state") == "shopping")
    inject(voice, "change_language")  # no target: which one?
    said = voice.wait_spoken("어떤 언어를 원하세요?")
    assert "영어" in said and "중국어" in said
    inject(voice, "change_language", "zh")
    voice.wait_spoken("중국어에서는 음성 명령을 사용할 수 없습니다")
    assert service.confirming == "set_language:zh_Hans"
    assert not [c for c in service.sent if c["type"] == "set_language"]
    inject(voice, "no")  # stays in Korean, with voice
    voice.wait_for(lambda: service.confirming is None)
    inject(voice, "change_language", "zh")
    voice.wait_for(lambda: service.confirming == "set_language:zh_Hans")
    inject(voice, "yes")
    shopper.wait_state(lambda s: s["locale"] == "zh_Hans")
    assert [c["locale"] for c in service.sent if c["type"] == "set_language"] == ["zh_Hans"]
    voice.wait_spoken("此语言不支持语音指令")
