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
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.catalog import Product
from kiosk.config import KioskConfig, StaffMember
from kiosk.domain.gtin import GtinError, decode_variable_measure, validate_gtin
from kiosk.domain.pricing import PricedLine, Totals, price_basket
from kiosk.i18n import UnknownLocale, canonical_locale
from kiosk.security.staff import is_badge_code

STATES = (
    "attract", "shopping", "attendant_needed", "payment", "authorizing", "approved",
    "declined", "reversing", "payment_unavailable", "receipt", "out_of_service",
)
#: device faults that close the lane (once no money is moving); others only alert staff
BLOCKING_FAULTS = ("door", "provisioning")
#: states where the idle timer runs; from authorizing to receipt money may be moving
IDLE_STATES = ("shopping", "payment", "declined")
#: states a shopper may cancel the basket from
CANCELLABLE = ("shopping", "payment", "declined")
RECEIPT_CHOICES = ("print", "none")
#: a second cancel this soon after a payment's cancel is the same (double) tap
CANCEL_DEBOUNCE_S = 2.0
MAX_QTY = 99
MAX_LINES = 200


class Rejected(Exception):
    """A command that is not valid now; ``reason`` is a stable code for UI and logs."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class InvalidEvent(Exception):
    """An event that cannot follow the current state (a corrupt or forged journal)."""


@dataclass
class Line:
    line_id: int
    key: str
    gtin: str | None
    plu: str | None
    names: dict[str, str]
    unit_price_minor: int
    tax_class: str
    age_restricted: bool
    sold_by_weight: bool
    qty: int = 1
    weight_g: int | None = None
    price_minor: int | None = None
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

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CheckoutState:
        data = dict(data)
        data["lines"] = [Line(**ln) for ln in data.get("lines", [])]
        return cls(**data)

    def line(self, line_id: int) -> Line | None:
        return next((ln for ln in self.lines if ln.line_id == line_id), None)


@dataclass
class Context:
    """What :func:`decide` may consult. Built by kiosk-core; tests build their own."""

    config: KioskConfig
    lookup_gtin: Callable[[str], Product | None]
    lookup_plu: Callable[[str], Product | None]
    #: (the staff_pin command, now) / (badge code, now) → (member, "") or (None, reason);
    #: kiosk-core's versions verify off its main loop (see CoreService._staff_check)
    check_pin: Callable[[dict, float], tuple[StaffMember | None, str]]
    check_badge: Callable[[str, float], tuple[StaffMember | None, str]]
    now: float
    clock_synced: bool = True       # False: the clock is not synchronized (no payments)
    step: dict | None = None        # the payment port's last progress step {"stan", "step", ...}


def totals(state: CheckoutState, config: KioskConfig) -> Totals:
    return price_basket([ln.priced() for ln in state.lines], config.promotions, config.tax,
                        config.currency)


# ---------------------------------------------------------------------------
# decide: command → events
# ---------------------------------------------------------------------------

def _ev(kind: str, **data: Any) -> dict:
    return {"type": kind, **data}


def _require(state: CheckoutState, *allowed: str) -> None:
    if state.state not in allowed:
        raise Rejected("not_allowed_now", f"in state {state.state}")


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
    if is_badge_code(code):
        _require(state, "attendant_needed")
        return _staff_sign_in(state, *ctx.check_badge(code, ctx.now), ctx)
    _require(state, "attract", "shopping")
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


def _add_plu(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    _require(state, "attract", "shopping")
    product = ctx.lookup_plu(str(cmd["plu"]))
    if product is None:
        raise Rejected("unknown_plu")
    events: list[dict] = []
    _start_if_attract(state, ctx, events)
    weight = cmd.get("weight_g")
    if product.sold_by_weight:
        if not isinstance(weight, int) or not 0 < weight <= 50_000:
            raise Rejected("needs_weight", "weight_g must be 1..50000")
        _add_product(state, product, {"weight_g": weight}, events)
    else:
        _add_product(state, product, {}, events)
    return events


def _staff_sign_in(state: CheckoutState, member: StaffMember | None, fail: str,
                   ctx: Context) -> list[dict]:
    _require(state, "attendant_needed")
    if member is None:
        return [_ev("staff_auth_failed", reason=fail)]
    return [_ev("staff_signed_in", staff_id=member.id, staff_name=member.name)]


def _default(config: KioskConfig) -> str:
    """The next shopper starts in the store's default language."""
    return config.store.default_locale


