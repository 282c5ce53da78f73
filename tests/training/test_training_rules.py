"""Training mode in the pure checkout: staff-only in and out with an empty basket, every
training session's transaction marked, every payment to the training method; the receipt's
mark, the light's pattern, the screen's banner and the sales figures (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.bus.light import light_for
from kiosk.domain.receipt import build_receipt, render_text
from kiosk.domain.training import TRAINING_METHOD, is_training_txn
from kiosk.i18n import translator
from kiosk.journal.figures import SalesFigures, sales_figures
from kiosk.journal.store import Entry
from kiosk.ui.viewmodel import build_view
from tests.fixtures.sample_items import MILK
from tests.unit.test_checkout import PIN, T0, Lane, cmd, types


@pytest.fixture
def lane(config, catalog) -> Lane:
    return Lane(config, catalog)


def staff_action(lane: Lane, action: str, at: float) -> list[dict]:
    """What staff do at a lane: call (help), sign in, act."""
    if lane.state.state != "attendant_needed":
        lane.do(cmd("help"), at=at)
    lane.do(cmd("staff_pin", pin=PIN), at=at + 1)
    return lane.do(cmd("attendant", action=action), at=at + 2)


def test_staff_switch_a_lane_into_training_and_its_sessions_are_marked(lane):
    lane.do(cmd("help"), at=T0)
    lane.reject(cmd("attendant", action="training_on"), "staff_required")
    events = staff_action(lane, "training_on", T0)
    assert [(e["type"], e["staff_id"]) for e in events] == [("training_started", "S100")]
    assert (lane.state.state, lane.state.training, lane.state.txn) == ("attract", True, None)
    lane.do(cmd("scan", code=MILK), at=T0 + 10)
    assert lane.state.txn == "TRAIN-S001-L01-000002" and is_training_txn(lane.state.txn)
    lane.do(cmd("checkout"), at=T0 + 11)
    [pay] = lane.do(cmd("pay", method="card"), at=T0 + 12)  # the shopper chose card
    assert (pay["method"], pay["idem_key"]) == (TRAINING_METHOD, "TRAIN-S001-L01-000002-000001")


def sign_in(lane: Lane, at: float) -> None:
    lane.do(cmd("help"), at=at)
    lane.do(cmd("staff_pin", pin=PIN), at=at + 1)


def test_training_is_switched_only_with_an_empty_basket(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    sign_in(lane, T0 + 1)
    lane.reject(cmd("attendant", action="training_on"), "basket_not_empty")
    lane.do(cmd("attendant", action="void_line", line_id=1), at=T0 + 5)
    assert types(staff_action(lane, "training_on", T0 + 6)) == ["training_started"]
    lane.reject(cmd("attendant", action="training_on"), "not_allowed_now")  # in attract
    # in training with an item: leaving needs the basket empty first
    lane.do(cmd("scan", code=MILK), at=T0 + 20)
    sign_in(lane, T0 + 21)
    lane.reject(cmd("attendant", action="training_on"), "training_already_on")
    lane.reject(cmd("attendant", action="training_off"), "basket_not_empty")
    lane.do(cmd("attendant", action="cancel_basket"), at=T0 + 25)
    assert types(staff_action(lane, "training_off", T0 + 30)) == ["training_ended"]
    assert (lane.state.state, lane.state.training) == ("attract", False)
    lane.do(cmd("scan", code=MILK), at=T0 + 40)
    assert not is_training_txn(lane.state.txn)
    sign_in(lane, T0 + 41)
    lane.reject(cmd("attendant", action="training_off"), "training_not_on")


def test_training_survives_a_restart(lane):
    """The mode is state, rebuilt from the journal like the rest (a snapshot too)."""
    from kiosk.domain.checkout import CheckoutState, replay

    staff_action(lane, "training_on", T0)
    assert replay(lane.log).training is True
    assert CheckoutState.from_dict(lane.state.as_dict()).training is True
    before = {k: v for k, v in lane.state.as_dict().items() if k != "training"}
    assert CheckoutState.from_dict(before, 1).training is False  # a snapshot from before


def test_the_receipt_is_marked_and_the_light_blinks(lane, config):
    staff_action(lane, "training_on", T0)
    lane.do(cmd("scan", code=MILK), at=T0 + 10)
    when = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    for locale, mark in (("en", "TRAINING — NOT A RECEIPT"), ("ko", "교육용 — 영수증 아님"),
                         ("zh_Hans", "培训模式 — 非正式小票")):
        lane.state.locale = locale
        text = render_text(build_receipt(lane.state, config, when, translator))
        first, last = text.strip().splitlines()[1], text.strip().splitlines()[-1]
        assert mark in first and mark in last, text
    state = {**lane.state.as_dict(), "training": True}
    assert str(light_for(state, True, door_open=False)) == "green blinking"
    assert str(light_for({**state, "training": False}, True, door_open=False)) == "green"
    assert str(light_for({**state, "state": "attendant_needed"}, True, False)) == "amber"


def test_every_screen_knows_it_is_training(lane):
    msg = {"v": 1, "type": "state", "seq": 1, "state": "attract", "training": True,
           "accepts": [], "locales": ["en"], "locale": "en"}
    assert build_view(msg, True).training is True
    assert build_view({**msg, "training": False}, True).training is False


def test_sales_figures_leave_training_out():
    def sale(seq: int, txn: str, amount: int) -> list[Entry]:
        return [Entry(seq, T0, "auth_requested", txn, {"stan": seq, "amount": amount}),
                Entry(seq + 1, T0, "auth_approved", txn, {"stan": seq})]

    entries = [*sale(1, "S001-L01-000001", 189), *sale(3, "TRAIN-S001-L01-000002", 500),
               *sale(5, "S001-L01-000003", 1000),
               Entry(7, T0, "auth_requested", "S001-L01-000004", {"stan": 7, "amount": 9})]
    assert sales_figures(entries) == SalesFigures(sales=2, amount=1189, training_sales=1)


def test_the_training_method_is_never_offered_to_shoppers(lane):
    from kiosk.payments.registry import MethodError, check

    with pytest.raises(MethodError, match="training lane's own method"):
        check(["card", "training"], {}, production=False)
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("checkout"), at=T0 + 1)
    lane.reject(cmd("pay", method=TRAINING_METHOD), "unknown_method")  # not in training
