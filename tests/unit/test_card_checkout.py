"""Card payment commands and events in the pure state machine (issue #4, section 6).

choose_app / cancel while authorizing, the two ways a cancel ends (nothing sent:
declined "cancelled", no reversal; request sent: reversed, "not charged"), the
clock refusal, the receipt choice, and that none of it can be done twice.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.bus.messages import MessageError, command, encode, parse_command
from kiosk.domain.checkout import InvalidEvent, apply, due_timer_events, replay
from kiosk.domain.receipt import build_receipt, render_text
from kiosk.i18n import translator
from kiosk.payments.port import MESSAGE_KEYS, AuthResult, safe_card, safe_step
from kiosk.services.core import message_key
from tests.unit.test_checkout import T0, Lane, cmd, to_authorizing, to_payment, types

APPS = [{"label": "VISA CREDIT"}, {"label": "UNIONPAY DEBIT"}]


@pytest.fixture
def lane(config, catalog) -> Lane:
    return Lane(config, catalog)


def prompt(lane: Lane, step: str = "choose_app") -> None:
    """What kiosk-core hands decide(): the port's last step for this attempt."""
    lane.step = {"stan": lane.state.payment["stan"], "step": step,
                 **({"apps": APPS} if step == "choose_app" else {})}


def test_choose_app_only_when_the_card_asks(lane):
    to_authorizing(lane)
    lane.reject(cmd("choose_app", index=0), "not_allowed_now")   # no prompt yet
    prompt(lane, "reading")
    lane.reject(cmd("choose_app", index=0), "not_allowed_now")
    prompt(lane)
    lane.reject(cmd("choose_app", index=2), "unknown_application")
    [ev] = lane.do(cmd("choose_app", index=1))
    assert ev == {"type": "app_chosen", "v": 1, "stan": 1, "index": 1, "label": "UNIONPAY DEBIT",
                  "ts": lane.now}
    assert lane.state.payment["app"] == {"index": 1, "label": "UNIONPAY DEBIT"}
    assert lane.state.state == "authorizing"


def test_a_second_choice_for_the_same_prompt_changes_nothing(lane):
    to_authorizing(lane)
    prompt(lane)
    lane.do(cmd("choose_app", index=0))
    prompt(lane, "reading")   # kiosk-core moves the step on as it passes the choice to the port
    lane.reject(cmd("choose_app", index=1), "app_already_chosen")
    lane.reject(cmd("choose_app", index=0), "app_already_chosen")
    assert lane.state.payment["app"]["index"] == 0
    # a card that asks again (its first choice failed GPO) may be answered again
    prompt(lane)
    assert types(lane.do(cmd("choose_app", index=1))) == ["app_chosen"]


def test_choose_app_outside_authorizing_is_rejected(lane):
    to_payment(lane)
    lane.reject(cmd("choose_app", index=0), "not_allowed_now")


def test_cancel_while_authorizing_is_journaled_once(lane):
    to_authorizing(lane)
    prompt(lane)
    [ev] = lane.do(cmd("cancel"))
    assert (ev["type"], ev["stan"], ev["by"]) == ("cancel_requested", 1, "shopper")
    assert lane.state.state == "authorizing" and lane.state.payment["cancel"] == "shopper"
    lane.reject(cmd("cancel"), "cancel_in_progress")
    lane.reject(cmd("choose_app", index=0), "cancel_in_progress")
    lane.reject(cmd("pay", method="card"), "payment_in_progress")
    lane.reject(cmd("pay", method="qr"), "payment_in_progress")


def test_cancel_before_the_request_left_declines_with_no_reversal(lane):
    to_authorizing(lane)
    lane.do(cmd("cancel"))
    lane.device("auth_declined", stan=1, reason="cancelled", message_key="cancelled")
    s = lane.state
    assert s.state == "declined" and s.reversal is None
    assert (s.payment["reason"], s.payment["message"]) == ("cancelled", "cancelled")
    # a double tap on cancel does not go on to void the basket; a later cancel does
    lane.reject(cmd("cancel"), "already_cancelled")
    # the shopper may pay again at once, with a new STAN
    [ev] = lane.do(cmd("pay", method="card"))
    assert ev["stan"] == 2 and ev["idem_key"].endswith("000002")


