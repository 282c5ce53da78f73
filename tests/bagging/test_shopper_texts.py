"""What the shopper sees and hears of the bagging area and the scale, in every language:
each alert's screen text and spoken prompt, the "I brought a bag" way out (screen, voice, the
tactile keys) only for an unexpected item and only until staff come, and each scale refusal
explained. Chinese and Korean are translated, never English."""

from __future__ import annotations

import pytest

from kiosk.domain.pricing import WEIGHT_REFUSALS
from kiosk.domain.vocabulary import BAGGING_ALERTS, accepts
from kiosk.services.voice.accessible import actions_for
from kiosk.services.voice.prompts import ATTENDANT_TEXT, Prompts
from kiosk.ui.i18n import Translator
from kiosk.ui.viewmodel import BAGGING_TEXT, GENERIC_REJECTION, build_view, rejection_text

LOCALES = ("en", "zh_Hans", "ko")


def _alert(reason: str, locale: str = "en", **extra) -> dict:
    return {"v": 1, "type": "state", "seq": 3, "state": "attendant_needed", "locale": locale,
            "locales": list(LOCALES), "currency": {"code": "USD", "exponent": 2},
            "txn": "S001-L01-000001", "lines": [], "accepts": list(accepts("attendant_needed")),
            "attendant": {"reason": reason, "since": 1000.0, "return_to": "shopping"},
            "alerts": [{"type": reason, "since": 1000.0, "lane": "L01"}], **extra}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("reason", BAGGING_ALERTS)
def test_every_alert_is_shown_and_said(locale, reason):
    t = Translator(locale)
    title, body = BAGGING_TEXT[reason]
    shown = [t.tr(title), t.tr(body)]
    said = Prompts(locale).state(_alert(reason, locale)).text
    assert reason in ATTENDANT_TEXT
    if locale != "en":
        assert shown != [title, body] and all(not s.isascii() for s in shown)
        assert not said.isascii()
    v = build_view(_alert(reason, locale), online=True)
    assert v.attendant_reason == reason and v.light == "amber"
    assert v.can_own_bag == (reason == "unexpected_item")


def test_own_bag_is_offered_until_staff_come():
    msg = _alert("unexpected_item")
    assert actions_for(msg)[0] == "own_bag"
    assert "I brought a bag" in Prompts("en").state(msg).text
    staff = {**msg, "staff": {"name": "Sam"}}
    assert "own_bag" not in actions_for(staff)
    assert not build_view(staff, online=True).can_own_bag


@pytest.mark.parametrize("locale", LOCALES)
def test_every_scale_refusal_is_explained(locale):
    t = Translator(locale)
    reasons = {*WEIGHT_REFUSALS.values(), "scale_empty", "scale_below_minimum",
               "weight_from_scale"}
    for reason in sorted(reasons):
        text = rejection_text(reason, t)
        assert text != t.tr(GENERIC_REJECTION), reason
        assert locale == "en" or not text.isascii(), (reason, text)