def _attendant(state: CheckoutState, cmd: dict, config: KioskConfig) -> list[dict]:
    _require(state, "attendant_needed")
    if state.staff is None:
        raise Rejected("staff_required")
    action = cmd.get("action")
    staff_id = state.staff["id"]
    attendant = state.attendant or {}
    if action == "approve_age":
        if attendant.get("reason") != "age_restricted":
            raise Rejected("nothing_to_approve")
        return [_ev("age_approved", line_id=attendant["line_id"], staff_id=staff_id)]
    if action == "void_line":
        line_id = cmd.get("line_id") or attendant.get("line_id")
        if not isinstance(line_id, int) or state.line(line_id) is None:
            raise Rejected("unknown_line")
        return [_ev("line_removed", line_id=line_id, by=staff_id)]
    if action == "clear":
        if attendant.get("reason") == "age_restricted":
            raise Rejected("age_check_open", "approve or void the item")
        return [_ev("attendant_cleared", staff_id=staff_id)]
    if action == "cancel_basket":
        return [_ev("basket_voided", reason="staff", staff_id=staff_id,
                    next_locale=_default(config))]
    raise Rejected("unknown_action")


def decide(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    """Events for a validated command; raises :class:`Rejected` if not possible now."""
    try:
        return _decide(state, cmd, ctx)
    except (KeyError, TypeError) as exc:  # a command that skipped parse_command
        raise Rejected("bad_command", f"missing or mistyped field {exc}") from None


def _decide(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    kind = cmd["type"]
    if kind == "scan":
        return _scan(state, cmd["code"], ctx)
    if kind == "add_plu":
        return _add_plu(state, cmd, ctx)
    if kind == "start":
        _require(state, "attract")
        events: list[dict] = []
        locale = cmd.get("locale")
        if locale:
            locale = _language(state, locale, ctx)["locale"]  # validated, canonical
        _start_if_attract(state, ctx, events, locale)
        return events
    if kind == "device":
        return device_events(state, cmd["device"], cmd["ok"], cmd.get("detail", ""))
    if kind == "touch":
        _require(state, *STATES)
        asking = state.state == "approved" and not (state.payment or {}).get("receipt_choice")
        # a touch (or a tactile key / voice guidance) also extends the receipt question
        return [_ev("activity")] if state.state in IDLE_STATES or asking else []
    if kind == "set_language":
        return [_language(state, cmd["locale"], ctx)]
    if kind == "set_quantity":
        _require(state, "shopping")
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
        _require(state, "shopping")
        if state.line(cmd["line_id"]) is None:
            raise Rejected("unknown_line")
        return [_ev("line_removed", line_id=cmd["line_id"], by="shopper")]
    if kind == "help":
        _require(state, "shopping", "payment", "declined", "payment_unavailable")
        return [_ev("help_requested")]
    if kind == "staff_pin":
        _require(state, "attendant_needed")
        return _staff_sign_in(state, *ctx.check_pin(cmd, ctx.now), ctx)
    if kind == "attendant":
        return _attendant(state, cmd, ctx.config)
    if kind == "checkout":
        _require(state, "shopping")
        if not state.lines:
            raise Rejected("basket_empty")
        return [_ev("checkout_started")]
    if kind == "back":
        _require(state, "payment", "declined")
        return [_ev("back_to_basket")]
    if kind == "pay":
        if state.state in ("authorizing", "approved", "receipt", "reversing"):
            raise Rejected("payment_in_progress")
        _require(state, "payment", "declined")
        if state.reversal is not None:
            # an earlier payment's outcome is still unknown to the host: take no new one
            raise Rejected("payment_unavailable", "a reversal is still queued")
        method = cmd.get("method")
        if method not in ctx.config.payments.methods:  # only the methods the lane offers
            raise Rejected("unknown_method")
        if not ctx.clock_synced:
            raise Rejected("clock_not_synced", "the clock is not synchronized")
        amount = totals(state, ctx.config).total
        stan = state.stan % 999_999 + 1
        return [_ev("auth_requested", method=method, amount=amount, stan=stan,
                    idem_key=f"{state.txn}-{stan:06d}")]
    if kind == "choose_app":
        return _choose_app(state, cmd, ctx)
    if kind == "receipt":
        _require(state, "approved")
        if (state.payment or {}).get("receipt_choice"):
            raise Rejected("receipt_already_chosen")
        if cmd["choice"] not in RECEIPT_CHOICES:
            raise Rejected("unknown_receipt_choice")
        return [_ev("receipt_chosen", choice=cmd["choice"], by="shopper")]
    if kind == "cancel":
        if state.state == "attract":
            return []
        if state.state == "authorizing" and state.payment:
            if state.payment.get("cancel"):
                raise Rejected("cancel_in_progress")
            return [_ev("cancel_requested", stan=state.payment["stan"], by="shopper")]
        if _just_cancelled(state, ctx.now):
            raise Rejected("already_cancelled", "the same tap as the payment's cancel")
        _require(state, *CANCELLABLE)
        return [_ev("basket_voided", reason="cancel", next_locale=_default(ctx.config))]
    if kind == "done":
        _require(state, "receipt")
        return [_ev("session_finished", next_locale=_default(ctx.config))]
    raise Rejected("unknown_command", kind)


def _just_cancelled(state: CheckoutState, now: float) -> bool:
    """A cancel right after a payment was cancelled is the shopper's double tap: it must
    not go on to void the basket."""
    if now - state.entered_at >= CANCEL_DEBOUNCE_S:
        return False
    if state.state == "declined":
        return (state.payment or {}).get("reason") in ("cancelled", "card_timeout")
    return state.state == "payment" and state.notice == "not_charged"


def _choose_app(state: CheckoutState, cmd: dict, ctx: Context) -> list[dict]:
    _require(state, "authorizing")
    pay = state.payment or {}
    if pay.get("cancel"):
        raise Rejected("cancel_in_progress")
    step = ctx.step or {}
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
    try:
        canonical = canonical_locale(locale)  # zh-CN, zh → zh_Hans
    except UnknownLocale:
        raise Rejected("unknown_locale", locale) from None
    if canonical not in ctx.config.store.locales:
        raise Rejected("unknown_locale", locale)
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


def apply(s: CheckoutState, event: dict) -> None:
    """Fold ``event`` into ``s`` in place. Raises InvalidEvent if it cannot follow."""
    kind, ts = event["type"], event["ts"]
    if kind in ("activity", "item_added", "quantity_changed", "line_removed",
                "checkout_started", "back_to_basket", "language_changed", "help_requested"):
        s.last_activity = ts
        s.idle_warning_at = None
    if kind == "session_started":
        _expect(s, kind, "attract")
        _reset_session(s, ts)
        s.txn, s.txn_seq, s.locale = event["txn"], event["txn_seq"], event["locale"]
        s.notice = None
        s.last_activity = ts
        _enter(s, "shopping", ts)
    elif kind == "language_changed":
        s.locale = event["locale"]
    elif kind == "activity":
        pass
    elif kind == "item_added":
        _expect(s, kind, "shopping")
        line = Line(line_id=s.next_line_id, **event["line"])
        s.next_line_id += 1
        s.lines.append(line)
        s.last_line_id = line.line_id
        s.notice = None
        if line.age_restricted:
            line.age_status = "pending"
            _need_attendant(s, ts, reason="age_restricted", line_id=line.line_id)
    elif kind == "quantity_changed":
        _expect(s, kind, "shopping")
        line = _line(s, event["line_id"])
        line.qty = event["qty"]
        s.last_line_id = line.line_id
    elif kind == "line_removed":
        _expect(s, kind, "shopping", "attendant_needed")
        _line(s, event["line_id"])
        s.lines = [ln for ln in s.lines if ln.line_id != event["line_id"]]
        if s.last_line_id == event["line_id"]:
            s.last_line_id = s.lines[-1].line_id if s.lines else None
        if s.state == "attendant_needed" and (s.attendant or {}).get("line_id") == event[
                "line_id"]:
            _leave_attendant(s, ts)
    elif kind == "item_unknown":
        _expect(s, kind, "shopping")
        _need_attendant(s, ts, reason="unknown_barcode", code=event["code"])
    elif kind == "help_requested":
        _expect(s, kind, "shopping", "payment", "declined", "payment_unavailable")
        _need_attendant(s, ts, reason="help")
    elif kind == "staff_signed_in":
        _expect(s, kind, "attendant_needed")
        s.staff = {"id": event["staff_id"], "name": event["staff_name"]}
    elif kind == "staff_auth_failed":
        _expect(s, kind, "attendant_needed")
        s.notice = event["reason"]
    elif kind == "age_approved":
        _expect(s, kind, "attendant_needed")
        _line(s, event["line_id"]).age_status = "approved"
        _leave_attendant(s, ts)
    elif kind == "attendant_cleared":
        _expect(s, kind, "attendant_needed")
        _leave_attendant(s, ts)
    elif kind == "checkout_started":
        _expect(s, kind, "shopping")
        _enter(s, "payment", ts)
    elif kind == "back_to_basket":
        _expect(s, kind, "payment", "declined")
        s.payment = None
        _enter(s, "shopping", ts)
    elif kind == "auth_requested":
        _expect(s, kind, "payment", "declined")
        s.stan = event["stan"]
        s.payment = {k: event[k] for k in ("method", "amount", "stan", "idem_key")}
        s.payment.update(status="authorizing", started_at=ts)
        s.notice = None
        _enter(s, "authorizing", ts)
    elif kind == "auth_approved":
        _expect(s, kind, "authorizing")
        _payment(s, event).update(status="approved", auth_code=event["auth_code"],
                                  card=event.get("card"), rrn=event.get("rrn", ""),
                                  response_code=event.get("response_code", ""))
        _enter(s, "approved", ts)
    elif kind == "auth_declined":
        _expect(s, kind, "authorizing")
        _payment(s, event).update(status="declined", reason=event["reason"],
                                  message=event.get("message_key") or "card_declined",
                                  response_code=event.get("response_code", ""))
        s.notice = "declined"
        s.last_activity = ts
        _enter(s, "declined", ts)
    elif kind == "auth_failed":
        # no answer (timeout, host down, restart): the host may have approved, so reverse
        _expect(s, kind, "authorizing")
        pay = _payment(s, event)
        pay.update(status="failed", reason=event["reason"])
        s.reversal = {"stan": pay["stan"], "amount": pay["amount"], "idem_key": pay["idem_key"],
                      "method": pay["method"], "attempts": 0}
        s.notice = "not_charged" if event["reason"] == "cancelled" else "payment_not_completed"
        _enter(s, "reversing", ts)
    elif kind == "app_chosen":
        _expect(s, kind, "authorizing")
        _payment(s, event)["app"] = {"index": event["index"], "label": event["label"]}
    elif kind == "cancel_requested":
        _expect(s, kind, "authorizing")
        _payment(s, event)["cancel"] = event.get("by", "shopper")
    elif kind == "reversal_result":
        _expect(s, kind, "reversing", "payment_unavailable", "attract", "shopping",
                "attendant_needed", "payment", "declined", "receipt", "out_of_service")
        if s.reversal is None or s.reversal["stan"] != event["stan"]:
            raise InvalidEvent("reversal_result for no pending reversal")
        if event["ok"]:
            s.reversal = None
            if s.state in ("reversing", "payment_unavailable"):
                s.payment = None
                s.last_activity = ts
                _enter(s, "payment", ts)
        else:
            s.reversal["attempts"] += 1
            if s.state == "reversing":
                _enter(s, "payment_unavailable", ts)
    elif kind == "receipt_chosen":
        _expect(s, kind, "approved")
        if s.payment is None or s.payment.get("receipt_choice"):
            raise InvalidEvent("receipt_chosen twice")
        s.payment["receipt_choice"] = event["choice"]
        if event["choice"] == "none":
            s.receipt = {"path": "", "ok": True, "printed": False}
            _enter(s, "receipt", ts)
    elif kind == "receipt_printed":
        _expect(s, kind, "approved")
        s.receipt = {"path": event["path"], "ok": event["ok"]}
        _enter(s, "receipt", ts)
    elif kind == "session_finished":
        _expect(s, kind, "receipt")
        _reset_session(s, ts, event.get("next_locale"))
    elif kind == "basket_voided":
        _expect(s, kind, *CANCELLABLE, "attendant_needed", "payment_unavailable")
        if s.state == "payment_unavailable" and event["reason"] != "staff":
            raise InvalidEvent("only staff may void while a reversal is owed")
        s.notice = f"voided_{event['reason']}"
        _reset_session(s, ts, event.get("next_locale"))
    elif kind == "idle_warning":
        _expect(s, kind, *IDLE_STATES)
        s.idle_warning_at = ts
    elif kind == "device_status":
        if event["ok"]:
            s.faults.pop(event["device"], None)
        else:
            s.faults[event["device"]] = event["detail"]
        if s.state == "attract" and _blocked(s):
            _enter(s, "out_of_service", ts)
        elif s.state == "out_of_service" and not _blocked(s):
            _enter(s, "attract", ts)
    elif kind == "recovered":
        pass
    else:
        raise InvalidEvent(f"unknown event type {kind!r}")


def _line(s: CheckoutState, line_id: int) -> Line:
    line = s.line(line_id)
    if line is None:
        raise InvalidEvent(f"no line {line_id}")
    return line


def _payment(s: CheckoutState, event: dict) -> dict:
    if s.payment is None or s.payment["stan"] != event["stan"]:
        raise InvalidEvent(f"{event['type']} for stan {event.get('stan')} not in flight")
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


def replay(events: list[dict], start: CheckoutState | None = None) -> CheckoutState:
    """Rebuild state from events (each with ``type`` and ``ts``)."""
    s = copy.deepcopy(start) if start is not None else CheckoutState()
    for event in events:
        apply(s, event)
    return s


def due_timer_events(s: CheckoutState, config: KioskConfig, now: float) -> list[dict]:
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
