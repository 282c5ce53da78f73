"""The view model: state message → screen, light and translated, formatted texts (no Kivy)."""

from __future__ import annotations

import time

import pytest

from kiosk.bus.light import light_for
from kiosk.domain.cards import shown_pan
from kiosk.domain.vocabulary import accepts
from kiosk.payments.card_method import CardMethod
from kiosk.ui.i18n import Translator, endonym
from kiosk.ui.viewmodel import build_view, rejection_text

pytestmark = pytest.mark.ui


def state(**over) -> dict:
    msg = {
        "v": 1, "type": "state", "seq": 7, "state": "shopping", "locale": "en",
        "locales": ["en", "zh_Hans", "ko"], "currency": {"code": "USD", "exponent": 2},
        "txn": "S001-L01-000001", "last_line_id": 2, "attendant": None, "staff": None,
        "payment": None, "receipt": None, "notice": None, "idle_warning_at": None,
        "idle_void_at": None, "server_time": 1000.0,
        "lines": [
            {"line_id": 1, "key": "00070666928444", "gtin": "00070666928444",
             "names": {"en": "Cup Noodles", "zh": "杯面", "ko": "컵누들"},
             "unit_price_minor": 99, "qty": 3, "weight_g": None, "price_minor": None,
             "age_status": "none", "amount": 297},
            {"line_id": 2, "key": "PLU04011", "gtin": None,
             "names": {"en": "Bananas", "zh": "香蕉", "ko": "바나나"},
             "unit_price_minor": 199, "qty": 1, "weight_g": 850, "price_minor": None,
             "age_status": "none", "amount": 169},
        ],
        "totals": {"subtotal": 466, "savings": 99, "tax": 8, "total": 375,
                   "tax_mode": "exclusive",
                   "discounts": [{"promotion_id": "CUP", "amount": 99,
                                  "names": {"en": "Cup Noodles 3 for 2", "zh": "杯面 买三付二",
                                            "ko": "컵누들 3개 구매 시 2개 가격"}}]},
    }
    msg.update(over)
    msg.setdefault("accepts", list(accepts(msg["state"])))  # as kiosk-core publishes it
    return msg


@pytest.mark.parametrize(("core_state", "screen", "light"), [
    ("attract", "attract", "green"), ("shopping", "shopping", "green"),
    ("attendant_needed", "attendant", "amber"), ("payment", "payment", "green"),
    ("authorizing", "authorizing", "green"), ("approved", "approved", "green"),
    ("declined", "declined", "amber"), ("receipt", "receipt", "green"),
    ("reversing", "reversing", "amber"), ("payment_unavailable", "payment_unavailable", "amber"),
    ("out_of_service", "out_of_service", "red"),
])
def test_every_checkout_state_has_its_screen_and_the_tower_lights_colour(core_state, screen,
                                                                          light):
    msg = state(state=core_state)
    v = build_view(msg, online=True)
    assert (v.screen, v.light) == (screen, light)
    assert v.light == light_for(msg, True, door_open=False).color


def test_core_down_or_unknown():
    assert build_view(state(), online=False).screen == "out_of_service"
    assert build_view(state(), online=False).light == "red"
    assert build_view(None, online=False).screen == "out_of_service"
    assert build_view(None, online=None).screen == "starting"
    # while the core is down the shopper may still pick a language
    assert build_view(state(), online=False, locale="ko").locale == "ko"


def test_basket_in_english():
    v = build_view(state(), online=True)
    assert [r.name for r in v.rows] == ["Cup Noodles", "Bananas"]
    assert v.rows[0].detail == "3 × $0.99" and v.rows[0].countable
    assert v.rows[1].detail == "0.850 kg × $1.99/kg" and not v.rows[1].countable
    assert [r.highlight for r in v.rows] == [False, True]   # the last scanned line
    assert (v.total, v.savings, v.item_count) == ("$3.75", "$0.99", "4 items")
    assert v.discounts == (("Cup Noodles 3 for 2", "-$0.99"),)
    assert v.can_pay and v.can_help


def test_basket_in_chinese_and_korean():
    zh = build_view(state(locale="zh_Hans"), online=True)
    assert [r.name for r in zh.rows] == ["杯面", "香蕉"]
    assert zh.rows[1].detail == "0.850 千克 × US$1.99/千克"
    assert zh.item_count == "4 件商品" and zh.tax_label == "税"
    ko = build_view(state(locale="ko"), online=True)
    assert ko.discounts[0][0] == "컵누들 3개 구매 시 2개 가격"
    assert ko.item_count == "상품 4개" and ko.total == "US$3.75"


def test_won_prices():
    v = build_view(state(locale="ko", currency={"code": "KRW", "exponent": 0}), online=True)
    assert v.total == "₩375"


def test_idle_countdown_uses_the_cores_deadline():
    now = time.monotonic()
    v = build_view(state(idle_warning_at=990.0, idle_void_at=1027.0), online=True,
                   received_at=now)
    assert v.idle_deadline == pytest.approx(now + 27.0)
    assert build_view(state(state="authorizing", idle_warning_at=990.0, idle_void_at=1027.0),
                      online=True).idle_deadline is None


