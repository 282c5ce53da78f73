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


#: the n-best (Vosk score, words with their times) of a TUNE-part distractor, "주차장이
#: 어디에 있어요" said on the receipt screen, voiced from 0.53 s to 1.24 s: the grammar pass
#: made a salad of command words of it
PARKING_NBEST = [
    (9.352531, [("직원", 0.0, 0.69), ("영수증", 0.69, 0.99), ("주세요", 0.99, 1.41)]),
    (9.293308, [("직원", 0.0, 0.69), ("영수증", 0.69, 0.99), ("줄래요", 0.99, 1.41)]),
    (9.03397, [("직원", 0.0, 0.69), ("영수증", 0.69, 0.99), ("줘도", 0.99, 1.17),
               ("돼요", 1.17, 1.41)]),
    (8.727215, [("직원", 0.0, 0.36), ("직원", 0.36, 0.69), ("영수증", 0.69, 0.99),
                ("주세요", 0.99, 1.41)]),
    (8.71759, [("병원", 0.0, 0.36), ("직원", 0.36, 0.69), ("영수증", 0.69, 0.99),
               ("주세요", 0.99, 1.41)]),
    (8.667992, [("직원", 0.0, 0.36), ("직원", 0.36, 0.69), ("영수증", 0.69, 0.99),
                ("줄래요", 0.99, 1.41)]),
    (8.658363, [("병원", 0.0, 0.36), ("직원", 0.36, 0.69), ("영수증", 0.69, 0.99),
                ("줄래요", 0.99, 1.41)]),
    (8.408653, [("직원", 0.0, 0.36), ("직원", 0.36, 0.69), ("영수증", 0.69, 0.99),
                ("줘도", 0.99, 1.17), ("돼요", 1.17, 1.41)]),
]


def test_a_salad_of_command_words_is_refused_with_the_configured_thresholds():
    """Last round's thresholds (min_score 0.65, min_conf 0.5) printed a receipt for a
    question about parking; the ones chosen on the tune part refuse it."""
    from kiosk_voice.config import VoiceConfig
    from kiosk_voice.intents import match_alternatives
    from kiosk_voice.recognizer import EDGE_S, alternatives_of

    raw = {"alternatives": [
        {"text": " ".join(w for w, _, _ in words), "confidence": score,
         "result": [{"word": w, "start": a, "end": b} for w, a, b in words]}
        for score, words in PARKING_NBEST]}
    m = VoiceConfig().match
    window = (0.53 + EDGE_S, 1.24 - EDGE_S)
    got = match_alternatives(alternatives_of(raw, m.nbest_scale, window), "ko", "receipt",
                             m.min_score, m.min_margin, m.min_conf)
    assert isinstance(got, Rejected), got
    assert got.reason == "no_command"
