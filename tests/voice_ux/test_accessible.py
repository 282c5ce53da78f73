"""Accessible mode: tactile keys on a real broker drive a real kiosk-core; headset routing."""

from __future__ import annotations

import pytest

from kiosk.domain.vocabulary import accepts
from kiosk.services.gpio import keypad_message
from kiosk.services.voice.accessible import ACTIONS, AccessibleMode, actions_for, parse_amixer_jack
from kiosk.services.voice.prompts import Prompts
from tests.fixtures.sample_items import MILK

pytestmark = [pytest.mark.voice, pytest.mark.integration]



def press(shopper, key: str) -> None:
    shopper.client.publish(shopper.topics.keypad,
                           keypad_message(key)).wait_for_publish(5)


def test_focus_moves_through_the_states_actions() -> None:
    mode = AccessibleMode()
    p = Prompts("en")
    msg = {"state": "payment", "totals": {"total": 193}, "currency": {"code": "USD",
                                                                       "exponent": 2}}
    assert mode.start(p).text.startswith("Spoken guidance is on")
    mode.on_state(msg)
    assert mode.key("down", msg, p).speech.text == "Pay by phone."
    assert mode.key("up", msg, p).speech.text == "Pay by card."
    assert mode.key("up", msg, p).speech.text == "Cancel the basket."  # wraps around
    assert mode.key("select", msg, p).action == "cancel"
    assert "How would you like to pay" in mode.key("back", msg, p).speech.text
    with pytest.raises(ValueError):
        mode.key("left", msg, p)
    warned = dict(msg, idle_warning_at=1.0)
    mode.on_state(warned)
    assert actions_for(warned)[0] == "more_time" and mode.focus == 0
    assert mode.key("select", warned, p).action == "more_time"
    assert all(actions for actions in ACTIONS.values())


def test_help_is_an_action_where_the_state_accepts_it() -> None:
    shopping = {"state": "shopping", "accepts": list(accepts("shopping"))}
    assert actions_for(shopping) == ("hear_items", "hear_total", "pay_card", "pay_qr", "help",
                                     "cancel")
    unavailable = {"state": "payment_unavailable", "accepts": list(accepts(
        "payment_unavailable"))}
    assert actions_for(unavailable) == ("help", "repeat")
    # read from the published ``accepts``, never from the state's name
    assert "help" not in actions_for(dict(shopping, accepts=["scan", "checkout"]))
    assert actions_for({"state": "receipt", "accepts": ["done", "help"]}) == (
        "read_receipt", "done", "help", "repeat")


def test_amixer_jack_output_is_parsed() -> None:
    on = "numid=19,iface=CARD,name='Headphone Jack'\n  ; type=BOOLEAN,access=r-------,values=1\n" \
         "  : values=on\n"
    assert parse_amixer_jack(on) is True
    assert parse_amixer_jack(on.replace("=on", "=off")) is False
    assert parse_amixer_jack("amixer: Cannot find the given element") is None


def test_keypad_only_purchase(core, shopper, start_voice, lane_env) -> None:
    """A blind shopper's checkout: keys only, everything heard, receipt chosen by key."""
    shopper.wait_online()
    voice = start_voice()
    assert shopper.send("scan", code=MILK)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "shopping")
    press(shopper, "select")  # any key starts accessible mode (and is not an action yet)
    voice.wait_for(lambda: voice.service.accessible.active)
    voice.wait_spoken("Spoken guidance is on")
    press(shopper, "down")
    voice.wait_spoken("Hear the total.")
    press(shopper, "select")
    total = Prompts("en").money(st["totals"]["total"], st)
    voice.wait_spoken(f"Your total is {total}.")
    press(shopper, "down")
    voice.wait_spoken("Pay by card.")
    press(shopper, "select")
    st = shopper.wait_state(lambda s: s["state"] == "approved", timeout=30)
    voice.wait_spoken("Would you like a receipt?")
    press(shopper, "select")  # focus starts on "Print a receipt."
    st = shopper.wait_state(lambda s: s["state"] == "receipt", timeout=30)
    assert st["payment"]["receipt_choice"] == "print"
    sent = voice.service.sent
    # key presses count as activity (a touch, rate-limited) for the core's idle timer
    assert sent[0]["type"] == "touch"
    assert [c["type"] for c in sent if c["type"] != "touch"] == ["checkout", "pay", "receipt"]
    assert {c["source"] for c in sent} == {"gpio"}  # key-driven: the basket's keys channel
    voice.wait_spoken("Your receipt is printing.")


def test_headset_routes_private_speech_and_volume_resets(core, shopper, start_voice) -> None:
    shopper.wait_online()
    voice = start_voice(volume=0.5)
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    shopper.client.publish(shopper.topics.headset, {"plugged": True}).wait_for_publish(5)
    voice.wait_for(lambda: voice.service.accessible.active and voice.speaker.headset_plugged)
    voice.wait_spoken("Headset connected")
    voice.speaker.set_volume(1.0)
    assert shopper.send("checkout")["ok"]
    voice.wait_spoken("How would you like to pay?")
    before = len(voice.speaker.sink.played)
    assert all(u.sink == "headset" for u in voice.speaker.history if u.private)
    assert any(u.private for u in voice.speaker.history)
    assert shopper.send("cancel")["ok"]  # the shopper leaves: next one starts afresh
    shopper.wait_state(lambda s: s["state"] == "attract")
    voice.wait_for(lambda: voice.speaker.volume == 0.5)
    assert not voice.service.accessible.active
    assert len(voice.speaker.sink.played) == before  # nothing went to the loudspeaker


def test_card_applications_are_read_and_chosen_by_key() -> None:
    mode = AccessibleMode()
    p = Prompts("en")
    msg = {"state": "authorizing", "payment": {
        "method": "card", "step": "choose_app",
        "apps": [{"label": "VISA CREDIT"}, {"label": "VISA DEBIT"}]}}
    mode.start(p)
    mode.on_state(msg)
    spoken = p.state(msg).text
    assert "Application 1: VISA CREDIT." in spoken and "Application 2: VISA DEBIT." in spoken
    assert mode.key("down", msg, p).speech.text == "Application 2: VISA DEBIT."
    assert mode.key("select", msg, p).action == "app:1"
    assert "2번, VISA DEBIT." in Prompts("ko").state(msg).text