def test_cancel_after_the_request_left_reverses_and_says_not_charged(lane):
    to_authorizing(lane)
    prompt(lane, "authorizing")
    lane.do(cmd("cancel"))
    lane.device("auth_failed", stan=1, reason="cancelled")
    s = lane.state
    assert s.state == "reversing" and s.reversal["stan"] == 1
    assert s.notice == "not_charged"
    lane.reject(cmd("pay", method="card"), "payment_in_progress")
    lane.device("reversal_result", stan=1, ok=True)
    assert lane.state.state == "payment" and lane.state.notice == "not_charged"
    assert lane.state.reversal is None
    lane.reject(cmd("cancel"), "already_cancelled")
    lane.now += 5
    assert types(lane.do(cmd("cancel"))) == ["basket_voided"]


def test_a_late_answer_after_the_cancel_cannot_follow(lane):
    to_authorizing(lane)
    lane.do(cmd("cancel"))
    lane.device("auth_declined", stan=1, reason="cancelled", message_key="cancelled")
    with pytest.raises(InvalidEvent):
        apply(lane.state, {"type": "auth_approved", "ts": T0 + 99, "stan": 1, "auth_code": "X"})
    with pytest.raises(InvalidEvent):
        apply(lane.state, {"type": "app_chosen", "ts": T0 + 99, "stan": 1, "index": 0,
                           "label": "VISA"})


@pytest.mark.parametrize("reason", ["card_removed", "card_timeout", "card_blocked",
                                    "unsupported_card", "no_application"])
def test_card_aborts_are_declines_with_their_message(lane, reason):
    to_authorizing(lane)
    lane.device("auth_declined", stan=1, reason=reason, message_key=reason)
    assert lane.state.state == "declined" and lane.state.reversal is None
    assert lane.state.payment["message"] == reason


def test_pay_is_refused_while_the_clock_is_not_synchronized(lane):
    to_payment(lane)
    lane.clock_synced = False
    lane.reject(cmd("pay", method="card"), "clock_not_synced")
    lane.reject(cmd("pay", method="qr"), "clock_not_synced")
    lane.clock_synced = True
    assert types(lane.do(cmd("pay", method="card"))) == ["auth_requested"]


def approve(lane: Lane) -> None:
    to_authorizing(lane)
    lane.device("auth_approved", at=T0 + 21, stan=1, auth_code="A1B2C3", rrn="123456789012",
                response_code="00",
                card={"brand": "VISA", "masked_pan": "476173******0119", "aid": "A0000000031010",
                      "label": "VISA CREDIT", "entry": "chip", "tvr": "0000008000"})


def test_receipt_print_waits_for_the_printer(lane):
    approve(lane)
    assert lane.state.payment["rrn"] == "123456789012"
    [ev] = lane.do(cmd("receipt", choice="print"), at=T0 + 22)
    assert (ev["choice"], ev["by"]) == ("print", "shopper")
    assert lane.state.state == "approved"
    lane.reject(cmd("receipt", choice="none"), "receipt_already_chosen")
    lane.reject(cmd("receipt", choice="print"), "receipt_already_chosen")
    lane.device("receipt_printed", at=T0 + 23, path="/r", ok=True, reason="")
    assert lane.state.state == "receipt"
    lane.reject(cmd("receipt", choice="print"), "not_allowed_now")


def test_no_receipt_goes_straight_to_the_receipt_screen(lane):
    approve(lane)
    lane.do(cmd("receipt", choice="none"), at=T0 + 22)
    s = lane.state
    assert s.state == "receipt" and s.receipt == {"path": "", "ok": True, "printed": False}
    assert s.payment["receipt_choice"] == "none"
    lane.reject(cmd("receipt", choice="print"), "not_allowed_now")
    assert types(lane.do(cmd("done"))) == ["session_finished"]


def test_no_choice_prints_after_the_choice_timeout(lane):
    approve(lane)
    limit = lane.config.timeouts.receipt_choice_s
    assert due_timer_events(lane.state, lane.config, T0 + 21 + limit - 0.01) == []
    assert lane.timers(T0 + 21 + limit) == [
        {"type": "receipt_chosen", "v": 1, "choice": "print", "by": "timeout",
         "ts": T0 + 21 + limit}]
    assert due_timer_events(lane.state, lane.config, T0 + 999) == []  # once only
    with pytest.raises(InvalidEvent):
        apply(lane.state, {"type": "receipt_chosen", "ts": T0 + 99, "choice": "none",
                           "by": "shopper"})


