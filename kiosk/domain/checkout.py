"""The checkout state machine: pure, journal-driven, no I/O and no Kivy.

Two halves:

* :func:`decide` turns a shopper/staff/device *command* into domain *events*, or
  rejects it with a reason. It may consult the catalog and staff credentials
  through :class:`Context`; everything it learns goes into the events.
* :func:`apply` folds one event into the :class:`CheckoutState`. It is
  deterministic and uses nothing but the event, so replaying the journal
  rebuilds exactly the state the shopper saw before a crash.

States: attract → shopping → (attendant_needed) → payment → authorizing →
approved / declined → receipt → attract, plus reversing (a payment being
undone) and payment_unavailable (host down, or a reversal still queued).

Card payments (issue #4): while authorizing, the card port's progress steps are
not state (kiosk-core publishes them beside it); the shopper's application
choice (``choose_app`` → ``app_chosen``) and cancel (``cancel`` →
``cancel_requested``) are journaled before the port hears of them. A cancel the
port confirms before a request left ends as ``auth_declined`` "cancelled"; one
that comes too late ends as ``auth_failed`` "cancelled" and is reversed (notice
``not_charged``).

Receipt choice: the approved screen offers "print receipt" / "no receipt"
(``receipt`` command, choice print | none, from touch or voice). With no choice
within ``timeouts.receipt_choice_s`` the receipt is printed (an unattended
kiosk errs on the side of proof of purchase). "none" goes straight to the
receipt screen; the receipt is still kept for a staff reprint and the
e-receipt link. One choice per sale: a second ``receipt`` is rejected.

Help (issue 21): ``help`` is taken on every screen a shopper meets. From attract it opens a
session first; beside a payment (authorizing, approved, receipt) it calls staff without
leaving the screen (``attendant`` holds the call, the light blinks). The shopper may
withdraw their own call (``cancel_help`` → ``help_cancelled``) until staff sign in, and
answer an unknown barcode by putting the item aside (``put_aside`` → ``item_put_aside``);
an age check stays with staff.

Shopper feedback (issue 18): on the receipt screen the shopper may rate the checkout
(``rate`` → ``shopper_rating``, :mod:`kiosk.domain.feedback`): once per sale, with the
basket's step timings. A low rating without its reasons is held by kiosk-core
(``Context.rating``) until they come or the session ends; the receipt timer runs as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from kiosk.domain import events as E
from kiosk.domain import gs1
from kiosk.domain.catalog import Product
from kiosk.domain.codes import is_badge_code
from kiosk.domain.events import STATE_VERSION, InvalidEvent, upcast_state
from kiosk.domain.feedback import STEP_FIELDS, BadRating, asks_reasons, check_rating
from kiosk.domain.gtin import GtinError, decode_variable_measure, validate_gtin
from kiosk.domain.languages import UnknownLocale, match_locale
from kiosk.domain.pricing import (
    PricedLine,
    ScaleWeight,
    Totals,
    WeightRefused,
    price_basket,
    priceable_weight,
)
from kiosk.domain.rules import CheckoutRules, StaffMember
from kiosk.domain.training import TRAINING_METHOD, training_txn
from kiosk.domain.vocabulary import (
    ACCEPTS,
    BAGGING_ALERTS,
    BLOCKING_FAULTS,
    CANCELLABLE,
    COMMANDS,
    HELP_CALL_STATES,
    HELP_REASON,
    HELP_STATES,
    IDLE_STATES,
    RECEIPT_CHOICES,
    REFUSALS,
    REMOTE_ACTIONS,
    SHOPPER_ABORTS,
)

#: a second cancel this soon after a payment's cancel is the same (double) tap
CANCEL_DEBOUNCE_S = 2.0
MAX_QTY = 99
MAX_LINES = 200
MAX_WEIGHT_G = 50_000  # a weighed line's most (kiosk.bus.messages.AddPlu.weight_g)
#: why a GS1 code cannot be sold, told to the shopper as it is (others: bad_barcode)
GS1_REJECTIONS = ("gs1_currency", "gs1_weight_resolution", "gs1_price_resolution")


class Rejected(Exception):
    """A command that is not valid now; ``reason`` is a stable code for UI and logs."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Line(E.ItemLine):
    """A basket line: the product as its ``item_added`` event recorded it (the fields of
    :class:`kiosk.domain.events.ItemLine`, never changed) and the line's own state, which
    later events change."""

    model_config = ConfigDict(frozen=False)

    line_id: int
    qty: int = 1
    age_status: str = "none"  # none | pending | approved

    def priced(self) -> PricedLine:
        return PricedLine(self.key, self.unit_price_minor, self.tax_class, self.qty,
                          self.weight_g, self.price_minor)


@dataclass
class CheckoutState:
    state: str = "attract"
    txn: str | None = None
    txn_seq: int = 0          # sessions started on this lane (never reset)
    stan: int = 0             # last system trace audit number used (never reset)
    locale: str = "en"
    lines: list[Line] = field(default_factory=list)
    next_line_id: int = 1
    last_line_id: int | None = None
    attendant: dict | None = None   # {"reason", "line_id", "code", "return_to"}
    staff: dict | None = None       # {"id", "name"} while a staff member is signed in
    payment: dict | None = None     # current attempt: method, amount, stan, status, ...
    reversal: dict | None = None    # a reversal owed to the host: stan, amount, attempts
    receipt: dict | None = None
    faults: dict[str, str] = field(default_factory=dict)  # device → what is wrong
    notice: str | None = None       # last thing to tell the shopper (reason code)
    last_activity: float = 0.0
    idle_warning_at: float | None = None
    entered_at: float = 0.0         # when the current state was entered
    training: bool = False          # the lane is in training (kiosk.domain.training)

    def as_dict(self) -> dict:
        """The state as a plain dict: the format of version :data:`STATE_VERSION` (what a
        snapshot holds, beside that version)."""
        data = asdict(self)
        data["lines"] = [ln.model_dump() for ln in self.lines]
        return data

    @classmethod
    def from_dict(cls, data: dict, version: int = STATE_VERSION) -> CheckoutState:
        """The state a snapshot of ``version`` holds. An older format is upcast; a field
        this code does not know is left out (never a TypeError); a newer version raises
        :class:`NewerVersion`."""
        data = upcast_state(data, version) if version != STATE_VERSION else dict(data)
        data["lines"] = [Line(**_known(Line, ln)) for ln in data.get("lines", [])]
        return cls(**_known(cls, data))

    def line(self, line_id: int) -> Line | None:
        return next((ln for ln in self.lines if ln.line_id == line_id), None)


