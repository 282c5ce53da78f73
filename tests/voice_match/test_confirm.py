"""Paying or calling staff is asked back before it acts unless the recognizer was sure;
cancelling the basket always (issue 20, item 2). On a real broker and kiosk-core."""

from __future__ import annotations

import json

import pytest

from kiosk.services.voice.confirm import needs_confirmation
from kiosk.services.voice.prompts import Prompts
from tests.fixtures.sample_items import MILK

SURE = 0.9


@pytest.mark.parametrize(("name", "conf", "accessible", "asked"), [
    ("pay_card", 0.6, False, True),
    ("pay_qr", 0.89, True, True),          # money: accessible mode or not
    ("pay_card", 0.95, False, False),      # sure: acts at once
    ("help", 0.6, False, True),
    ("help", 0.6, True, False),            # in accessible mode help is what they expect
    ("cancel", 1.0, False, True),          # the whole basket: always
    ("how_much", 0.5, False, False),       # nothing moves
    ("repeat", 0.5, False, False),
])
def test_which_intents_are_asked_back(name, conf, accessible, asked):
    assert needs_confirmation(name, conf, accessible, SURE) is asked


@pytest.mark.parametrize(("locale", "said"), [
    ("en", "Pay $12.34 by card? Say yes, or press select."),
    ("ko", "카드로 결제할까요?"),
    ("zh_Hans", "用银行卡支付"),
])
def test_the_question_says_what_was_understood_in_the_shoppers_language(locale, said):
    msg = {"state": "shopping", "currency": {"code": "USD", "exponent": 2},
           "totals": {"total": 1234}}
    text = Prompts(locale).confirm("pay_card", msg).text
    assert said in text and "12.34" in text
    assert "Say yes" not in text or locale == "en"  # translated, not English
    assert Prompts(locale).confirm("help", msg).text != Prompts("en").confirm("help", msg).text \
        or locale == "en"


def heard(voice, name: str, confidence: float) -> None:
    """As if recognized with ``confidence``, once the service knows the state."""
    voice.wait_for(lambda: voice.service.msg.get("state") == "shopping")
    voice.service.inbox.put(("intent", json.dumps(
        {"name": name, "arg": None, "confidence": confidence}).encode()))


def key(voice, name: str) -> None:
    voice.service.inbox.put(("key", json.dumps({"key": name}).encode()))


@pytest.mark.integration
def test_a_doubtful_pay_is_asked_back_with_the_amount_and_select_pays(core, shopper,
                                                                       start_voice) -> None:
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "shopping" and s["lines"])
    voice = start_voice()
    heard(voice, "pay_card", 0.6)
    question = voice.wait_spoken("by card? Say yes, or press select.")
    amount = Prompts("en").money(st["totals"]["total"], st)
    assert question.startswith(f"Pay {amount} by card?")
    assert voice.service.sent == [] and voice.service.confirming == "pay_card"
    key(voice, "select")
    shopper.wait_state(lambda s: s["state"] in ("payment", "authorizing"))
    # (a key press also tells the idle timer the shopper is there: a touch)
    assert [c["type"] for c in voice.service.sent if c["type"] != "touch"] == ["checkout",
                                                                                "pay"]
    assert voice.service.sent[-1]["method"] == "card"


@pytest.mark.integration
def test_a_doubtful_help_answered_no_calls_nobody(core, shopper, start_voice) -> None:
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    voice = start_voice()
    heard(voice, "help", 0.5)
    voice.wait_spoken("Call a staff member? Say yes, or press select.")
    heard(voice, "no", 1.0)
    voice.wait_for(lambda: voice.service.confirming is None)
    voice.wait_spoken("Scan your next item.")  # the state's prompt again
    assert voice.service.sent == [] and shopper.state["state"] == "shopping"
    # heard for sure, it acts at once
    heard(voice, "pay_card", 0.97)
    # the service sends checkout, then pay once the core is on the payment screen
    voice.wait_for(lambda: [c["type"] for c in voice.service.sent] == ["checkout", "pay"])
    shopper.wait_state(lambda s: s["state"] in ("payment", "authorizing"))


class Scripted:
    """A recognizer that hears what the test queues (the service's recognizer port)."""

    def __init__(self) -> None:
        import queue

        self.results: queue.Queue = queue.Queue()

    def set_state(self, state_name: str) -> None:
        pass

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def feed(self, frames):  # noqa: ANN001, ANN201 - one frame in, a result or None out
        return None if self.results.empty() else self.results.get_nowait()


@pytest.mark.integration
def test_nearly_a_command_is_asked_again_at_once(core, shopper, start_voice) -> None:
    from kiosk_voice.intents import Rejected

    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")
    heard = Scripted()
    voice = start_voice(recognizers=lambda _lang: heard)
    service = voice.service
    voice.wait_for(lambda: service.msg.get("state") == "shopping")
    # the first refusal already: it was nearly a command
    heard.results.put(Rejected("low_confidence", "en", "shopping", "card", "0.41"))
    voice.wait_spoken("Sorry, please say that again.")
    # speech for someone else is one miss: no nagging
    heard.results.put(Rejected("no_command", "en", "shopping", "the weather"))
    voice.wait_for(lambda: service.misheard == ["low_confidence", "no_command"])
    assert sum("Sorry" in t for t in voice.spoken()) == 1 and service.sent == []
