"""The optional rating after the receipt (issue 18) by voice and by the tactile keys, without
a bus: which grammar kiosk-voice listens with, what the keys reach, what is said (pure)."""

from __future__ import annotations

import pytest

from kiosk.bus.messages import rating_phase, state_message
from kiosk.domain.feedback import REASONS
from kiosk.services.voice.accessible import AccessibleMode, actions_for
from kiosk.services.voice.prompts import Prompts
from kiosk.services.voice.service import grammar_state

CUR = {"code": "USD", "exponent": 2}


def _receipt(**more) -> dict:
    state = {"state": "receipt", "txn": "S001-L01-000003", "locale": "en",
             "receipt": {"ok": True, "path": ""}, "payment": {"receipt_choice": "none"}}
    extra = {"rating_pending": more.pop("pending", None)}
    state.update(more)
    return state_message(9, state, {}, CUR, extra)


def test_the_rating_is_heard_then_what_went_wrong_then_nothing_more():
    ask, low = _receipt(), _receipt(pending=1)
    rated = _receipt(receipt={"ok": True, "rating": 2})
    assert [rating_phase(m) for m in (ask, low, rated)] == ["ask", "reasons", "thanks"]
    assert [grammar_state(m) for m in (ask, low, rated)] == [
        "rating", "rating_reasons", "approved"]
    assert rating_phase(state_message(1, {"state": "attract"}, {}, CUR, {})) == ""


def test_the_keys_reach_the_faces_then_the_reasons():
    ask, low = actions_for(_receipt()), actions_for(_receipt(pending=2))
    assert ask[:3] == ("rate:3", "rate:2", "rate:1") and "done" in ask
    assert low[:7] == (*(f"reason:{r}" for r in REASONS), "rate:skip") and "done" in low
    mode = AccessibleMode()
    mode.start(Prompts("ko"))
    mode.on_state(_receipt())
    assert mode.key("down", _receipt(), Prompts("ko")).speech.texts == ["보통이었어요."]
    assert mode.key("select", _receipt(), Prompts("ko")).action == "rate:2"


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_each_phase_is_said_in_the_shoppers_language(locale):
    p, english = Prompts(locale), Prompts("en")
    for msg in (_receipt(), _receipt(pending=1), _receipt(receipt={"ok": True, "rating": 3})):
        said = p.rating(msg).texts
        assert said and all(t.strip() for t in said)
        if locale != "en":
            assert said != english.rating(msg).texts  # translated, not English
    assert p.state(_receipt()).texts[-1] == p.rating(_receipt()).texts[0]  # after thank you