def _known(cls: type, data: dict) -> dict:
    """The items of ``data`` that are fields of ``cls`` (a dataclass or a model)."""
    names = (set(cls.model_fields) if issubclass(cls, BaseModel)
             else {f.name for f in fields(cls)})
    return {k: v for k, v in data.items() if k in names}


@dataclass
class Context:
    """What :func:`decide` may consult. Built by kiosk-core; tests build their own."""

    config: CheckoutRules
    lookup_gtin: Callable[[str], Product | None]
    lookup_plu: Callable[[str], Product | None]
    #: (the staff_pin command, now) / (badge code, now) → (member, "") or (None, reason);
    #: kiosk-core's versions verify off its main loop (see CoreService._staff_check)
    check_pin: Callable[[dict, float], tuple[StaffMember | None, str]]
    check_badge: Callable[[str, float], tuple[StaffMember | None, str]]
    now: float
    clock_synced: bool = True       # False: the clock is not synchronized (no payments)
    step: dict | None = None        # the payment port's last progress step {"stan", "step", ...}
    payment_methods: tuple[str, ...] = ()  # the method ids the lane offers (its registry's)
    today: date | None = None       # the store's date (GS1 dates); None: the local date of now
    #: the lane's produce scale, last reading (None: the lane has no scale, and a weighed
    #: item takes the weight its command gives, as the demo's ``plu 04011 1200``)
    scale: ScaleWeight | None = None
    #: a low rating the shopper gave on the receipt screen, its reasons not yet given
    #: ({"rating", "by"}; kiosk-core holds it, like the card port's ``step``)
    rating: dict | None = None
    #: the current basket's step timings (kiosk.domain.feedback.step_timings over its
    #: journal events), asked only when a rating is journaled (none known: all None)
    steps: Callable[[], dict[str, int | None]] = dict


def totals(state: CheckoutState, config: CheckoutRules) -> Totals:
    return price_basket([ln.priced() for ln in state.lines], config.promotions, config.tax,
                        config.currency)


# ---------------------------------------------------------------------------
# decide: command → events
# ---------------------------------------------------------------------------

def _ev(kind: str, /, **data: Any) -> dict:
    """The one way decide and the timers make an event: validated against its model
    (kiosk.domain.events), with its version; the core stamps ``ts`` when it commits."""
    return E.build(kind, **data)


def _allow(state: CheckoutState, kind: str) -> None:
    """Reject a command type the current state does not accept (:data:`ACCEPTS`)."""
    if kind not in ACCEPTS.get(state.state, ()):
        reason = REFUSALS.get(kind, {}).get(state.state, "not_allowed_now")
        raise Rejected(reason, f"in state {state.state}")


def _line_from(product: Product, **extra: Any) -> dict:
    return {
        "key": product.key, "gtin": product.gtin, "plu": product.plu,
        "names": product.names, "unit_price_minor": product.price_minor,
        "tax_class": product.tax_class, "age_restricted": product.age_restricted,
        "sold_by_weight": product.sold_by_weight, **extra,
    }


def _start_if_attract(state: CheckoutState, ctx: Context, events: list[dict],
                      locale: str | None = None) -> None:
    if state.state == "attract":
        seq = state.txn_seq + 1
        txn = f"{ctx.config.store.store_id}-{ctx.config.store.lane_id}-{seq:06d}"
        if state.training:
            txn = training_txn(txn)
        events.append(_ev("session_started", txn=txn, txn_seq=seq,
                          locale=locale or state.locale))


def _add_product(state: CheckoutState, product: Product, extra: dict, events: list[dict]) -> None:
    if len(state.lines) >= MAX_LINES:
        raise Rejected("basket_full")
    mergeable = not product.sold_by_weight and not extra
    existing = next((ln for ln in state.lines if mergeable and ln.key == product.key
                     and ln.weight_g is None and ln.price_minor is None), None)
    if existing is not None:
        if existing.qty >= MAX_QTY:
            raise Rejected("quantity_limit")
        events.append(_ev("quantity_changed", line_id=existing.line_id, qty=existing.qty + 1))
        return
    events.append(_ev("item_added", line=_line_from(product, **extra)))