def test_notices_and_rejections_are_translated():
    v = build_view(state(state="attendant_needed", notice="pin_wrong",
                         attendant={"reason": "age_restricted", "line_id": 1}, locale="ko"),
                   online=True)
    assert v.notice == "PIN이 틀렸습니다. 다시 입력하세요." and v.attendant_item == "컵누들"
    assert build_view(state(state="attract", lines=[], notice="voided_idle"),
                      online=True).notice.startswith("The last order was cancelled")
    t = Translator("zh_Hans")
    assert rejection_text("needs_weight", t) == "此商品按重量销售，请称重。"
    assert rejection_text("something_new", t) == "出现问题，请重试。"


def test_language_names_are_endonyms():
    assert [endonym(x) for x in ("en", "zh_Hans", "ko")] == ["English", "简体中文", "한국어"]


# -- card payments (issue #4): the port's step picks the screen ------------------------------

def card_state(state: str = "authorizing", **payment) -> dict:
    pay = {"method": "card", "amount": 375, "stan": 3, "status": state, **payment}
    return globals()["state"](state=state, payment=pay)


@pytest.mark.parametrize(("step", "screen", "cancellable"), [
    ("insert_card", "card_insert", True), ("reading", "card_reading", True),
    ("choose_app", "choose_app", True), ("unsupported_card", "card_reading", False),
    ("authorizing", "authorizing", False), ("remove_card", "remove_card", False),
    (None, "authorizing", False),
])
def test_card_steps_pick_the_screen(step, screen, cancellable):
    v = build_view(card_state(step=step), online=True)
    assert v.screen == screen and v.can_cancel_card is cancellable
    assert v.light == "green"


def test_no_cancel_button_once_a_cancel_is_on_its_way():
    v = build_view(card_state(step="choose_app", cancel="shopper"), online=True)
    assert v.screen == "choose_app" and not v.can_cancel_card


def test_choose_app_lists_the_labels_as_the_card_names_them():
    v = build_view(card_state(step="choose_app",
                              apps=[{"label": "VISA CREDIT"}, {"label": "UNIONPAY DEBIT"}]),
                   online=True)
    assert v.apps == ("VISA CREDIT", "UNIONPAY DEBIT")


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
@pytest.mark.parametrize("key", ["card_declined", "try_later", "partial_not_supported",
                                 "card_removed", "card_timeout", "card_blocked",
                                 "no_application", "unsupported_card", "not_charged",
                                 "cancelled", "clock_not_synced", "card_read_error"])
def test_every_decline_message_is_translated(key, locale):
    v = build_view({**card_state("declined", message=key, reason="x"), "locale": locale},
                   online=True)
    assert v.screen == "declined" and v.decline_key == key and v.decline_message
    if locale != "en":
        english = build_view(card_state("declined", message=key, reason="x"), online=True)
        assert v.decline_message != english.decline_message


def test_a_decline_without_a_key_says_card_declined():
    v = build_view(card_state("declined", reason="do_not_honour"), online=True)
    assert v.decline_message == "Your bank did not approve this payment."


def test_approved_asks_for_the_receipt_until_chosen_and_prompts_card_removal():
    v = build_view(card_state("approved", auth_code="A1", step="remove_card"), online=True)
    assert v.screen == "approved" and v.receipt_choice == "" and v.remove_card
    v = build_view(card_state("approved", auth_code="A1", receipt_choice="print"), online=True)
    assert v.receipt_choice == "print" and not v.remove_card


def test_not_charged_notice_on_the_payment_screen():
    v = build_view({**state(state="payment"), "notice": "not_charged"}, online=True)
    assert v.screen == "payment"
    assert v.notice == "The payment was cancelled. You have not been charged."


def test_clock_refusal_is_explained_and_double_taps_are_silent():
    t = Translator("ko")
    assert rejection_text("clock_not_synced", t) == (
        "지금은 결제할 수 없습니다. 직원에게 문의하세요.")
    for reason in ("cancel_in_progress", "already_cancelled", "app_already_chosen",
                   "receipt_already_chosen"):
        assert rejection_text(reason, t) == ""


# -- a card left in the reader (issue 14, item 1) -------------------------------------------

@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_a_card_left_in_the_reader_takes_the_idle_and_insert_screens(locale):
    idle = build_view(state(state="attract", lines=[], txn=None, card_left=True, locale=locale),
                      online=True)
    assert (idle.screen, idle.light, idle.card_left) == ("take_card", "amber", True)
    insert = build_view({**card_state(step="insert_card"), "card_left": True, "locale": locale},
                        online=True)
    assert insert.screen == "take_card" and insert.can_cancel_card and insert.card_step
    pay = build_view(state(state="payment", card_left=True, locale=locale), online=True)
    assert pay.screen == "payment" and pay.light == "amber"
    english = build_view(state(state="payment", card_left=True), online=True).notice
    assert english == "A card was left in the card reader. Please take it with you."
    assert pay.notice and (locale == "en" or pay.notice != english)
    taken = build_view(state(state="attract", lines=[], txn=None, card_left=False), online=True)
    assert taken.screen == "attract" and taken.light == "green"


