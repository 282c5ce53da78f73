"""Shopper feedback in the checkout (issue 18): the ``rate`` command on the receipt screen,
the one ``shopper_rating`` a sale gets, its reasons and the basket's step timings, and the
refusal of a rating or reason the lane does not know."""

from __future__ import annotations

import pytest

from kiosk.config import load_config
from kiosk.domain.checkout import CheckoutState, Context, Rejected, apply, decide
from kiosk.domain.events import InvalidEvent
from kiosk.domain.feedback import REASONS, STEP_FIELDS, step_timings

T0 = 1_700_000_000.0
STEPS = {"scan_to_pay_ms": 41_000, "pay_to_approved_ms": 9_500,
         "approved_to_receipt_ms": 1_200, "scan_to_receipt_ms": 51_700}


@pytest.fixture(scope="module")
def config():
    return load_config(environ={})


def _ctx(config, pending: dict | None = None) -> Context:
    def nobody(*_a):
        return None, "x"
    return Context(config, lambda _g: None, lambda _p: None, nobody, nobody, now=T0,
                   rating=pending, steps=lambda: dict(STEPS))


def _receipt(training: bool = False) -> CheckoutState:
    return CheckoutState(state="receipt", txn="S001-L01-000007", receipt={"path": "", "ok": True},
                         training=training)


def _rate(config, state, pending=None, **fields):
    return decide(state, {"type": "rate", "source": "ui", **fields}, _ctx(config, pending))


def test_a_good_rating_is_one_event_with_the_step_timings(config):
    [ev] = _rate(config, _receipt(), rating=3)
    assert ev == {"type": "shopper_rating", "v": 1, "rating": 3, "reasons": [], "by": "ui",
                  "training": False, **STEPS}
    s = _receipt()
    apply(s, {**ev, "ts": T0})
    assert (s.state, s.receipt["rating"]) == ("receipt", 3)
    with pytest.raises(Rejected, match="already_rated"):
        _rate(config, s, rating=1)
    with pytest.raises(InvalidEvent):  # never twice in one sale, nor off the receipt screen
        apply(s, {**ev, "ts": T0})
    with pytest.raises(InvalidEvent):
        apply(CheckoutState(state="shopping", txn="t"), {**ev, "ts": T0})


def test_a_low_rating_waits_for_its_reasons_then_carries_them(config):
    assert _rate(config, _receipt(), rating=1) == []  # "what went wrong?" (the core holds it)
    pending = {"rating": 1, "by": "voice"}
    [ev] = _rate(config, _receipt(), pending, reasons=["too_slow", "scanning"])
    assert (ev["rating"], ev["reasons"], ev["by"]) == (1, ["scanning", "too_slow"], "voice")
    [ev] = _rate(config, _receipt(), pending, reasons=[])  # skipped
    assert (ev["rating"], ev["reasons"]) == (1, [])
    [ev] = _rate(config, _receipt(), None, rating=2, reasons=["payment"])  # at once
    assert (ev["rating"], ev["reasons"]) == (2, ["payment"])
    [ev] = _rate(config, _receipt(training=True), None, rating=2, reasons=[])
    assert ev["training"] is True


@pytest.mark.parametrize(("fields", "reason"), [
    ({"rating": 0}, "bad_rating"),
    ({"rating": 4}, "bad_rating"),
    ({"rating": -1}, "bad_rating"),
    ({"rating": "3"}, "bad_rating"),
    ({"rating": True}, "bad_rating"),
    ({"rating": 2.0}, "bad_rating"),
    ({}, "bad_rating"),
    ({"rating": 1, "reasons": ["lost_my_cat"]}, "unknown_reason"),
    ({"rating": 1, "reasons": ["payment", "payment"]}, "unknown_reason"),
    ({"rating": 1, "reasons": "payment"}, "unknown_reason"),
    ({"rating": 3, "reasons": ["payment"]}, "reasons_need_low_rating"),
    ({"reasons": ["payment"]}, "no_rating"),
])
def test_bad_input_is_refused_with_its_reason(config, fields, reason):
    with pytest.raises(Rejected) as info:
        _rate(config, _receipt(), **fields)
    assert info.value.reason == reason
    assert info.value.detail  # says what was wrong


def test_reasons_for_a_good_rating_held_nowhere_are_refused(config):
    with pytest.raises(Rejected, match="reasons_need_low_rating"):
        _rate(config, _receipt(), {"rating": 3, "by": "ui"}, reasons=["other"])


def test_rate_is_taken_only_on_the_receipt_screen(config):
    for state in ("approved", "attract", "shopping"):
        with pytest.raises(Rejected, match="not_allowed_now"):
            _rate(config, CheckoutState(state=state, txn="t"), rating=3)


def test_step_timings_follow_the_basket():
    events = [{"type": "session_started", "ts": T0},
              {"type": "item_added", "ts": T0 + 2.0},
              {"type": "item_added", "ts": T0 + 9.0},
              {"type": "checkout_started", "ts": T0 + 20.0},
              {"type": "back_to_basket", "ts": T0 + 25.0},
              {"type": "checkout_started", "ts": T0 + 30.0},   # the one that was paid
              {"type": "auth_requested", "ts": T0 + 31.0},
              {"type": "auth_approved", "ts": T0 + 34.25},
              {"type": "receipt_chosen", "ts": T0 + 36.0, "choice": "print"},
              {"type": "receipt_printed", "ts": T0 + 38.5}]
    assert step_timings(events) == {"scan_to_pay_ms": 28_000, "pay_to_approved_ms": 4_250,
                                    "approved_to_receipt_ms": 4_250,
                                    "scan_to_receipt_ms": 36_500}
    none = [*events[:8], {"type": "receipt_chosen", "ts": T0 + 35.0, "choice": "none"}]
    assert step_timings(none)["approved_to_receipt_ms"] == 750
    stepped = [{"type": "item_added", "ts": T0 + 50}, {"type": "checkout_started", "ts": T0}]
    assert step_timings(stepped)["scan_to_pay_ms"] is None  # the clock went back: unknown
    assert step_timings([]) == dict.fromkeys(STEP_FIELDS)
    assert len(REASONS) == 6