def _scan(state: CheckoutState, code: str, ctx: Context) -> list[dict]:
    events: list[dict] = []
    # waiting for staff, the scanner reads staff badges; otherwise items
    if is_badge_code(code) != (state.state == "attendant_needed"):
        raise Rejected("not_allowed_now", f"in state {state.state}")
    if is_badge_code(code):
        return _staff_sign_in(state, *ctx.check_badge(code, ctx.now), ctx)
    if code.startswith("("):  # a GS1 element string (the scanner sends its HRI)
        return _scan_gs1(state, code, ctx)
    _start_if_attract(state, ctx, events)
    try:
        gtin14 = validate_gtin(code)
    except GtinError as exc:
        raise Rejected("bad_barcode", str(exc)) from None
    vm = decode_variable_measure(code, ctx.config.variable_measure)
    if vm is not None:
        product = ctx.lookup_plu(vm.plu)
        if product is None:
            events.append(_ev("item_unknown", code=code))
            return events
        if vm.weight_g is not None:
            if not product.sold_by_weight or vm.weight_g <= 0:
                raise Rejected("bad_barcode", "weight on an item not sold by weight")
            _add_product(state, product, {"weight_g": vm.weight_g}, events)
        else:
            _add_product(state, product, {"price_minor": vm.price_minor}, events)
        return events
    product = ctx.lookup_gtin(gtin14)
    if product is None:
        events.append(_ev("item_unknown", code=code))
    elif product.sold_by_weight:
        raise Rejected("needs_weight", "weigh this item with its PLU")
    else:
        _add_product(state, product, {}, events)
    return events


def _scan_gs1(state: CheckoutState, code: str, ctx: Context) -> list[dict]:
    """Sell from what a GS1 code says: the encoded price (392n/393n) exactly, else its net
    weight (310n) x the catalog's price per kg; refuse it past a date the store refuses or
    from a recalled batch (``item_refused``: staff are called). A price label on an item
    sold per unit ignores its weight (the receipt would show it per kg)."""
    today = ctx.today or date.fromtimestamp(ctx.now)
    try:
        elements = gs1.parse(code)
        weight_g = elements.net_weight_g()
        price = elements.price_minor(ctx.config.currency)
        dates = elements.dates(today)
    except gs1.Gs1Error as exc:
        reason = exc.reason if exc.reason in GS1_REJECTIONS else "bad_barcode"
        raise Rejected(reason, str(exc)) from None
    gtin = elements.gtin
    if gtin is None:
        raise Rejected("bad_barcode", "a GS1 code without a GTIN (01)")
    events: list[dict] = []
    _start_if_attract(state, ctx, events)
    product = ctx.lookup_gtin(gtin)
    if product is None:
        events.append(_ev("item_unknown", code=code))
        return events
    rules = ctx.config.gs1
    for ai, day in sorted(dates.items(), key=lambda d: d[1]):
        if ai in rules.refuse_past and day < today:
            events.append(_ev("item_refused", code=code, gtin=gtin, reason="expired",
                              detail=f"{ai}:{day.isoformat()}"))
            return events
    if rules.recalled(gtin, elements.batch) is not None:
        events.append(_ev("item_refused", code=code, gtin=gtin, reason="recalled",
                          detail=elements.batch or ""))
        return events
    extra: dict[str, int] = {}
    if weight_g is not None and (product.sold_by_weight or price is None):
        if not product.sold_by_weight or not 0 < weight_g <= MAX_WEIGHT_G:
            raise Rejected("bad_barcode", "weight on an item not sold by weight, or out of"
                           " range")
        extra["weight_g"] = weight_g
    if price is not None:
        extra["price_minor"] = price
    elif product.sold_by_weight and weight_g is None:
        raise Rejected("needs_weight", "a GS1 code without a net weight (310n) or price")
    _add_product(state, product, extra, events)
    return events


