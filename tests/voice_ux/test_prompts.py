"""Spoken prompts: one for every checkout state, in every language, fully translated."""

from __future__ import annotations

import re

import pytest

from kiosk.domain.vocabulary import STATES
from kiosk.i18n import catalog_path, messages
from kiosk.services.voice.prompts import DOMAIN, STEP_TEXT, Prompts, all_msgids

pytestmark = pytest.mark.voice

LOCALES = ("en", "zh_Hans", "ko")
CUR = {"code": "USD", "exponent": 2}


def state_msg(state: str, **extra: object) -> dict:
    return {"state": state, "currency": CUR, "lines": [], "locale": "en",
            "totals": {"total": 2030, "savings": 99}, **extra}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_state_has_a_prompt(locale: str) -> None:
    p = Prompts(locale)
    for state in STATES:
        speech = p.state(state_msg(state))
        assert speech.text.strip(), f"no prompt for {state} in {locale}"


@pytest.mark.parametrize("locale", ("zh_Hans", "ko"))
def test_no_english_left_in_chinese_or_korean(locale: str) -> None:
    assert catalog_path(locale, DOMAIN).exists()
    table = messages(locale, DOMAIN)
    untranslated = [m for m in all_msgids() if not table.get(m)]
    assert untranslated == []
    english = Prompts("en")
    for state in STATES:
        for step in (None, *STEP_TEXT):
            payment = {"step": step, "method": "card"} if step else None
            msg = state_msg(state, payment=payment)
            assert Prompts(locale).state(msg).text != english.state(msg).text
    # no Latin words left apart from the currency code and placeholders
    for msgid in all_msgids():
        words = re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", table[msgid]))
        assert not [w for w in words if w not in ("PIN", "QR")], (msgid, table[msgid])


@pytest.mark.parametrize("locale", ("en", "zh_Hans", "ko"))
def test_placeholders_survive_translation(locale: str) -> None:
    table = messages(locale, DOMAIN)
    for msgid in all_msgids():
        text = table.get(msgid, msgid)
        assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", msgid)), msgid


def test_money_is_read_as_the_screen_formats_it() -> None:
    msg = state_msg("payment")
    assert "$20.30" in Prompts("en").state(msg).text
    assert "US$20.30" in Prompts("ko").state(msg).text
    assert Prompts("en").state(msg).private  # totals are private content


def test_basket_lines_and_receipt_read_out() -> None:
    lines = [
        {"names": {"en": "Whole Milk 1L", "ko": "우유 1L"}, "qty": 2, "amount": 378},
        {"names": {"en": "Pork Belly", "ko": "삼겹살"}, "qty": 1, "weight_g": 523,
         "amount": 784},
    ]
    msg = state_msg("receipt", lines=lines, payment={
        "status": "approved", "method": "card", "amount": 1200, "auth_code": "A1B2C3",
        "card": {"masked_pan": "476173******0119"}, "receipt_choice": "print"},
        receipt={"path": "/x", "ok": True})
    en = Prompts("en").receipt(msg).text
    assert "2 times Whole Milk 1L, $3.78." in en
    assert "Pork Belly, 0.523 kilograms, $7.84." in en
    assert "card ending in 0 1 1 9" in en and "A 1 B 2 C 3" in en
    assert "476173" not in en  # never more than the last four digits
    ko = Prompts("ko").receipt(msg).text
    assert "우유 1L 2개" in ko and "삼겹살" in ko
    assert "printing" in Prompts("en").state(msg).text


def test_card_steps_are_spoken() -> None:
    p = Prompts("en")
    for step in ("insert_card", "reading", "choose_app", "authorizing", "remove_card"):
        speech = p.state(state_msg("authorizing", payment={"step": step, "method": "card"}))
        assert speech.private and speech.text == p.t(STEP_TEXT[step])
    qr = p.state(state_msg("authorizing", payment={"method": "qr"}))
    assert "QR" in qr.text


def test_approved_asks_for_the_receipt_until_chosen() -> None:
    p = Prompts("en")
    ask = p.state(state_msg("approved", payment={"status": "approved", "method": "qr",
                                                 "amount": 2030}))
    assert "receipt" in ask.text
    chosen = p.state(state_msg("approved", payment={"status": "approved", "method": "qr",
                                                    "amount": 2030, "receipt_choice": "none"}))
    assert "receipt" not in chosen.text.lower()


@pytest.mark.parametrize(("locale", "said"), [
    ("en", "Please take your card from the card reader."),
    ("zh_Hans", "请从读卡器中取走您的卡。"),
    ("ko", "카드 리더기에서 카드를 가져가세요."),
])
def test_a_card_left_in_the_reader_is_said_first(locale, said):
    p = Prompts(locale)
    assert p.state({"state": "attract", "card_left": True, "locale": locale}).texts == [said]
    insert = p.state({"state": "authorizing", "card_left": True,
                      "payment": {"method": "card", "step": "insert_card"}})
    assert insert.texts[0] == said and len(insert.texts) == 2
    assert said not in p.state({"state": "attract", "card_left": False}).texts


@pytest.mark.parametrize("locale", LOCALES)
def test_waiting_for_staff_the_shopper_hears_how_to_cancel_help_put_aside_or_own_a_bag(locale):
    """Issue 21: the attendant prompt says the words the recognizer listens for, and only
    while the shopper may use them (not once staff are here); an unexpected item in the
    bagging area names "I brought a bag"."""
    from kiosk_voice.intents import LANGUAGES

    from kiosk.domain.languages import language_of
    from kiosk.domain.vocabulary import accepts
    from kiosk.services.voice.accessible import actions_for

    intents = LANGUAGES[language_of(locale)].intents
    p = Prompts(locale)
    for reason, way in (("help", "cancel_help"), ("unknown_barcode", "put_aside"),
                        ("unexpected_item", "own_bag")):
        msg = state_msg("attendant_needed", accepts=list(accepts("attendant_needed")),
                        attendant={"reason": reason, "return_to": "shopping"})
        said = p.state(msg).text.replace(" ", "")
        keys = [k.replace(" ", "") for k in intents[way].keys]
        assert any(k.lower() in said.lower() for k in keys), (said, keys)
        assert actions_for(msg)[0] == way          # the keys reach it first
        other = "put_aside" if way == "cancel_help" else "cancel_help"
        assert other not in actions_for(msg)
        staff = p.state({**msg, "staff": {"name": "Sam"}}).text.replace(" ", "")
        assert not any(k.lower() in staff.lower() for k in keys), staff
        assert way not in actions_for({**msg, "staff": {"name": "Sam"}})
