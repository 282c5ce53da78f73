"""Unit tests for the pure checkout state machine (kiosk.domain.checkout.decide / apply)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.bus.messages import command, encode, parse_command
from kiosk.domain.checkout import (
    IDLE_STATES,
    MAX_QTY,
    CheckoutState,
    Context,
    InvalidEvent,
    Rejected,
    apply,
    decide,
    due_timer_events,
    replay,
    totals,
)
from kiosk.domain.vocabulary import STATES
from kiosk.security.staff import DEMO_BADGE as BADGE
from kiosk.security.staff import DEMO_PIN as PIN
from kiosk.security.staff import StaffAuthenticator
from tests.fixtures.sample_items import BEER, COLA, MILK
from tests.fixtures.sample_items import CUP_NOODLES as NOODLE

T0 = 1_700_000_000.0

UNKNOWN = "1234567890128"       # valid check digit, not in the catalog
BAD_CHECK = "8801115954256"     # milk with a wrong check digit
BANANA_PRICE = "2004011004857"  # in-store price code: PLU 04011, 4.85
BANANA_WEIGHT = "2504011024379"  # in-store weight code: PLU 04011, 2437 g
BANANA_ZERO = "2504011000007"   # weight 0 g
UNKNOWN_PLU_CODE = "2099999001004"


def cheap_staff(config):
    """check_pin / check_badge stand-ins without scrypt or sealing (the seam decide()
    takes; here a staff_pin command carries a plain ``pin``)."""
    member = config.staff.members[0]

    def check_pin(cmd: dict, now: float):
        return (member, "") if cmd["pin"] == PIN else (None, "pin_wrong")

    def check_badge(code: str, now: float):
        return (member, "") if code == BADGE else (None, "badge_unknown")

    return check_pin, check_badge


class Lane:
    """Drives decide/apply the way kiosk-core does, keeping every applied event."""

    def __init__(self, config, catalog, check_pin=None, check_badge=None, start: float = T0):
        cheap_pin, cheap_badge = cheap_staff(config)
        self.config = config
        self.catalog = catalog
        self.check_pin = check_pin or cheap_pin
        self.check_badge = check_badge or cheap_badge
        self.state = CheckoutState()
        self.log: list[dict] = []
        self.now = start
        self.step: dict | None = None      # the payment port's last progress step
        self.clock_synced = True

    def ctx(self, now: float) -> Context:
        return Context(self.config, self.catalog.by_gtin, self.catalog.by_plu, self.check_pin,
                       self.check_badge, now, clock_synced=self.clock_synced, step=self.step,
                       payment_methods=tuple(self.config.payments.methods))

    def decide(self, cmd: dict, at: float | None = None) -> list[dict]:
        return decide(self.state, cmd, self.ctx(self.now if at is None else at))

    def do(self, cmd: dict, at: float | None = None) -> list[dict]:
        if at is not None:
            self.now = at
        before = copy.deepcopy(self.state.as_dict())
        events = decide(self.state, cmd, self.ctx(self.now))
        assert self.state.as_dict() == before, "decide must not change the state"
        self.commit(events)
        return events

    def commit(self, events: list[dict]) -> None:
        for event in events:
            event["ts"] = self.now
            apply(self.state, event)
            self.log.append(copy.deepcopy(event))

    def device(self, kind: str, at: float | None = None, **data) -> dict:
        if at is not None:
            self.now = at
        event = {"type": kind, **data}
        self.commit([event])
        return event

    def timers(self, at: float) -> list[dict]:
        self.now = at
        events = due_timer_events(self.state, self.config, at)
        self.commit(events)
        return events

    def reject(self, cmd: dict, reason: str) -> Rejected:
        before = copy.deepcopy(self.state.as_dict())
        with pytest.raises(Rejected) as info:
            self.decide(cmd)
        assert info.value.reason == reason
        assert self.state.as_dict() == before
        return info.value


def cmd(kind: str, **fields) -> dict:
    return {"type": kind, **fields}


@pytest.fixture
def lane(config, catalog) -> Lane:
    return Lane(config, catalog)


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def to_payment(lane: Lane, *codes: str, at: float = T0) -> None:
    for i, code in enumerate(codes or (MILK,)):
        lane.do(cmd("scan", code=code), at=at + i)
    lane.do(cmd("checkout"), at=at + 10)
    assert lane.state.state == "payment"


def to_authorizing(lane: Lane, at: float = T0) -> dict:
    to_payment(lane, at=at)
    [ev] = lane.do(cmd("pay", method="card"), at=at + 20)
    assert lane.state.state == "authorizing"
    return ev


# ---------------------------------------------------------------------------
# sessions and the happy path
# ---------------------------------------------------------------------------

def test_scan_in_attract_starts_a_session(lane):
    events = lane.do(cmd("scan", code=MILK), at=T0)
    assert types(events) == ["session_started", "item_added"]
    assert events[0]["txn"] == "S001-L01-000001"
    assert events[0]["txn_seq"] == 1
    s = lane.state
    assert (s.state, s.txn, s.txn_seq, s.entered_at, s.last_activity) == (
        "shopping", "S001-L01-000001", 1, T0, T0)
    [line] = s.lines
    assert (line.line_id, line.key, line.gtin, line.qty) == (1, "08801115954255",
                                                           "08801115954255", 1)
    assert (line.unit_price_minor, line.tax_class, line.age_restricted) == (189, "reduced", False)
    assert line.names["en"] == "Whole Milk 1L"
    assert s.last_line_id == 1


def test_start_command_starts_a_session(lane):
    events = lane.do(cmd("start"), at=T0)
    assert events == [{"type": "session_started", "v": 1, "txn": "S001-L01-000001", "txn_seq": 1,
                       "locale": "en", "ts": T0}]
    assert (lane.state.state, lane.state.txn, lane.state.lines) == (
        "shopping", "S001-L01-000001", [])
    lane.reject(cmd("start"), "not_allowed_now")


def test_language_can_change_during_a_session(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("set_language", locale="zh_Hans"), at=T0 + 1)
    assert (lane.state.locale, lane.state.last_activity) == ("zh_Hans", T0 + 1)
    lane.reject(cmd("set_language", locale="fr"), "unknown_locale")


def test_start_with_a_locale_keeps_that_locale(lane):
    # regression: session_started used to carry the old locale and undo the chosen one
    events = lane.do(cmd("start", locale="ko"), at=T0)
    assert types(events)[-1] == "session_started"
    assert events[-1]["locale"] == "ko"
    assert (lane.state.state, lane.state.locale) == ("shopping", "ko")
    assert replay(lane.log).locale == "ko"


def test_start_with_an_unknown_locale_is_rejected(lane):
    lane.reject(cmd("start", locale="fr"), "unknown_locale")
    assert lane.state.state == "attract"


def test_happy_path_every_transition(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    assert lane.state.state == "shopping"

    assert types(lane.do(cmd("checkout"), at=T0 + 5)) == ["checkout_started"]
    assert (lane.state.state, lane.state.entered_at) == ("payment", T0 + 5)

    [auth] = lane.do(cmd("pay", method="card"), at=T0 + 8)
    # 1.89 + round(1.89 * 2.25%) = 189 + 4
    assert auth == {"type": "auth_requested", "v": 1, "method": "card", "amount": 193, "stan": 1,
                    "idem_key": "S001-L01-000001-000001", "ts": T0 + 8}
    assert lane.state.state == "authorizing"
    assert lane.state.payment["status"] == "authorizing"
    assert lane.state.payment["started_at"] == T0 + 8

    lane.device("auth_approved", at=T0 + 9, stan=1, auth_code="A12345",
                card={"brand": "VISA", "masked_pan": "************0119"})
    assert lane.state.state == "approved"
    assert lane.state.payment["status"] == "approved"
    assert lane.state.payment["auth_code"] == "A12345"

    lane.device("receipt_printed", at=T0 + 10, path="/r/1.txt", ok=True, reason="")
    assert (lane.state.state, lane.state.receipt) == ("receipt", {"path": "/r/1.txt", "ok": True})

    assert types(lane.do(cmd("done"), at=T0 + 12)) == ["session_finished"]
    s = lane.state
    assert (s.state, s.txn, s.lines, s.payment, s.receipt) == ("attract", None, [], None, None)
    assert (s.txn_seq, s.stan) == (1, 1)   # never reset

    second = lane.do(cmd("scan", code=MILK), at=T0 + 100)
    assert second[0]["txn"] == "S001-L01-000002"
    lane.do(cmd("checkout"))
    [auth2] = lane.do(cmd("pay", method="qr"))
    assert (auth2["stan"], auth2["idem_key"]) == (2, "S001-L01-000002-000002")


def test_receipt_times_out_back_to_attract(lane):
    to_authorizing(lane)
    lane.device("auth_approved", at=T0 + 30, stan=1, auth_code="A1", card=None)
    lane.device("receipt_printed", at=T0 + 31, path=None, ok=False, reason="paper_out")
    receipt_s = lane.config.timeouts.receipt_s
    assert lane.timers(T0 + 31 + receipt_s - 0.01) == []
    assert types(lane.timers(T0 + 31 + receipt_s)) == ["session_finished"]
    assert lane.state.state == "attract"
    assert lane.state.txn is None


def test_same_gtin_twice_merges_into_one_line(lane):
    lane.do(cmd("scan", code=COLA), at=T0)
    events = lane.do(cmd("scan", code=COLA), at=T0 + 1)
    assert [(e["type"], e["line_id"], e["qty"]) for e in events] == [("quantity_changed", 1, 2)]
    [line] = lane.state.lines
    assert line.qty == 2
    # 2 x 2.49 on "2 for 4.00": 400 + tax 9
    assert totals(lane.state, lane.config).total == 409


def test_upc_a_and_its_ean13_form_are_the_same_item(lane):
    lane.do(cmd("scan", code=NOODLE), at=T0)
    lane.do(cmd("scan", code="0" + NOODLE), at=T0 + 1)
    lane.do(cmd("scan", code=NOODLE), at=T0 + 2)
    [line] = lane.state.lines
    assert line.qty == 3
    t = totals(lane.state, lane.config)
    assert (t.subtotal, t.savings) == (297, 99)


def test_set_quantity_and_remove_line(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("scan", code=COLA), at=T0 + 1)
    lane.do(cmd("set_quantity", line_id=1, qty=5), at=T0 + 2)
    assert [ln.qty for ln in lane.state.lines] == [5, 1]
    assert lane.state.last_line_id == 1
    lane.do(cmd("remove_line", line_id=1), at=T0 + 3)
    assert [ln.line_id for ln in lane.state.lines] == [2]
    assert lane.state.last_line_id == 2
    lane.do(cmd("remove_line", line_id=2), at=T0 + 4)
    assert lane.state.lines == [] and lane.state.last_line_id is None
    lane.reject(cmd("checkout"), "basket_empty")


def test_weighed_item_by_plu_and_by_in_store_barcodes(lane):
    lane.do(cmd("add_plu", plu="4011", weight_g=2437), at=T0)
    lane.do(cmd("scan", code=BANANA_WEIGHT), at=T0 + 1)
    lane.do(cmd("scan", code=BANANA_PRICE), at=T0 + 2)
    lines = lane.state.lines
    assert [(ln.key, ln.weight_g, ln.price_minor, ln.qty) for ln in lines] == [
        ("PLU04011", 2437, None, 1), ("PLU04011", 2437, None, 1), ("PLU04011", None, 485, 1)]
    assert totals(lane.state, lane.config).subtotal == 485 * 3
    lane.reject(cmd("set_quantity", line_id=1, qty=2), "not_countable")
    lane.reject(cmd("add_plu", plu="4011"), "needs_weight")
    lane.reject(cmd("add_plu", plu="4011", weight_g=0), "needs_weight")
    lane.reject(cmd("scan", code=BANANA_ZERO), "bad_barcode")
    lane.reject(cmd("add_plu", plu="99999"), "unknown_plu")


# ---------------------------------------------------------------------------
# barcodes and attendant
# ---------------------------------------------------------------------------

def test_unknown_gtin_needs_an_attendant(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    events = lane.do(cmd("scan", code=UNKNOWN), at=T0 + 1)
    assert events == [{"type": "item_unknown", "v": 1, "code": UNKNOWN, "ts": T0 + 1}]
    s = lane.state
    assert s.state == "attendant_needed"
    assert s.attendant == {"reason": "unknown_barcode", "code": UNKNOWN, "return_to": "shopping"}
    assert len(s.lines) == 1
    lane.reject(cmd("scan", code=MILK), "not_allowed_now")
    lane.reject(cmd("attendant", action="clear"), "staff_required")
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 2)
    lane.do(cmd("attendant", action="clear"), at=T0 + 3)
    assert (lane.state.state, lane.state.attendant, lane.state.staff) == ("shopping", None, None)
    assert lane.state.last_activity == T0 + 3


def test_unknown_gtin_in_attract_starts_the_session_first(lane):
    events = lane.do(cmd("scan", code=UNKNOWN), at=T0)
    assert types(events) == ["session_started", "item_unknown"]
    assert lane.state.state == "attendant_needed"
    assert lane.state.attendant["return_to"] == "shopping"


def test_unknown_in_store_plu_needs_an_attendant(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    assert types(lane.do(cmd("scan", code=UNKNOWN_PLU_CODE))) == ["item_unknown"]
    assert lane.state.attendant["reason"] == "unknown_barcode"


@pytest.mark.parametrize("code", [BAD_CHECK, "12345", "88011159542x5", "123456789012345"])
def test_bad_barcode_is_rejected_and_starts_nothing(lane, code):
    err = lane.reject(cmd("scan", code=code), "bad_barcode")
    assert lane.state.state == "attract" and lane.state.txn_seq == 0
    assert err.detail


def test_age_restricted_item_needs_staff_approval(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("scan", code=BEER), at=T0 + 1)
    s = lane.state
    assert s.state == "attendant_needed"
    assert s.attendant == {"reason": "age_restricted", "line_id": 2, "return_to": "shopping"}
    assert s.line(2).age_status == "pending"
    lane.reject(cmd("attendant", action="approve_age"), "staff_required")
    lane.reject(cmd("checkout"), "not_allowed_now")

    [failed] = lane.do(cmd("staff_pin", pin="1111"), at=T0 + 2)
    assert (failed["type"], failed["reason"]) == ("staff_auth_failed", "pin_wrong")
    assert (lane.state.staff, lane.state.notice) == (None, "pin_wrong")
    lane.reject(cmd("attendant", action="approve_age"), "staff_required")

    [signed] = lane.do(cmd("staff_pin", pin=PIN), at=T0 + 3)
    assert (signed["type"], signed["staff_id"], signed["staff_name"]) == (
        "staff_signed_in", "S100", "Demo Supervisor")
    assert lane.state.staff == {"id": "S100", "name": "Demo Supervisor"}
    lane.reject(cmd("attendant", action="clear"), "age_check_open")
    lane.reject(cmd("attendant", action="dance"), "unknown_action")

    [ok] = lane.do(cmd("attendant", action="approve_age"), at=T0 + 4)
    assert (ok["type"], ok["line_id"], ok["staff_id"]) == ("age_approved", 2, "S100")
    s = lane.state
    assert (s.state, s.attendant, s.staff) == ("shopping", None, None)
    assert s.line(2).age_status == "approved"
    # the approved item can be scanned again without another check
    assert types(lane.do(cmd("scan", code=BEER), at=T0 + 5)) == ["quantity_changed"]
    assert lane.state.state == "shopping"


def test_real_staff_authenticator_pin_and_badge(config, catalog):
    auth = StaffAuthenticator(config.staff)
    lane = Lane(config, catalog, lambda c, now: auth.check_pin(c["pin"], now),
                auth.check_badge)
    lane.do(cmd("scan", code=BEER), at=T0)
    assert lane.state.state == "attendant_needed"

    [bad] = lane.do(cmd("staff_pin", pin="1357"), at=T0 + 1)
    assert (bad["type"], bad["reason"]) == ("staff_auth_failed", "pin_wrong")
    assert auth.lockouts["pin"].failures == 1
    [bad_badge] = lane.do(cmd("scan", code="STAFF:S100-0000"), at=T0 + 2)
    assert (bad_badge["type"], bad_badge["reason"]) == ("staff_auth_failed", "badge_unknown")

    [good] = lane.do(cmd("staff_pin", pin=PIN), at=T0 + 3)
    assert (good["type"], good["staff_id"]) == ("staff_signed_in", "S100")
    assert auth.lockouts["pin"].failures == 0
    lane.do(cmd("attendant", action="approve_age"), at=T0 + 4)
    assert lane.state.state == "shopping"

    lane.do(cmd("scan", code=UNKNOWN), at=T0 + 5)
    [badge] = lane.do(cmd("scan", code=BADGE), at=T0 + 6)
    assert (badge["type"], badge["staff_id"], badge["staff_name"]) == (
        "staff_signed_in", "S100", "Demo Supervisor")
    lane.do(cmd("attendant", action="clear"), at=T0 + 7)
    assert lane.state.state == "shopping"


def test_badge_outside_attendant_mode_is_rejected(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.reject(cmd("scan", code=BADGE), "not_allowed_now")


def test_staff_voids_the_pending_age_restricted_line(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("scan", code=BEER), at=T0 + 1)
    lane.do(cmd("scan", code=BADGE), at=T0 + 2)
    [ev] = lane.do(cmd("attendant", action="void_line"), at=T0 + 3)  # defaults to the age line
    assert (ev["type"], ev["line_id"], ev["by"]) == ("line_removed", 2, "S100")
    s = lane.state
    assert [ln.line_id for ln in s.lines] == [1]
    assert (s.state, s.attendant, s.staff) == ("shopping", None, None)


def test_staff_voids_a_chosen_line_and_stays_in_attendant_mode(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("help"), at=T0 + 1)
    assert lane.state.attendant == {"reason": "help", "return_to": "shopping"}
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 2)
    lane.reject(cmd("attendant", action="approve_age"), "nothing_to_approve")
    lane.reject(cmd("attendant", action="void_line", line_id=9), "unknown_line")
    [ev] = lane.do(cmd("attendant", action="void_line", line_id=1), at=T0 + 3)
    assert (ev["type"], ev["line_id"], ev["by"]) == ("line_removed", 1, "S100")
    assert lane.state.lines == []
    assert lane.state.state == "attendant_needed"
    lane.do(cmd("attendant", action="clear"), at=T0 + 4)
    assert lane.state.state == "shopping"


def test_staff_cancels_the_basket(lane):
    lane.do(cmd("scan", code=BEER), at=T0)
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 1)
    [ev] = lane.do(cmd("attendant", action="cancel_basket"), at=T0 + 2)
    assert (ev["type"], ev["reason"], ev["staff_id"]) == ("basket_voided", "staff", "S100")
    assert (lane.state.state, lane.state.notice, lane.state.lines) == (
        "attract", "voided_staff", [])


def test_void_line_from_the_bus_without_line_id_voids_the_pending_line(lane):
    # regression: the validated bus command carries line_id=None, which must mean
    # "the line the attendant was called for", not an unknown line
    lane.do(cmd("scan", code=BEER), at=T0)
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 1)
    message = parse_command(encode(command("attendant", source="staff", action="void_line")),
                            lane.config.bus.max_message_bytes)
    assert message["line_id"] is None
    events = lane.do(message, at=T0 + 2)
    assert [(e["type"], e["line_id"]) for e in events] == [("line_removed", 1)]


# ---------------------------------------------------------------------------
# idle timer
# ---------------------------------------------------------------------------

def test_idle_warning_then_void(lane):
    warn = lane.config.timeouts.idle_warning_s
    void = lane.config.timeouts.idle_void_s
    lane.do(cmd("scan", code=MILK), at=T0)
    assert lane.timers(T0 + warn - 0.001) == []
    [w] = lane.timers(T0 + warn)
    assert w["type"] == "idle_warning"
    assert lane.state.idle_warning_at == T0 + warn
    assert lane.timers(T0 + warn + void - 0.001) == []
    [v] = lane.timers(T0 + warn + void)
    assert (v["type"], v["reason"]) == ("basket_voided", "idle")
    assert (lane.state.state, lane.state.notice, lane.state.lines) == ("attract", "voided_idle",
                                                                       [])
    assert lane.timers(T0 + 10 * warn) == []    # nothing runs in attract


def test_activity_resets_the_idle_timer(lane):
    warn = lane.config.timeouts.idle_warning_s
    void = lane.config.timeouts.idle_void_s
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.timers(T0 + warn)
    assert lane.state.idle_warning_at is not None
    assert types(lane.do(cmd("touch"), at=T0 + warn + 5)) == ["activity"]
    assert lane.state.idle_warning_at is None
    assert lane.state.last_activity == T0 + warn + 5
    assert lane.timers(T0 + warn + void + 1) == []          # the void was called off
    assert lane.timers(T0 + warn + 5 + warn - 0.01) == []
    assert types(lane.timers(T0 + warn + 5 + warn)) == ["idle_warning"]
    # scanning is activity too
    lane.do(cmd("scan", code=MILK), at=T0 + 3 * warn)
    assert lane.state.idle_warning_at is None
    assert lane.timers(T0 + 4 * warn - 0.01) == []


def test_idle_timer_runs_in_payment_and_declined(lane):
    warn = lane.config.timeouts.idle_warning_s
    void = lane.config.timeouts.idle_void_s
    to_authorizing(lane)
    lane.device("auth_declined", at=T0 + 30, stan=1, reason="do_not_honor")
    assert (lane.state.state, lane.state.notice) == ("declined", "declined")
    assert types(lane.timers(T0 + 30 + warn)) == ["idle_warning"]
    assert types(lane.timers(T0 + 30 + warn + void)) == ["basket_voided"]
    assert lane.state.state == "attract"


def _reach(lane: Lane, target: str) -> None:
    """Drive a fresh lane into ``target`` with real commands and device events."""
    if target == "attract":
        return
    if target == "attendant_needed":
        lane.do(cmd("scan", code=BEER), at=T0)
        return
    to_authorizing(lane)
    if target == "authorizing":
        return
    if target in ("approved", "receipt"):
        lane.device("auth_approved", at=T0 + 21, stan=1, auth_code="A1", card=None)
        if target == "receipt":
            lane.device("receipt_printed", at=T0 + 22, path="/r", ok=True, reason="")
        return
    lane.device("auth_failed", at=T0 + 21, stan=1, reason="timeout")
    if target == "payment_unavailable":
        lane.device("reversal_result", at=T0 + 22, stan=1, ok=False)


@pytest.mark.parametrize("target", ["attract", "attendant_needed", "authorizing", "approved",
                                    "reversing", "payment_unavailable", "receipt"])
def test_no_idle_events_outside_idle_states_however_long(lane, target):
    _reach(lane, target)
    assert lane.state.state == target
    for later in (60, 120, 3600, 86_400 * 7):
        due = due_timer_events(lane.state, lane.config, T0 + later)
        assert not {"idle_warning", "basket_voided"} & set(types(due))
        if target == "receipt":
            assert types(due) == ["session_finished"]
        elif target == "approved":   # not an idle timer: the receipt defaults to print
            assert due == [{"type": "receipt_chosen", "v": 1, "choice": "print", "by": "timeout"}]
        else:
            assert due == []


# ---------------------------------------------------------------------------
# payment
# ---------------------------------------------------------------------------

def test_no_second_payment_or_cancel_while_authorizing(lane):
    to_authorizing(lane)
    lane.reject(cmd("pay", method="card"), "payment_in_progress")
    lane.reject(cmd("pay", method="qr"), "payment_in_progress")
    lane.reject(cmd("back"), "not_allowed_now")
    lane.reject(cmd("scan", code=MILK), "not_allowed_now")
    assert lane.decide(cmd("touch")) == []
    lane.device("auth_approved", at=T0 + 21, stan=1, auth_code="A1", card=None)
    lane.reject(cmd("pay", method="card"), "payment_in_progress")
    lane.reject(cmd("cancel"), "not_allowed_now")


def test_auth_failed_owes_a_reversal_then_back_to_payment(lane):
    auth = to_authorizing(lane)
    lane.device("auth_failed", at=T0 + 65, stan=1, reason="timeout")
    s = lane.state
    assert s.state == "reversing"
    assert s.reversal == {"stan": 1, "amount": auth["amount"], "idem_key": auth["idem_key"],
                          "method": "card", "attempts": 0}
    assert (s.payment["status"], s.notice) == ("failed", "payment_not_completed")
    lane.reject(cmd("pay", method="card"), "payment_in_progress")
    lane.reject(cmd("cancel"), "not_allowed_now")

    lane.device("reversal_result", at=T0 + 66, stan=1, ok=False)
    assert (lane.state.state, lane.state.reversal["attempts"]) == ("payment_unavailable", 1)
    lane.reject(cmd("cancel"), "not_allowed_now")
    lane.device("reversal_result", at=T0 + 70, stan=1, ok=False)
    assert (lane.state.state, lane.state.reversal["attempts"]) == ("payment_unavailable", 2)

    lane.device("reversal_result", at=T0 + 80, stan=1, ok=True)
    s = lane.state
    assert (s.state, s.reversal, s.payment, s.last_activity) == ("payment", None, None, T0 + 80)
    [again] = lane.do(cmd("pay", method="card"), at=T0 + 81)
    assert (again["stan"], again["amount"]) == (2, auth["amount"])


def test_reversal_result_for_a_stan_not_owed_is_invalid(lane):
    to_authorizing(lane)
    lane.device("auth_failed", at=T0 + 65, stan=1, reason="timeout")
    with pytest.raises(InvalidEvent):
        apply(copy.deepcopy(lane.state), {"type": "reversal_result", "ts": T0 + 66, "stan": 7,
                                          "ok": True})


def test_declined_can_pay_again_or_go_back(lane):
    to_authorizing(lane)
    lane.device("auth_declined", at=T0 + 30, stan=1, reason="do_not_honor")
    assert lane.state.payment["status"] == "declined"
    [ev] = lane.do(cmd("pay", method="qr"), at=T0 + 31)
    assert (ev["stan"], lane.state.state) == (2, "authorizing")
    with pytest.raises(InvalidEvent):   # a late answer for the old attempt does not fit
        apply(copy.deepcopy(lane.state), {"type": "auth_approved", "ts": T0 + 32, "stan": 1,
                                          "auth_code": "X", "card": None})
    lane.device("auth_declined", at=T0 + 33, stan=2, reason="do_not_honor")
    lane.do(cmd("back"), at=T0 + 34)
    assert (lane.state.state, lane.state.payment) == ("shopping", None)


def test_cancel_voids_the_basket_from_shopping_and_payment(lane):
    assert lane.decide(cmd("cancel")) == []    # nothing to cancel in attract
    to_payment(lane)
    [ev] = lane.do(cmd("cancel"), at=T0 + 40)
    assert (ev["type"], ev["reason"]) == ("basket_voided", "cancel")
    assert (lane.state.state, lane.state.notice) == ("attract", "voided_cancel")


def test_help_from_the_idle_screen_opens_a_session_and_calls_staff(lane):
    events = lane.do(cmd("help"), at=T0)
    assert types(events) == ["session_started", "help_requested"]
    assert lane.state.state == "attendant_needed"
    assert lane.state.attendant == {"reason": "help", "return_to": "shopping"}


def test_the_shopper_cancels_their_own_help_call(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("help"), at=T0 + 1)
    lane.reject(cmd("put_aside"), "nothing_to_put_aside")  # help is no unknown item
    assert types(lane.do(cmd("cancel_help"), at=T0 + 2)) == ["help_cancelled"]
    s = lane.state
    assert (s.state, s.attendant, len(s.lines)) == ("shopping", None, 1)
    assert s.last_activity == T0 + 2
    lane.reject(cmd("cancel_help"), "no_help_called")
    assert replay(lane.log).as_dict() == s.as_dict()


def test_once_staff_sign_in_the_help_call_is_theirs_to_close(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("help"), at=T0 + 1)
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 2)
    lane.reject(cmd("cancel_help"), "not_allowed_now")


def test_help_beside_a_payment_calls_staff_and_leaves_the_payment_alone(lane):
    to_authorizing(lane)
    assert types(lane.do(cmd("help"), at=T0 + 21)) == ["help_requested"]
    s = lane.state
    assert s.state == "authorizing" and s.attendant == {"reason": "help",
                                                        "return_to": "authorizing"}
    lane.reject(cmd("help"), "help_already_called")
    lane.device("auth_approved", at=T0 + 22, stan=1, auth_code="A1", card=None)
    assert lane.state.state == "approved" and lane.state.attendant["reason"] == "help"
    lane.do(cmd("cancel_help"), at=T0 + 23)
    assert lane.state.state == "approved" and lane.state.attendant is None
    lane.do(cmd("help"), at=T0 + 24)
    lane.do(cmd("receipt", choice="none"), at=T0 + 25)
    assert lane.state.state == "receipt" and lane.state.attendant["reason"] == "help"
    lane.do(cmd("done"), at=T0 + 26)
    assert lane.state.state == "attract" and lane.state.attendant is None
    assert replay(lane.log).as_dict() == lane.state.as_dict()


def test_the_shopper_puts_an_unknown_item_aside_and_carries_on(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("scan", code=UNKNOWN), at=T0 + 1)
    lane.reject(cmd("cancel_help"), "no_help_called")
    assert lane.do(cmd("put_aside"), at=T0 + 2) == [
        {"type": "item_put_aside", "v": 1, "code": UNKNOWN, "ts": T0 + 2}]
    s = lane.state
    assert (s.state, s.attendant, [ln.key for ln in s.lines]) == (
        "shopping", None, ["08801115954255"])
    assert replay(lane.log).as_dict() == s.as_dict()


def test_an_age_check_cannot_be_put_aside_or_cancelled_by_the_shopper(lane):
    lane.do(cmd("scan", code=BEER), at=T0)
    assert lane.state.attendant["reason"] == "age_restricted"
    lane.reject(cmd("put_aside"), "nothing_to_put_aside")
    lane.reject(cmd("cancel_help"), "no_help_called")


def test_help_from_payment_returns_to_payment(lane):
    to_payment(lane)
    lane.do(cmd("help"), at=T0 + 30)
    assert lane.state.attendant == {"reason": "help", "return_to": "payment"}
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 31)
    lane.do(cmd("attendant", action="clear"), at=T0 + 32)
    assert lane.state.state == "payment"


def test_reversal_owed_from_a_voided_basket_blocks_new_payments(lane):
    # regression: a new payment was allowed; its auth_failed overwrote the owed reversal
    # and a reversal answer during authorizing could not be applied (InvalidEvent)
    to_authorizing(lane)
    lane.device("auth_failed", at=T0 + 65, stan=1, reason="timeout")
    lane.device("reversal_result", at=T0 + 66, stan=1, ok=False)
    lane.do(cmd("help"), at=T0 + 67)
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 68)
    lane.do(cmd("attendant", action="cancel_basket"), at=T0 + 69)
    assert lane.state.state == "attract"
    assert lane.state.reversal["stan"] == 1            # still owed: core keeps retrying it
    to_payment(lane, at=T0 + 100)                    # shopping is still possible
    assert lane.state.txn == "S001-L01-000002"
    lane.reject(cmd("pay", method="card"), "payment_unavailable")
    lane.device("reversal_result", at=T0 + 121, stan=1, ok=True)
    assert (lane.state.state, lane.state.reversal) == ("payment", None)
    [auth] = lane.do(cmd("pay", method="card"), at=T0 + 122)
    assert (auth["stan"], lane.state.state) == (2, "authorizing")


def test_reversal_done_while_staff_attend_returns_to_payment(lane):
    # regression: the lane went back to payment_unavailable with nothing owed (stuck)
    to_authorizing(lane)
    lane.device("auth_failed", at=T0 + 65, stan=1, reason="timeout")
    lane.device("reversal_result", at=T0 + 66, stan=1, ok=False)
    lane.do(cmd("help"), at=T0 + 67)
    lane.device("reversal_result", at=T0 + 68, stan=1, ok=True)
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 69)
    lane.do(cmd("attendant", action="clear"), at=T0 + 70)
    assert (lane.state.state, lane.state.reversal) == ("payment", None)
    [auth] = lane.do(cmd("pay", method="card"), at=T0 + 71)
    assert auth["stan"] == 2


def test_reversal_still_owed_after_attendant_returns_to_payment_unavailable(lane):
    to_authorizing(lane)
    lane.device("auth_failed", at=T0 + 65, stan=1, reason="timeout")
    lane.device("reversal_result", at=T0 + 66, stan=1, ok=False)
    lane.do(cmd("help"), at=T0 + 67)
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 69)
    lane.do(cmd("attendant", action="clear"), at=T0 + 70)
    assert lane.state.state == "payment_unavailable"
    assert lane.state.reversal["stan"] == 1


# ---------------------------------------------------------------------------
# invalid commands
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(("command_", "reason"), [
    (cmd("bogus"), "unknown_command"),
    (cmd("set_quantity", line_id=1, qty=0), "bad_quantity"),
    (cmd("set_quantity", line_id=1, qty=-3), "bad_quantity"),
    (cmd("set_quantity", line_id=1, qty=MAX_QTY + 1), "bad_quantity"),
    (cmd("set_quantity", line_id=1, qty="2"), "bad_quantity"),
    (cmd("set_quantity", line_id=99, qty=2), "unknown_line"),
    (cmd("remove_line", line_id=99), "unknown_line"),
    (cmd("remove_line", line_id="1"), "unknown_line"),
    (cmd("set_language", locale="fr"), "unknown_locale"),
    (cmd("done"), "not_allowed_now"),
    (cmd("back"), "not_allowed_now"),
    (cmd("pay", method="card"), "not_allowed_now"),
    (cmd("staff_pin", pin=PIN), "not_allowed_now"),
    (cmd("attendant", action="clear"), "not_allowed_now"),
    (cmd("add_plu", plu="99999"), "unknown_plu"),
])
def test_invalid_commands_are_rejected(lane, command_, reason):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.reject(command_, reason)


def test_pay_with_unknown_method_is_rejected(lane):
    to_payment(lane)
    lane.reject(cmd("pay", method="cash"), "unknown_method")


def test_pay_with_a_method_the_lane_does_not_offer_is_rejected(config, catalog):
    payments = config.payments.model_copy(update={"methods": ["card"]})
    lane = Lane(config.model_copy(update={"payments": payments}), catalog)
    to_payment(lane)
    lane.reject(cmd("pay", method="qr"), "unknown_method")  # installed, not offered
    assert types(lane.do(cmd("pay", method="card"))) == ["auth_requested"]


def test_commands_in_attract_that_need_a_session_are_rejected(lane):
    for c in (cmd("checkout"), cmd("set_quantity", line_id=1, qty=2),
              cmd("remove_line", line_id=1), cmd("back"), cmd("put_aside")):
        lane.reject(c, "not_allowed_now")


def test_quantity_limit(lane):
    lane.do(cmd("scan", code=MILK), at=T0)
    lane.do(cmd("set_quantity", line_id=1, qty=MAX_QTY))
    lane.reject(cmd("scan", code=MILK), "quantity_limit")


def test_replay_rebuilds_the_live_state(lane):
    to_authorizing(lane)
    lane.device("auth_approved", at=T0 + 21, stan=1, auth_code="A1", card=None)
    lane.device("receipt_printed", at=T0 + 22, path="/r", ok=True, reason="")
    assert replay(lane.log).as_dict() == lane.state.as_dict()
    mid = replay(lane.log[:3])
    assert replay(lane.log[3:], start=mid).as_dict() == lane.state.as_dict()
    assert CheckoutState.from_dict(lane.state.as_dict()) == lane.state


def test_unknown_event_type_is_invalid():
    with pytest.raises(InvalidEvent):
        apply(CheckoutState(), {"type": "teleport", "ts": T0})
    with pytest.raises(InvalidEvent):
        apply(CheckoutState(), {"type": "checkout_started", "ts": T0})


# ---------------------------------------------------------------------------
# random command sequences
# ---------------------------------------------------------------------------

CODES = [MILK, NOODLE, "0" + NOODLE, COLA, BEER, UNKNOWN, BAD_CHECK, BANANA_PRICE,
         BANANA_WEIGHT, BANANA_ZERO, UNKNOWN_PLU_CODE, BADGE, "STAFF:nobody", "abc", "1"]

line_ids = st.integers(0, 5)
commands = st.one_of(
    st.builds(lambda c: cmd("scan", code=c), st.sampled_from(CODES)),
    st.builds(lambda p, w: cmd("add_plu", plu=p, weight_g=w),
              st.sampled_from(["4011", "04011", "10001", "99999"]),
              st.sampled_from([None, 0, 1, 2437, 50_000, 50_001])),
    st.builds(lambda loc: cmd("start", locale=loc), st.sampled_from([None, "ko", "fr"])),
    st.builds(lambda loc: cmd("set_language", locale=loc),
              st.sampled_from(["en", "ko", "zh_Hans", "fr"])),
    st.builds(lambda i, q: cmd("set_quantity", line_id=i, qty=q), line_ids,
              st.sampled_from([-1, 0, 1, 2, 3, MAX_QTY, MAX_QTY + 1])),
    st.builds(lambda i: cmd("remove_line", line_id=i), line_ids),
    st.builds(lambda p: cmd("staff_pin", pin=p), st.sampled_from([PIN, "0000"])),
    st.builds(lambda a, i: cmd("attendant", action=a, **({} if i is None else {"line_id": i})),
              st.sampled_from(["approve_age", "void_line", "clear", "cancel_basket", "dance"]),
              st.one_of(st.none(), line_ids)),
    st.builds(lambda m: cmd("pay", method=m), st.sampled_from(["card", "qr", "cash"])),
    st.builds(lambda i: cmd("choose_app", index=i), st.sampled_from([0, 1, 2, -1])),
    st.builds(lambda c: cmd("receipt", choice=c), st.sampled_from(["print", "none", "fax"])),
    st.sampled_from([cmd(k) for k in ("touch", "help", "checkout", "back", "cancel", "done",
                                      "cancel_help", "put_aside", "bogus")]),
)
# what the devices and timers of kiosk-core may do in between commands
device_steps = st.one_of(
    st.tuples(st.just("auth"), st.sampled_from(["approved", "declined", "failed"])),
    st.tuples(st.just("reversal"), st.booleans()),
    st.tuples(st.just("printed"), st.booleans()),
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("step"), st.sampled_from(["insert_card", "choose_app", "authorizing"])),
    st.tuples(st.just("cancel_result"), st.booleans()),
)
gaps = st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0]),
                 st.sampled_from([20.0, 30.0, 45.0, 90.0, 120.0]),
                 st.floats(0, 300, allow_nan=False))
# "smart" steps pick a move that makes sense in the current state, so that random
# scripts reach every state; the other steps are arbitrary (mostly rejected) commands
SMART: dict[str, list] = {
    "attract": [cmd("scan", code=MILK), cmd("scan", code=BEER), cmd("scan", code=UNKNOWN),
                cmd("start", locale="ko"), cmd("add_plu", plu="4011", weight_g=750),
                cmd("set_language", locale="ko")],
    "shopping": [cmd("scan", code=COLA), cmd("scan", code=NOODLE), cmd("scan", code=BEER),
                 cmd("checkout"), cmd("checkout"), "set_quantity", "remove_line", cmd("help"),
                 cmd("cancel"), cmd("touch"), ("tick", None)],
    "attendant_needed": [cmd("staff_pin", pin=PIN), cmd("staff_pin", pin="0000"),
                         cmd("scan", code=BADGE), cmd("attendant", action="approve_age"),
                         cmd("attendant", action="clear"), cmd("attendant", action="void_line"),
                         cmd("attendant", action="cancel_basket"), ("reversal", True),
                         ("reversal", False), cmd("cancel_help"), cmd("put_aside")],
    "payment": [cmd("pay", method="card"), cmd("pay", method="qr"), cmd("back"),
                cmd("cancel"), cmd("help"), ("tick", None)],
    "authorizing": [("auth", "approved"), ("auth", "declined"), ("auth", "failed"),
                    cmd("pay", method="card"), ("tick", None), ("step", "choose_app"),
                    cmd("choose_app", index=1), cmd("cancel"), ("cancel_result", True),
                    ("cancel_result", False), cmd("help"), cmd("cancel_help")],
    "approved": [("printed", True), ("printed", False), ("reversal", True),
                 cmd("receipt", choice="print"), cmd("receipt", choice="none"), ("tick", None),
                 cmd("help")],
    "declined": [cmd("pay", method="card"), cmd("back"), cmd("cancel"), cmd("help")],
    "reversing": [("reversal", True), ("reversal", False)],
    "payment_unavailable": [("reversal", True), ("reversal", False), cmd("help")],
    "receipt": [cmd("done"), ("tick", None), ("reversal", True), cmd("help"),
                cmd("cancel_help")],
}


def _smart_step(s: CheckoutState, choice):
    if choice == "set_quantity":
        return cmd("set_quantity", line_id=s.last_line_id or 1, qty=3)
    if choice == "remove_line":
        return cmd("remove_line", line_id=s.last_line_id or 1)
    return choice


def _device_events(s: CheckoutState, kind: str, arg, lane: Lane | None = None) -> list[dict]:
    """Device/timer events as kiosk-core would commit them in this state."""
    if kind == "step":
        if lane is not None and s.state == "authorizing":
            lane.step = {"stan": s.payment["stan"], "step": arg,
                         "apps": [{"label": "VISA CREDIT"}, {"label": "UNIONPAY DEBIT"}]}
        return []
    if kind == "cancel_result":
        if s.state != "authorizing" or not s.payment.get("cancel"):
            return []
        if arg:
            return [{"type": "auth_declined", "stan": s.payment["stan"], "reason": "cancelled",
                     "message_key": "cancelled"}]
        return [{"type": "auth_failed", "stan": s.payment["stan"], "reason": "cancelled"}]
    if kind == "auth" and s.state == "authorizing":
        stan = s.payment["stan"]
        if arg == "approved":
            return [{"type": "auth_approved", "stan": stan, "auth_code": "A1",
                     "card": {"brand": "VISA", "masked_pan": "************0119"}}]
        if arg == "declined":
            return [{"type": "auth_declined", "stan": stan, "reason": "do_not_honor"}]
        return [{"type": "auth_failed", "stan": stan, "reason": "timeout"}]
    # kiosk-core commits a reversal answer whenever a reversal is owed, in any state
    if kind == "reversal" and s.reversal is not None:
        return [{"type": "reversal_result", "stan": s.reversal["stan"], "ok": arg}]
    if kind == "printed" and s.state == "approved" and s.payment.get("receipt_choice") == "print":
        return [{"type": "receipt_printed", "path": "/r" if arg else None, "ok": arg,
                 "reason": "" if arg else "paper_out"}]
    return []


def _check_invariants(s: CheckoutState, log: list[dict], config) -> None:
    assert s.state in STATES
    assert all(1 <= ln.qty <= MAX_QTY for ln in s.lines)
    assert len({ln.line_id for ln in s.lines}) == len(s.lines)
    assert (s.txn is None) == (s.state == "attract")
    if s.state == "authorizing":
        assert s.payment is not None and s.payment["status"] == "authorizing"
    if s.state == "attendant_needed":
        assert s.attendant is not None
    elif s.attendant is not None:   # outside the attendant screen only a help call stays open
        assert s.attendant["reason"] == "help" and s.state != "attract"
    if s.state in ("reversing", "payment_unavailable"):
        assert s.reversal is not None
    if s.state in ("authorizing", "approved"):
        assert s.reversal is None    # no new payment while an earlier one is being undone
    if s.state == "receipt":
        assert s.payment["status"] == "approved" and s.payment.get("receipt_choice")
    if s.state == "declined" and s.payment["reason"] == "cancelled":
        assert s.payment.get("cancel")          # only a shopper's cancel ends as cancelled
    if s.state not in IDLE_STATES:
        assert s.idle_warning_at is None
    assert all(ln.age_status != "pending" for ln in s.lines) or s.state == "attendant_needed"
    t = totals(s, config)
    assert all(type(v) is int for v in (t.subtotal, t.savings, t.tax, t.total))
    assert replay(log).as_dict() == s.as_dict()   # journal recovery rebuilds this exact state


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_sequences_keep_the_invariants(config, catalog, data):
    lane = Lane(config, catalog)
    now = T0
    for _ in range(data.draw(st.integers(5, 80), label="steps")):
        s = lane.state
        kind = data.draw(st.sampled_from(["smart", "smart", "command", "device"]))
        if kind == "smart":
            step = _smart_step(s, data.draw(st.sampled_from(SMART[s.state])))
        else:
            step = data.draw(commands if kind == "command" else device_steps)
        now += data.draw(gaps)
        lane.now = now
        if isinstance(step, dict):
            before = copy.deepcopy(s.as_dict())
            try:
                events = decide(s, step, lane.ctx(now))
            except Rejected as exc:
                assert isinstance(exc.reason, str) and exc.reason
                events = []
            assert s.as_dict() == before
        elif step[0] == "tick":
            events = due_timer_events(s, config, now)
        else:
            events = _device_events(s, *step, lane=lane)
        lane.commit(events)       # applying what was decided never raises
        if any(e["type"] == "app_chosen" for e in events):
            lane.step = {"stan": lane.state.payment["stan"], "step": "reading"}  # as the core
        _check_invariants(lane.state, lane.log, config)


# ---------------------------------------------------------------------------
# device health: the door closes the lane, other faults only alert staff
# ---------------------------------------------------------------------------

def test_door_open_in_attract_closes_the_lane_until_closed(lane):
    lane.do(cmd("device", device="door", ok=False, detail="open"))
    assert lane.state.state == "out_of_service" and lane.state.faults == {"door": "open"}
    lane.reject(cmd("scan", code=MILK), "not_allowed_now")
    lane.reject(cmd("start"), "not_allowed_now")
    assert lane.decide(cmd("device", device="door", ok=False, detail="open")) == []
    lane.do(cmd("device", device="door", ok=True, detail="closed"))
    assert lane.state.state == "attract" and lane.state.faults == {}


def test_door_open_mid_payment_never_interrupts_money(lane):
    to_authorizing(lane)
    lane.do(cmd("device", device="door", ok=False, detail="open"))
    assert lane.state.state == "authorizing"
    lane.device("auth_approved", stan=lane.state.payment["stan"], auth_code="A1", card={})
    lane.device("receipt_printed", path="r.txt", ok=True)
    lane.do(cmd("done"))
    assert lane.state.state == "out_of_service"
    assert lane.state.txn is None and lane.state.lines == []


def test_printer_fault_does_not_close_the_lane(lane):
    lane.do(cmd("device", device="printer", ok=False, detail="paper_out"))
    assert lane.state.state == "attract" and lane.state.faults == {"printer": "paper_out"}
    lane.do(cmd("scan", code=MILK))
    assert lane.state.state == "shopping"
    assert lane.decide(cmd("device", device="printer", ok=True)) != []
    assert replay(lane.log).as_dict() == lane.state.as_dict()


@pytest.mark.parametrize("ending", ["done", "cancel", "idle"])
def test_next_shopper_starts_in_the_default_language(lane, ending):
    lane.do(cmd("start", locale="ko"))
    lane.do(cmd("scan", code=MILK))
    assert lane.state.locale == "ko"
    if ending == "done":
        to_receipt = [cmd("checkout"), cmd("pay", method="card")]
        for c in to_receipt:
            lane.do(c)
        lane.device("auth_approved", stan=lane.state.payment["stan"], auth_code="A1", card={})
        lane.device("receipt_printed", path="r.txt", ok=True)
        lane.do(cmd("done"))
    elif ending == "cancel":
        lane.do(cmd("cancel"))
    else:
        t = lane.config.timeouts
        lane.timers(T0 + t.idle_warning_s + 1)
        lane.timers(T0 + t.idle_warning_s + t.idle_void_s + 2)
    assert lane.state.state == "attract"
    assert lane.state.locale == lane.config.store.default_locale == "en"
    assert replay(lane.log).as_dict() == lane.state.as_dict()
