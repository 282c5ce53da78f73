"""The voice dialog on the real Korean model: misses, yes/no in context, help, language."""

from __future__ import annotations

import json

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import command
from kiosk.services.voice.service import grammar_state
from tests.fixtures.sample_items import MILK
from tests.harness import bus_login

pytestmark = [pytest.mark.voice, pytest.mark.integration]

DISTRACTORS = ("오늘 날씨가 정말 좋네요", "주차장이 어디에 있나요")


def inject(voice, name: str, arg: str | None = None) -> None:
    """As if heard, once the service knows the state the test set up."""
    voice.wait_for(lambda: voice.service.msg.get("state") == "shopping")
    voice.service.inbox.put(("intent", json.dumps({"name": name, "arg": arg}).encode()))


def test_two_misses_say_sorry_then_cancel_is_confirmed_by_yes(core, shopper, start_voice,
                                                                korean, speech) -> None:
    shopper.wait_online()
    assert shopper.send("start", locale="ko")["ok"]
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping" and s["lines"])
    voice = start_voice(recognizers=korean)
    service, source = voice.service, voice.service.source
    source.push(speech(DISTRACTORS[0]), state="shopping")
    voice.wait_for(lambda: service.misses == 1, timeout=30)
    assert not any("죄송합니다" in t for t in voice.spoken())  # one miss: no nagging
    source.push(speech(DISTRACTORS[1]), state="shopping")
    voice.wait_spoken("죄송합니다. 다시 말씀해 주세요.", timeout=30)
    assert service.sent == [] and service.heard == []

    source.push(speech("취소", "ko+f2"), state="shopping")
    voice.wait_spoken("장바구니를 취소할까요?", timeout=30)
    assert service.confirming == "cancel" and service.sent == []
    assert grammar_state(service.msg, service.confirming) == "confirm"
    source.push(speech("네"), state="shopping")
    st = shopper.wait_state(lambda s: s["state"] == "attract", timeout=30)
    assert st["notice"] == "voided_cancel"
    assert service.heard == ["cancel", "yes"]
    assert [(c["type"], c["source"]) for c in service.sent] == [("cancel", "voice")]


def test_no_keeps_the_basket(core, shopper, start_voice) -> None:
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    voice = start_voice()
    inject(voice, "cancel")
    voice.wait_spoken("Do you want to cancel your basket?")
    inject(voice, "no")
    voice.wait_spoken("Your basket is kept.")
    assert voice.service.sent == [] and shopper.state["state"] == "shopping"


def test_help_phrase_starts_guidance_and_calls_staff(core, shopper, start_voice) -> None:
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    voice = start_voice()
    inject(voice, "help")
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["attendant"]["reason"] == "help"
    assert voice.service.accessible.active
    voice.wait_spoken("Spoken guidance is on")


def test_gpio_help_button_starts_guidance(core, shopper, start_voice, broker_port) -> None:
    shopper.wait_online()
    voice = start_voice()
    assert shopper.send("scan", code=MILK)["ok"]
    button = BusClient(bus_login(broker_port, "kiosk-gpio"), "test-help-button")  # kiosk-gpio's
    assert button.start(wait_s=10)
    button.publish(shopper.topics.command_from("gpio"),
                   command("help", source="gpio")).wait_for_publish(5)
    button.stop()
    voice.wait_for(lambda: voice.service.accessible.active)
    voice.wait_spoken("Spoken guidance is on")


def test_change_language_by_voice(core, shopper, start_voice) -> None:
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    voice = start_voice()
    inject(voice, "change_language", "zh")
    st = shopper.wait_state(lambda s: s["locale"] == "zh_Hans")
    assert voice.service.sent[-1]["locale"] == "zh_Hans"
    voice.wait_for(lambda: voice.service.msg.get("locale") == "zh_Hans")
    inject(voice, "how_much")
    voice.wait_spoken("总金额为")
    assert st["state"] == "shopping"


def test_by_voice_an_unknown_item_is_put_aside_and_a_help_call_cancelled(core, shopper,
                                                                         start_voice) -> None:
    """Issue 21: what the attendant screen offers the shopper, the voice offers too."""
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("scan", code="1234567890128")["ok"]   # not in the catalog
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    voice = start_voice()
    service = voice.service

    def said(name: str) -> None:
        voice.wait_for(lambda: service.msg.get("state") == "attendant_needed")
        service.inbox.put(("intent", json.dumps({"name": name, "arg": None}).encode()))

    service.inbox.put(("intent", json.dumps({"name": "repeat", "arg": None}).encode()))
    voice.wait_spoken("say put it aside")
    said("put_aside")
    st = shopper.wait_state(lambda s: s["state"] == "shopping" and s["attendant"] is None)
    assert [ln["key"] for ln in st["lines"]] == ["0" + MILK]   # the unknown item never added
    voice.wait_for(lambda: service.msg.get("state") == "shopping")
    inject(voice, "help")
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    voice.wait_spoken("say cancel help")
    said("cancel_help")
    shopper.wait_state(lambda s: s["state"] == "shopping" and s["attendant"] is None)
    assert [c["type"] for c in service.sent] == ["put_aside", "help", "cancel_help"]