def _add_plu(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    product = ctx.lookup_plu(str(cmd["plu"]))
    if product is None:
        raise Rejected("unknown_plu")
    events: list[dict] = []
    _start_if_attract(state, ctx, events)
    weight = cmd.get("weight_g")
    if product.sold_by_weight and ctx.scale is not None:
        # the lane weighs: only its scale's stable, positive, in-range weight prices the item
        if weight is not None:
            raise Rejected("weight_from_scale", "the scale weighs this item")
        try:
            weight = priceable_weight(ctx.scale)
        except WeightRefused as exc:
            raise Rejected(exc.reason) from None
        _add_product(state, product, {"weight_g": weight}, events)
    elif product.sold_by_weight:
        if not isinstance(weight, int) or not 0 < weight <= MAX_WEIGHT_G:
            raise Rejected("needs_weight", "weight_g must be 1..50000")
        _add_product(state, product, {"weight_g": weight}, events)
    else:
        _add_product(state, product, {}, events)
    return events


def _staff_sign_in(state: CheckoutState, member: StaffMember | None, fail: str,
                   ctx: Context) -> list[dict]:
    if member is None:
        return [_ev("staff_auth_failed", reason=fail)]
    return [_ev("staff_signed_in", staff_id=member.id, staff_name=member.name)]


def _default(config: CheckoutRules) -> str:
    """The next shopper starts in the store's default language."""
    return config.store.default_locale


def _attendant(state: CheckoutState, cmd: dict, config: CheckoutRules) -> list[dict]:
    if state.staff is None:
        raise Rejected("staff_required")
    return _staff_action(state, cmd.get("action"), cmd.get("line_id"), state.staff["id"],
                         config)


def decide_remote(state: CheckoutState, action: str, line_id: int | None, staff_id: str,
                  config: CheckoutRules) -> list[dict]:
    """Events for an attendant's command from the attendant station, whose signature
    kiosk-core has checked (``staff_id``: the attendant it names, who need not be at the
    lane); raises :class:`Rejected` if not possible now. Each action is taken in the states
    :data:`REMOTE_ACTIONS` lists."""
    if state.state not in REMOTE_ACTIONS.get(action, ()):
        raise Rejected("unknown_action" if action not in REMOTE_ACTIONS else "not_allowed_now",
                       f"{action} in state {state.state}")
    if action in ("close_lane", "open_lane"):
        closing = action == "close_lane"
        if closing == ("lane" in state.faults):
            raise Rejected("lane_already_closed" if closing else "lane_not_closed")
        # a fault that blocks the lane: it closes now if idle, else once the session ends
        return device_events(state, "lane", not closing, f"closed by {staff_id}"[:64])
    return _staff_action(state, action, line_id, staff_id, config)


def _staff_action(state: CheckoutState, action: str | None, line_id: int | None,
                  staff_id: str, config: CheckoutRules) -> list[dict]:
    attendant = state.attendant or {}
    if action == "approve_age":
        if attendant.get("reason") != "age_restricted":
            raise Rejected("nothing_to_approve")
        return [_ev("age_approved", line_id=attendant["line_id"], staff_id=staff_id)]
    if action == "void_line":
        line_id = line_id or attendant.get("line_id")
        if not isinstance(line_id, int) or state.line(line_id) is None:
            raise Rejected("unknown_line")
        return [_ev("line_removed", line_id=line_id, by=staff_id)]
    if action == "clear":
        if attendant.get("reason") == "age_restricted":
            raise Rejected("age_check_open", "approve or void the item")
        if attendant.get("reason") in BAGGING_ALERTS:  # the override: journaled with who
            return [_ev("bagging_cleared", kind=attendant["reason"], how="override",
                        staff_id=staff_id)]
        return [_ev("attendant_cleared", staff_id=staff_id)]
    if action == "cancel_basket":
        return [_ev("basket_voided", reason="staff", staff_id=staff_id,
                    next_locale=_default(config))]
    if action in ("training_on", "training_off"):
        on = action == "training_on"
        if state.training == on:
            raise Rejected("training_already_on" if on else "training_not_on")
        if state.lines:
            raise Rejected("basket_not_empty", "training is switched with an empty basket")
        return [_ev("training_started" if on else "training_ended", staff_id=staff_id)]
    raise Rejected("unknown_action")


def decide(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    """Events for a validated command; raises :class:`Rejected` if not possible now."""
    try:
        return _decide(state, cmd, ctx)
    except (KeyError, TypeError) as exc:  # a command that skipped parse_command
        raise Rejected("bad_command", f"missing or mistyped field {exc}") from None


def _decide(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    kind = cmd["type"]
    if kind not in COMMANDS:
        raise Rejected("unknown_command", kind)
    if kind == "scan":
        cmd["code"]  # a scan without its code is a bad command in any state
    _allow(state, kind)
    if kind == "scan":
        return _scan(state, cmd["code"], ctx)
    if kind == "add_plu":
        return _add_plu(state, cmd, ctx)
    if kind == "start":
        events: list[dict] = []
        locale = cmd.get("locale")
        if locale:
            locale = _language(state, locale, ctx)["locale"]  # validated, canonical
        _start_if_attract(state, ctx, events, locale)
        return events
    if kind == "device":
        return device_events(state, cmd["device"], cmd["ok"], cmd.get("detail", ""))
    if kind == "touch":
        asking = state.state == "approved" and not (state.payment or {}).get("receipt_choice")
        # a touch (or a tactile key / voice guidance) also extends the receipt question
        return [_ev("activity")] if state.state in IDLE_STATES or asking else []
    if kind == "set_language":
        return [_language(state, cmd["locale"], ctx)]
    if kind == "set_quantity":
        line = state.line(cmd["line_id"])
        if line is None:
            raise Rejected("unknown_line")
        if line.weight_g is not None or line.price_minor is not None:
            raise Rejected("not_countable")
        qty = cmd["qty"]
        if not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
            raise Rejected("bad_quantity")
        return [_ev("quantity_changed", line_id=line.line_id, qty=qty)]
    if kind == "remove_line":
        if state.line(cmd["line_id"]) is None:
            raise Rejected("unknown_line")
        return [_ev("line_removed", line_id=cmd["line_id"], by="shopper")]
    if kind == "help":
        if _help_called(state):
            raise Rejected("help_already_called")
        events = []
        _start_if_attract(state, ctx, events)  # help from the idle screen opens a session
        return [*events, _ev("help_requested")]
    if kind == "cancel_help":
        if not _help_called(state):
            raise Rejected("no_help_called")
        if state.staff is not None:
            raise Rejected("not_allowed_now", "staff are signed in")
        return [_ev("help_cancelled")]
    if kind == "put_aside":
        attendant = state.attendant or {}
        if attendant.get("reason") != "unknown_barcode":
            raise Rejected("nothing_to_put_aside")
        return [_ev("item_put_aside", code=attendant.get("code") or "")]
    if kind == "own_bag":
        if state.state == "attendant_needed" and (
                (state.attendant or {}).get("reason") != "unexpected_item"):
            raise Rejected("not_allowed_now", "no unexpected item to explain")
        return [_ev("own_bag")]
    if kind == "staff_pin":
        return _staff_sign_in(state, *ctx.check_pin(cmd, ctx.now), ctx)
    if kind == "attendant":
        return _attendant(state, cmd, ctx.config)
    if kind == "checkout":
        if not state.lines:
            raise Rejected("basket_empty")
        return [_ev("checkout_started")]
    if kind == "back":
        return [_ev("back_to_basket")]
    if kind == "pay":
        if state.reversal is not None:
            # an earlier payment's outcome is still unknown to the host: take no new one
            raise Rejected("payment_unavailable", "a reversal is still queued")
        method = cmd.get("method")
        if method not in ctx.payment_methods:
            raise Rejected("unknown_method")
        if not ctx.clock_synced:
            raise Rejected("clock_not_synced", "the clock is not synchronized")
        if state.training:  # a training lane never reaches a real host, whatever was chosen
            method = TRAINING_METHOD
        amount = totals(state, ctx.config).total
        stan = state.stan % 999_999 + 1
        return [_ev("auth_requested", method=method, amount=amount, stan=stan,
                    idem_key=f"{state.txn}-{stan:06d}")]
    if kind == "choose_app":
        return _choose_app(state, cmd, ctx)
    if kind == "wallet_code":
        # a phone wallet's payment code: handed to the waiting attempt by kiosk-core, never
        # journaled (no event), never an item
        step = ctx.step or {}
        pay = state.payment or {}
        if pay.get("cancel") or step.get("stan") != pay.get("stan") or \
                step.get("step") != "show_code":
            raise Rejected("wallet_code_not_expected")
        return []
    if kind == "receipt":
        if (state.payment or {}).get("receipt_choice"):
            raise Rejected("receipt_already_chosen")
        if cmd["choice"] not in RECEIPT_CHOICES:
            raise Rejected("unknown_receipt_choice")
        return [_ev("receipt_chosen", choice=cmd["choice"], by="shopper")]
    if kind == "cancel":
        if state.state == "attract":
            return []
        if state.state == "authorizing":
            if state.payment is None:
                raise Rejected("not_allowed_now", "no payment to cancel")
            if state.payment.get("cancel"):
                raise Rejected("cancel_in_progress")
            return [_ev("cancel_requested", stan=state.payment["stan"], by="shopper")]
        if _just_cancelled(state, ctx.now):
            raise Rejected("already_cancelled", "the same tap as the payment's cancel")
        return [_ev("basket_voided", reason="cancel", next_locale=_default(ctx.config))]
    if kind == "done":
        return [_ev("session_finished", next_locale=_default(ctx.config))]
    if kind == "rate":
        return _rate(state, cmd, ctx)
    raise Rejected("unknown_command", kind)  # in COMMANDS but not handled: a bug


def _rate(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    """The shopper's rating (and, for a low one, what went wrong). Returns no event while a
    low rating waits for its reasons (the command leaves ``reasons`` out): kiosk-core then
    holds it (``Context.rating``). ``reasons`` (an empty list: skipped) completes it."""
    if (state.receipt or {}).get("rating"):
        raise Rejected("already_rated")
    if cmd.get("rating") is None and cmd.get("reasons") is None:
        raise Rejected("bad_rating", "a rating, or the reasons for one")
    try:
        rating, reasons = check_rating(cmd.get("rating"), cmd.get("reasons"))
    except BadRating as exc:
        raise Rejected(exc.reason, exc.detail) from None
    by = str(cmd.get("source") or "ui")
    if rating is None:
        if ctx.rating is None:
            raise Rejected("no_rating", "reasons without a rating")
        rating, by = ctx.rating["rating"], ctx.rating["by"]
        if reasons and not asks_reasons(rating):
            raise Rejected("reasons_need_low_rating", f"rating {rating} asks no reasons")
    if reasons is None and asks_reasons(rating):
        return []  # "what went wrong?": kiosk-core holds the rating until the answer
    return [rating_event(state, rating, reasons or (), by, ctx.steps())]


def rating_event(state: CheckoutState, rating: int, reasons: tuple[str, ...] | list[str],
                 by: str, steps: dict[str, int | None]) -> dict:
    """The one ``shopper_rating`` event of a sale (also kiosk-core's, for a low rating whose
    reasons never came)."""
    return _ev("shopper_rating", rating=rating, reasons=list(reasons), by=by,
               training=state.training, **{f: steps.get(f) for f in STEP_FIELDS})


def _help_called(state: CheckoutState) -> bool:
    """The shopper's help call is open (on the attendant screen, or beside a payment)."""
    return (state.attendant or {}).get("reason") == HELP_REASON


def _just_cancelled(state: CheckoutState, now: float) -> bool:
    """A cancel right after a payment was cancelled is the shopper's double tap: it must
    not go on to void the basket."""
    if now - state.entered_at >= CANCEL_DEBOUNCE_S:
        return False
    if state.state == "declined":
        return (state.payment or {}).get("reason") in SHOPPER_ABORTS
    return state.state == "payment" and state.notice == "not_charged"


def _choose_app(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    pay = state.payment or {}
    if pay.get("cancel"):
        raise Rejected("cancel_in_progress")
    step = ctx.step or {}
    if step.get("stan") == pay.get("stan") and step.get("step") == "show_code":
        # a phone-wallet attempt: option 1 is "scan the kiosk's code with your phone"
        if cmd["index"] != 1:
            raise Rejected("unknown_application")
        return [_ev("app_chosen", stan=pay["stan"], index=1, label="scan_code")]
    if step.get("stan") != pay.get("stan") or step.get("step") != "choose_app":
        raise Rejected("app_already_chosen" if pay.get("app") else "not_allowed_now")
    apps = step.get("apps") or []
    index = cmd["index"]
    if not isinstance(index, int) or not 0 <= index < len(apps):
        raise Rejected("unknown_application")
    return [_ev("app_chosen", stan=pay["stan"], index=index, label=apps[index]["label"])]


def device_events(state: CheckoutState, device: str, ok: bool, detail: str = "") -> list[dict]:
    """A device_status event when a device's health differs from what the state knows."""
    detail = detail[:64]
    known = state.faults.get(device)
    if (known is None) if ok else (known == detail):
        return []  # nothing new
    return [_ev("device_status", device=device, ok=ok, detail=detail)]


def _language(state: CheckoutState, locale: str, ctx: Context) -> dict:
    try:  # zh-CN, zh → zh_Hans, if the store offers it
        canonical = match_locale(locale, ctx.config.store.locales)
    except UnknownLocale:
        raise Rejected("unknown_locale", locale) from None
    return _ev("language_changed", locale=canonical)


# ---------------------------------------------------------------------------
# apply: event → state (deterministic; also used to replay the journal)
# ---------------------------------------------------------------------------

def _enter(s: CheckoutState, new: str, ts: float) -> None:
    s.state = new
    s.entered_at = ts
    s.idle_warning_at = None


def _reset_session(s: CheckoutState, ts: float, next_locale: str | None = None) -> None:
    s.locale = next_locale or s.locale
    s.txn = None
    s.lines = []
    s.next_line_id = 1
    s.last_line_id = None
    s.attendant = None
    s.staff = None
    s.payment = None
    s.receipt = None
    _enter(s, "out_of_service" if _blocked(s) else "attract", ts)


def _blocked(s: CheckoutState) -> bool:
    return any(device in s.faults for device in BLOCKING_FAULTS)


def _need_attendant(s: CheckoutState, ts: float, **info: Any) -> None:
    if s.state != "attendant_needed":
        info["return_to"] = s.state
        s.attendant = info
        _enter(s, "attendant_needed", ts)


def _expect(s: CheckoutState, kind: str, *states: str) -> None:
    if s.state not in states:
        raise InvalidEvent(f"{kind} in state {s.state}")


def _session_started(s: CheckoutState, ev: E.SessionStarted) -> None:
    _expect(s, ev.type, "attract")
    _reset_session(s, ev.ts)
    s.txn, s.txn_seq, s.locale = ev.txn, ev.txn_seq, ev.locale
    s.notice = None
    s.last_activity = ev.ts
    _enter(s, "shopping", ev.ts)


def _language_changed(s: CheckoutState, ev: E.LanguageChanged) -> None:
    s.locale = ev.locale


def _nothing(s: CheckoutState, ev: E.Event) -> None:
    """activity (its effect is the idle timer's, see apply), recovered (a note)."""


def _item_added(s: CheckoutState, ev: E.ItemAdded) -> None:
    _expect(s, ev.type, "shopping")
    line = Line(line_id=s.next_line_id, **ev.line.model_dump())
    s.next_line_id += 1
    s.lines.append(line)
    s.last_line_id = line.line_id
    s.notice = None
    if line.age_restricted:
        line.age_status = "pending"
        _need_attendant(s, ev.ts, reason="age_restricted", line_id=line.line_id)


def _quantity_changed(s: CheckoutState, ev: E.QuantityChanged) -> None:
    _expect(s, ev.type, "shopping")
    line = _line(s, ev.line_id)
    line.qty = ev.qty
    s.last_line_id = line.line_id


def _line_removed(s: CheckoutState, ev: E.LineRemoved) -> None:
    _expect(s, ev.type, "shopping", "attendant_needed")
    _line(s, ev.line_id)
    s.lines = [ln for ln in s.lines if ln.line_id != ev.line_id]
    if s.last_line_id == ev.line_id:
        s.last_line_id = s.lines[-1].line_id if s.lines else None
    if s.state == "attendant_needed" and (s.attendant or {}).get("line_id") == ev.line_id:
        _leave_attendant(s, ev.ts)


def _item_unknown(s: CheckoutState, ev: E.ItemUnknown) -> None:
    _expect(s, ev.type, "shopping")
    _need_attendant(s, ev.ts, reason="unknown_barcode", code=ev.code)


def _item_refused(s: CheckoutState, ev: E.ItemRefused) -> None:
    _expect(s, ev.type, "shopping")
    _need_attendant(s, ev.ts, reason=f"item_{ev.reason}", code=ev.code, detail=ev.detail)


def _help_requested(s: CheckoutState, ev: E.HelpRequested) -> None:
    _expect(s, ev.type, *HELP_STATES)
    if s.state in HELP_CALL_STATES:
        # a payment is under way or done: staff are called, the screen stays
        s.attendant = {"reason": HELP_REASON, "return_to": s.state}
        return
    _need_attendant(s, ev.ts, reason=HELP_REASON)


def _help_cancelled(s: CheckoutState, ev: E.HelpCancelled) -> None:
    if (s.attendant or {}).get("reason") != HELP_REASON:
        raise InvalidEvent(f"{ev.type} with no help call open")
    if s.state == "attendant_needed":
        _leave_attendant(s, ev.ts)
    else:
        s.attendant = None


def _item_put_aside(s: CheckoutState, ev: E.ItemPutAside) -> None:
    _expect(s, ev.type, "attendant_needed")
    if (s.attendant or {}).get("reason") != "unknown_barcode":
        raise InvalidEvent(f"{ev.type} with no unknown item")
    _leave_attendant(s, ev.ts)


def _staff_signed_in(s: CheckoutState, ev: E.StaffSignedIn) -> None:
    _expect(s, ev.type, "attendant_needed")
    s.staff = {"id": ev.staff_id, "name": ev.staff_name}


def _staff_auth_failed(s: CheckoutState, ev: E.StaffAuthFailed) -> None:
    _expect(s, ev.type, "attendant_needed")
    s.notice = ev.reason


def _age_approved(s: CheckoutState, ev: E.AgeApproved) -> None:
    _expect(s, ev.type, "attendant_needed")
    _line(s, ev.line_id).age_status = "approved"
    _leave_attendant(s, ev.ts)


def _attendant_cleared(s: CheckoutState, ev: E.AttendantCleared) -> None:
    _expect(s, ev.type, "attendant_needed")
    _leave_attendant(s, ev.ts)


def _training(s: CheckoutState, ev: E.TrainingStarted | E.TrainingEnded) -> None:
    """Into or out of training: with staff signed in and an empty basket; the session
    staff were called to ends (the next one starts in the new mode)."""
    _expect(s, ev.type, "attendant_needed")
    if s.lines:
        raise InvalidEvent(f"{ev.type} with items in the basket")
    s.training = isinstance(ev, E.TrainingStarted)
    _reset_session(s, ev.ts)


def _bagging_alert(s: CheckoutState, ev: E.BaggingAlert) -> None:
    _expect(s, ev.type, "shopping")
    _need_attendant(s, ev.ts, reason=ev.kind, line_id=ev.line_id, since=ev.ts,
                    delta_g=ev.delta_g)


def _bagging_cleared(s: CheckoutState, ev: E.BaggingCleared) -> None:
    _expect(s, ev.type, "attendant_needed")
    if (s.attendant or {}).get("reason") != ev.kind:
        raise InvalidEvent(f"{ev.type}: no {ev.kind} alert open")
    _leave_attendant(s, ev.ts)


def _checkout_started(s: CheckoutState, ev: E.CheckoutStarted) -> None:
    _expect(s, ev.type, "shopping")
    _enter(s, "payment", ev.ts)


def _back_to_basket(s: CheckoutState, ev: E.BackToBasket) -> None:
    _expect(s, ev.type, "payment", "declined")
    s.payment = None
    _enter(s, "shopping", ev.ts)


def _auth_requested(s: CheckoutState, ev: E.AuthRequested) -> None:
    _expect(s, ev.type, "payment", "declined")
    s.stan = ev.stan
    s.payment = {"method": ev.method, "amount": ev.amount, "stan": ev.stan,
                 "idem_key": ev.idem_key, "status": "authorizing", "started_at": ev.ts}
    s.notice = None
    _enter(s, "authorizing", ev.ts)


def _auth_approved(s: CheckoutState, ev: E.AuthApproved) -> None:
    _expect(s, ev.type, "authorizing")
    _payment(s, ev).update(status="approved", auth_code=ev.auth_code, card=ev.card,
                           rrn=ev.rrn, response_code=ev.response_code)
    _enter(s, "approved", ev.ts)


def _auth_declined(s: CheckoutState, ev: E.AuthDeclined) -> None:
    _expect(s, ev.type, "authorizing")
    _payment(s, ev).update(status="declined", reason=ev.reason, message=ev.message_key,
                           response_code=ev.response_code)
    s.notice = "declined"
    s.last_activity = ev.ts
    _enter(s, "declined", ev.ts)


def _auth_failed(s: CheckoutState, ev: E.AuthFailed) -> None:
    # no answer (timeout, host down, restart): the host may have approved, so reverse
    _expect(s, ev.type, "authorizing")
    pay = _payment(s, ev)
    pay.update(status="failed", reason=ev.reason)
    s.reversal = {"stan": pay["stan"], "amount": pay["amount"], "idem_key": pay["idem_key"],
                  "method": pay["method"], "attempts": 0}
    s.notice = "not_charged" if ev.reason == "cancelled" else "payment_not_completed"
    _enter(s, "reversing", ev.ts)


def _app_chosen(s: CheckoutState, ev: E.AppChosen) -> None:
    _expect(s, ev.type, "authorizing")
    _payment(s, ev)["app"] = {"index": ev.index, "label": ev.label}


def _cancel_requested(s: CheckoutState, ev: E.CancelRequested) -> None:
    _expect(s, ev.type, "authorizing")
    _payment(s, ev)["cancel"] = ev.by


def _reversal_result(s: CheckoutState, ev: E.ReversalResult) -> None:
    _expect(s, ev.type, "reversing", "payment_unavailable", "attract", "shopping",
            "attendant_needed", "payment", "declined", "receipt", "out_of_service")
    if s.reversal is None or s.reversal["stan"] != ev.stan:
        raise InvalidEvent("reversal_result for no pending reversal")
    if ev.ok:
        s.reversal = None
        if s.state in ("reversing", "payment_unavailable"):
            s.payment = None
            s.last_activity = ev.ts
            _enter(s, "payment", ev.ts)
    else:
        s.reversal["attempts"] += 1
        if s.state == "reversing":
            _enter(s, "payment_unavailable", ev.ts)


def _receipt_chosen(s: CheckoutState, ev: E.ReceiptChosen) -> None:
    _expect(s, ev.type, "approved")
    if s.payment is None or s.payment.get("receipt_choice"):
        raise InvalidEvent("receipt_chosen twice")
    s.payment["receipt_choice"] = ev.choice
    if ev.choice == "none":
        s.receipt = {"path": "", "ok": True, "printed": False}
        _enter(s, "receipt", ev.ts)


def _receipt_printed(s: CheckoutState, ev: E.ReceiptPrinted) -> None:
    _expect(s, ev.type, "approved")
    s.receipt = {"path": ev.path, "ok": ev.ok}
    _enter(s, "receipt", ev.ts)


def _shopper_rating(s: CheckoutState, ev: E.ShopperRating) -> None:
    _expect(s, ev.type, "receipt")
    if (s.receipt or {}).get("rating"):
        raise InvalidEvent("shopper_rating twice in one sale")
    s.receipt = {**(s.receipt or {}), "rating": ev.rating}


def _session_finished(s: CheckoutState, ev: E.SessionFinished) -> None:
    _expect(s, ev.type, "receipt")
    _reset_session(s, ev.ts, ev.next_locale)


def _basket_voided(s: CheckoutState, ev: E.BasketVoided) -> None:
    _expect(s, ev.type, *CANCELLABLE, "attendant_needed", "payment_unavailable")
    if s.state == "payment_unavailable" and ev.reason != "staff":
        raise InvalidEvent("only staff may void while a reversal is owed")
    s.notice = f"voided_{ev.reason}"
    _reset_session(s, ev.ts, ev.next_locale)


def _idle_warning(s: CheckoutState, ev: E.IdleWarning) -> None:
    _expect(s, ev.type, *IDLE_STATES)
    s.idle_warning_at = ev.ts


def _device_status(s: CheckoutState, ev: E.DeviceStatus) -> None:
    if ev.ok:
        s.faults.pop(ev.device, None)
    else:
        s.faults[ev.device] = ev.detail
    if s.state == "attract" and _blocked(s):
        _enter(s, "out_of_service", ev.ts)
    elif s.state == "out_of_service" and not _blocked(s):
        _enter(s, "attract", ev.ts)


def _catalog_applied(s: CheckoutState, ev: E.CatalogApplied) -> None:
    # the state holds no catalog; the rule it keeps: an open basket keeps its prices
    if s.txn is not None:
        raise InvalidEvent(f"catalog {ev.version} applied inside the open basket {s.txn}")


#: event model → how it changes the state: the one table apply works through (every type in
#: kiosk.domain.events.EVENT_TYPES but the journal's own snapshot)
HANDLERS: dict[type[E.Event], Callable[[CheckoutState, Any], None]] = {
    E.SessionStarted: _session_started, E.LanguageChanged: _language_changed,
    E.Activity: _nothing, E.ItemAdded: _item_added, E.QuantityChanged: _quantity_changed,
    E.LineRemoved: _line_removed, E.ItemUnknown: _item_unknown, E.ItemRefused: _item_refused,
    E.HelpRequested: _help_requested, E.StaffSignedIn: _staff_signed_in,
    E.StaffAuthFailed: _staff_auth_failed, E.AgeApproved: _age_approved,
    E.AttendantCleared: _attendant_cleared, E.CheckoutStarted: _checkout_started,
    E.BackToBasket: _back_to_basket, E.AuthRequested: _auth_requested,
    E.AuthApproved: _auth_approved, E.AuthDeclined: _auth_declined,
    E.AuthFailed: _auth_failed, E.AppChosen: _app_chosen,
    E.CancelRequested: _cancel_requested, E.ReversalResult: _reversal_result,
    E.ReceiptChosen: _receipt_chosen, E.ReceiptPrinted: _receipt_printed,
    E.SessionFinished: _session_finished, E.BasketVoided: _basket_voided,
    E.IdleWarning: _idle_warning, E.DeviceStatus: _device_status, E.Recovered: _nothing,
    E.HelpCancelled: _help_cancelled, E.ItemPutAside: _item_put_aside,
    E.CatalogApplied: _catalog_applied,
    E.TrainingStarted: _training, E.TrainingEnded: _training,
    E.BaggingAlert: _bagging_alert, E.BaggingCleared: _bagging_cleared, E.OwnBag: _nothing,
    E.RemoteCommand: _nothing, E.ShopperRating: _shopper_rating,
}
#: events that are the shopper doing something: they restart the idle timer
SHOPPER_ACTIVITY = frozenset({
    E.Activity, E.ItemAdded, E.QuantityChanged, E.LineRemoved, E.CheckoutStarted,
    E.BackToBasket, E.LanguageChanged, E.HelpRequested, E.HelpCancelled, E.ItemPutAside,
    E.OwnBag, E.BaggingCleared,
})


def apply(s: CheckoutState, event: E.Event | dict) -> None:
    """Fold ``event`` (its model, or a dict :func:`kiosk.domain.events.parse` reads, older
    versions upcast) into ``s`` in place. Raises InvalidEvent if it cannot follow, and
    NewerVersion for an event of a version newer than this code."""
    ev = E.parse(event)
    handler = HANDLERS.get(type(ev))
    if handler is None:
        raise InvalidEvent(f"{ev.type} is not applied to the state")
    if type(ev) in SHOPPER_ACTIVITY:
        s.last_activity = ev.ts
        s.idle_warning_at = None
    handler(s, ev)


def _line(s: CheckoutState, line_id: int) -> Line:
    line = s.line(line_id)
    if line is None:
        raise InvalidEvent(f"no line {line_id}")
    return line


def _payment(s: CheckoutState, ev: E.AuthApproved | E.AuthDeclined | E.AuthFailed
             | E.AppChosen | E.CancelRequested) -> dict:
    if s.payment is None or s.payment["stan"] != ev.stan:
        raise InvalidEvent(f"{ev.type} for stan {ev.stan} not in flight")
    return s.payment


def _leave_attendant(s: CheckoutState, ts: float) -> None:
    back = (s.attendant or {}).get("return_to", "shopping")
    if back == "attract" or any(ln.age_status == "pending" for ln in s.lines):
        back = "shopping"
    elif back == "payment_unavailable" and s.reversal is None:
        back = "payment"  # the reversal went through while staff were here
        s.payment = None
    s.attendant = None
    s.staff = None
    s.last_activity = ts
    _enter(s, back, ts)
    pending = next((ln for ln in s.lines if ln.age_status == "pending"), None)
    if pending is not None:
        _need_attendant(s, ts, reason="age_restricted", line_id=pending.line_id)


def replay(events: list[E.Event | dict], start: CheckoutState | None = None) -> CheckoutState:
    """Rebuild state from events (models, or dicts with ``type`` and ``ts``)."""
    s = copy.deepcopy(start) if start is not None else CheckoutState()
    for event in events:
        apply(s, event)
    return s


def due_timer_events(s: CheckoutState, config: CheckoutRules, now: float) -> list[dict]:
    """Timer events that are due at ``now`` (idle warning, idle void, receipt timeout)."""
    t = config.timeouts
    if s.state in IDLE_STATES:
        if s.idle_warning_at is None and now - s.last_activity >= t.idle_warning_s:
            return [_ev("idle_warning")]
        if s.idle_warning_at is not None and now - s.idle_warning_at >= t.idle_void_s:
            return [_ev("basket_voided", reason="idle", next_locale=_default(config))]
    if (s.state == "approved" and not (s.payment or {}).get("receipt_choice")
            and now - max(s.entered_at, s.last_activity) >= t.receipt_choice_s):
        return [_ev("receipt_chosen", choice="print", by="timeout")]
    if s.state == "receipt" and now - s.entered_at >= t.receipt_s:
        return [_ev("session_finished", next_locale=_default(config))]
    return []