def test_replay_rebuilds_a_card_attempt(lane):
    to_authorizing(lane)
    prompt(lane)
    lane.do(cmd("choose_app", index=1))
    lane.do(cmd("cancel"))
    lane.device("auth_failed", stan=1, reason="cancelled")
    lane.device("reversal_result", stan=1, ok=True)
    approve_again = lane.do(cmd("pay", method="card"))
    assert approve_again[0]["stan"] == 2
    assert replay(lane.log).as_dict() == lane.state.as_dict()


def test_receipt_shows_aid_label_entry_codes_and_last_four_only(lane):
    approve(lane)
    lane.do(cmd("receipt", choice="print"), at=T0 + 22)
    text = render_text(build_receipt(lane.state, lane.config,
                                     dt.datetime(2026, 11, 25, 14, 0, tzinfo=dt.UTC), translator))
    for part in ("Visa **** 0119", "VISA CREDIT", "AID", "A0000000031010", "Chip",
                 "A1B2C3", "123456789012"):
        assert part in text, part
    assert "476173" not in text and "******" not in text


# -- bus messages ----------------------------------------------------------------------------

def test_choose_app_and_receipt_messages_validate():
    assert parse_command(encode(command("choose_app", index=1)), 4096)["index"] == 1
    assert parse_command(encode(command("receipt", source="voice", choice="none")),
                         4096)["choice"] == "none"
    for bad in ({"type": "choose_app", "index": -1}, {"type": "choose_app", "index": 8},
                {"type": "choose_app"}, {"type": "receipt", "choice": "email"},
                {"type": "receipt"}):
        raw = encode({"v": 1, "id": "abcd1234", "source": "ui", **bad})
        with pytest.raises(MessageError):
            parse_command(raw, 4096)


# -- the port's data hygiene -----------------------------------------------------------------

def test_safe_card_keeps_only_journal_safe_facts():
    card = {"brand": "VISA", "masked_pan": "4761739001010119", "pan": "4761739001010119",
            "track2": "4761739001010119D2512", "name": "CARDHOLDER/TEST", "aid": "A0000000031010",
            "label": "VISA CREDIT", "entry": "chip", "tvr": "0000008000", "arqc": "1122"}
    assert safe_card(card) == {"brand": "VISA", "aid": "A0000000031010",
                               "label": "VISA CREDIT", "entry": "chip", "tvr": "0000008000",
                               "arqc": "1122"}
    assert safe_card({"masked_pan": "476173******0119"}) == {"masked_pan": "476173******0119"}
    assert safe_card(None) == {}


def test_safe_step_publishes_only_the_step_and_labels():
    assert safe_step({"step": "reading", "pan": "4761"}) == {"step": "reading"}
    assert safe_step({"step": "choose_app", "apps": [{"label": "VISA", "aid": "A0"}] * 12}) == {
        "step": "choose_app", "apps": [{"label": "VISA"}] * 8}
    assert safe_step({"step": "format_disk"}) is None
    assert safe_step("reading") is None


@given(st.text(max_size=20), st.text(max_size=20))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_every_decline_gets_a_known_shopper_message(key, reason):
    assert message_key(AuthResult("declined", reason=reason, message_key=key)) in MESSAGE_KEYS


def test_message_key_prefers_the_ports_key_then_the_reason():
    assert message_key(AuthResult("declined", reason="card_removed")) == "card_removed"
    assert message_key(AuthResult("declined", reason="05", message_key="try_later")) == "try_later"
    assert message_key(AuthResult("declined", reason="do_not_honour")) == "card_declined"



def test_touch_extends_the_receipt_question(lane):
    ev = to_authorizing(lane)
    at = lane.now + 1
    lane.device("auth_approved", at=at, stan=ev["stan"], auth_code="A1", card={})
    assert lane.state.state == "approved"
    limit = lane.config.timeouts.receipt_choice_s
    assert types(due_timer_events(lane.state, lane.config, at + limit)) == ["receipt_chosen"]
    assert types(lane.do(cmd("touch"), at=at + limit - 1)) == ["activity"]
    assert due_timer_events(lane.state, lane.config, at + limit) == []
    due = due_timer_events(lane.state, lane.config, at + 2 * limit - 1)
    assert types(due) == ["receipt_chosen"] and due[0]["by"] == "timeout"
