"""Two-pass decoding (``voice.match.decode = "both"``): the state's grammar and the model's
open vocabulary decode each utterance; an intent stands only when both passes found it.

The grammar pass alone turns a sentence it was not written for into a salad of command
words (the cause of last round's wrong intents and false accepts on unseen speech); the
open pass hears the words actually said.
"""

from __future__ import annotations

from kiosk_voice.intents import Intent, Rejected
from kiosk_voice.recognizer import agreed


def _intent(name: str, conf: float, text: str = "") -> Intent:
    return Intent(name, "ko", "payment", text, conf)


def _refused(reason: str = "no_command") -> Rejected:
    return Rejected(reason, "ko", "payment", "")


def test_both_passes_agreeing_give_the_intent_with_the_lower_confidence():
    got = agreed(_intent("pay_card", 0.95, "카드 로 해"), _intent("pay_card", 0.7, "카드로 해"))
    assert isinstance(got, Intent)
    assert (got.name, got.confidence, got.text) == ("pay_card", 0.7, "카드로 해")


def test_two_different_intents_are_refused_as_ambiguous():
    got = agreed(_intent("pay_card", 0.95), _intent("cancel", 0.9))
    assert isinstance(got, Rejected) and got.reason == "ambiguous"
    assert "pay_card" in got.detail and "cancel" in got.detail


def test_an_intent_of_the_open_pass_alone_is_asked_again_never_acted_on():
    got = agreed(_refused(), _intent("help", 0.99))
    assert isinstance(got, Rejected) and got.reason == "low_confidence"
    assert "open pass only: help" in got.detail


def test_an_intent_of_the_grammar_pass_alone_is_a_quiet_miss():
    got = agreed(_intent("help", 0.99), _refused())
    assert isinstance(got, Rejected) and got.reason == "no_command"
    assert "grammar pass only: help" in got.detail


def test_nothing_in_either_pass_stays_a_refusal():
    got = agreed(_refused("nothing"), _refused("no_command"))
    assert isinstance(got, Rejected) and got.reason == "no_command"