@pytest.mark.parametrize("locale", ["zh_Hans", "ko"])
def test_the_take_card_page_texts_are_translated(locale):
    from kiosk.ui.screens import TakeCardPage  # noqa: F401 - the page these texts are from

    t = Translator(locale)
    for msgid in ("Please take your card",
                  "A card was left in the card reader. Please take it with you.",
                  "A card from an earlier sale is still in the reader. Take it out, then"
                  " insert your card.",
                  "We could not read your card. Try again or use another card."):
        assert t.tr(msgid) != msgid, msgid


def test_the_help_button_shows_where_the_state_accepts_help() -> None:
    shown = [name for name in ("attract", "shopping", "attendant_needed", "payment",
                               "authorizing", "declined", "payment_unavailable", "receipt")
             if build_view(state(state=name), online=True).can_help]
    # every screen a shopper meets (issue 21); the attendant screen is help already
    assert shown == ["attract", "shopping", "payment", "authorizing", "declined",
                     "payment_unavailable", "receipt"]
    # read from the published ``accepts``, never restated from the state's name
    assert not build_view(state(accepts=["scan", "checkout"]), online=True).can_help
    assert build_view(state(state="receipt", accepts=["done", "help"]), online=True).can_help


# -- issue 21: screens that tell the truth ------------------------------------------------

def test_no_receipt_chosen_is_not_a_printed_receipt():
    chose_none = card_state("receipt", receipt_choice="none")
    chose_none["receipt"] = {"path": "", "ok": True, "printed": False}
    assert build_view(chose_none, online=True).receipt_paper == "none"
    printed = card_state("receipt", receipt_choice="print")
    printed["receipt"] = {"path": "/r", "ok": True}
    assert build_view(printed, online=True).receipt_paper == "printed"
    printed["receipt"] = {"path": None, "ok": False}
    assert build_view(printed, online=True).receipt_paper == "failed"


@pytest.mark.parametrize(("card", "brand"), [
    ({"brand": "visa", "masked_pan": "476173******0119"}, "Visa"),
    ({"brand": "UNIONPAY", "masked_pan": "******0119"}, "UnionPay"),
    ({"brand": "acme", "masked_pan": "************0119"}, "acme"),
])
def test_a_card_shows_its_brand_name_and_last_4_digits_as_on_the_receipt(card, brand):
    v = build_view(card_state("approved", auth_code="A1", card=card), online=True)
    assert v.card == f"{brand} {shown_pan(card['masked_pan'])}"   # the receipt's one rule
    assert "0119" in v.card and "476173" not in v.card


def test_help_is_offered_on_every_screen_a_shopper_meets():
    for name in ("attract", "shopping", "payment", "declined", "receipt"):
        assert build_view(state(state=name), online=True).can_help, name
    for step in ("insert_card", "authorizing"):
        assert build_view(card_state(step=step), online=True).can_help, step
    assert build_view(card_state("approved"), online=True).can_help


def test_an_open_help_call_can_be_cancelled_until_staff_sign_in():
    called = card_state("approved", auth_code="A1")
    called["attendant"] = {"reason": "help", "return_to": "approved"}
    assert build_view(called, online=True).help_called
    waiting = state(state="attendant_needed", attendant={"reason": "help"})
    assert build_view(waiting, online=True).help_called
    assert not build_view({**waiting, "staff": {"name": "Sam"}}, online=True).help_called
    unknown = state(state="attendant_needed", attendant={"reason": "unknown_barcode",
                                                         "code": "1234567890128"})
    v = build_view(unknown, online=True)
    assert v.can_put_aside and not v.help_called


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
@pytest.mark.parametrize("key", ["cancelled", "card_declined", "not_charged", "try_later"])
def test_the_declined_body_is_not_its_title(key, locale):
    v = build_view({**card_state("declined", message=key, reason="x"), "locale": locale},
                   online=True)
    assert v.decline_title and v.decline_message
    assert v.decline_title not in v.decline_message


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_the_payment_screen_says_what_the_lane_accepts(locale):
    msg = {**state(state="payment"), "locale": locale, "methods": [CardMethod.offer()]}
    v = build_view(msg, online=True)
    t = Translator(locale)
    assert v.accepted_here == t.tr("Accepted here: {methods}", methods=t.tr("Card"))
    assert v.methods[0].hint == t.tr("Chip cards only: insert the card. No tap, no swipe.")


@pytest.mark.parametrize("locale, shown", [("en", "Jan 19, 2015"), ("zh_Hans", "2015年1月19日"),
                                           ("ko", "2015. 1. 19.")])
def test_an_expired_items_date_is_written_as_the_locale_writes_dates(locale, shown):
    """The attendant screen of an expired item shows the date it is past as the receipt
    screen shows its date, not the ISO text of the GS1 data ("2015-01-19")."""
    msg = state(state="attendant_needed", locale=locale, attendant={
        "reason": "item_expired", "detail": "17:2015-01-19", "since": 1000.0,
        "return_to": "shopping"})
    assert build_view(msg, online=True).attendant_detail == shown
