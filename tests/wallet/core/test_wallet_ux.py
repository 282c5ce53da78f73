"""What the shopper sees and hears at each phone-wallet step, in en, zh_Hans and ko: the
screen each step picks, why a code did not pay, the declines, the QR countdown; no English
left in Chinese or Korean."""

from __future__ import annotations

import pytest

from kiosk.services.voice.prompts import Prompts
from kiosk.ui.viewmodel import build_view
from tests.ui.test_viewmodel import state


def wallet_state(st: str = "authorizing", **payment) -> dict:
    pay = {"method": "qr", "amount": 375, "stan": 3, "status": st, **payment}
    return state(state=st, payment=pay)


@pytest.mark.parametrize(("step", "screen", "cancellable"), [
    ("show_code", "wallet_show", True), ("checking", "wallet_checking", False),
    ("user_paying", "wallet_confirm", True), ("scan_code", "wallet_scan", True),
])
def test_each_wallet_step_has_its_screen(step, screen, cancellable):
    extra = {"qr": "000201010212", "expires_at": 1060.0} if step == "scan_code" else {}
    v = build_view(wallet_state(step=step, **extra), online=True, received_at=50.0)
    assert (v.screen, v.can_cancel_card) == (screen, cancellable)
    if step == "scan_code":
        assert v.wallet_qr == "000201010212" and v.wallet_deadline == 110.0  # 60 s left


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
@pytest.mark.parametrize("notice", ["code_reused", "code_used", "code_expired",
                                    "code_invalid"])
def test_why_a_code_did_not_pay_is_shown_and_said(locale, notice):
    msg = wallet_state(step="show_code", notice=notice)
    msg["locale"] = locale
    shown = build_view(msg, online=True).wallet_notice
    said = Prompts(locale).state(msg).texts
    assert shown and len(said) == 2
    if locale != "en":   # translated, not English
        assert not any(c.isascii() and c.isalpha() for c in shown.replace("QR", ""))
        assert not any(c.isascii() and c.isalpha() for c in said[0])


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
@pytest.mark.parametrize("key", ["wallet_insufficient_funds", "wallet_declined",
                                 "wallet_cancelled", "wallet_amount_limit", "code_timeout",
                                 "qr_expired"])
def test_wallet_declines_are_explained(locale, key):
    msg = wallet_state("declined", message=key)
    msg["locale"] = locale
    v = build_view(msg, online=True)
    assert v.screen == "declined" and v.decline_message
    said = Prompts(locale).state(msg).texts
    assert said[0] == Prompts(locale).state(msg).texts[0] and said[0]
    if locale != "en":
        assert not any(c.isascii() and c.isalpha() for c in v.decline_message)


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_every_wallet_step_is_spoken(locale):
    p = Prompts(locale)
    texts = {step: p.state(wallet_state(step=step)).texts[0]
             for step in ("show_code", "checking", "user_paying", "scan_code")}
    assert len(set(texts.values())) == 4
    if locale == "en":
        assert texts["show_code"].startswith("Show the payment code")
        assert texts["user_paying"] == "Confirm the payment on your phone."
