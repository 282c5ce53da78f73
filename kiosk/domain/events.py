"""The journal's events: one frozen model per event type, each with its ``type`` and version.

Every event kiosk-core journals is one of the models below (``EVENT_TYPES``: type → model).
An event carries ``type``, ``v`` (the version of its type's shape), ``ts`` and, on the first
event a command produced, that command's ``cmd_id``. :func:`parse` turns a dict (a journal
row or a freshly produced event) into its model: it upcasts an older version to the current
one first and refuses a newer one (:class:`NewerVersion`), so a release never guesses at a
shape it does not know.

Versions: the journal written before issue 15 carries no ``v`` at all; a missing ``v`` is
**version 0**, that unversioned format, and every type's current version is 1. The v0 → v1
upcasters write down the defaults the unversioned code filled in when it applied an event
(``auth_declined`` without a message key shows "card_declined", ``cancel_requested`` without
``by`` is the shopper's, ...), so a v1 event states everything its handler reads. A dict
produced without ``v`` is read the same way (the v0 shape is v1 minus defaults).

``snapshot`` (the journal's own row: the whole state at the end of a session) is versioned
the same way: its ``v`` is the version of ``CheckoutState.as_dict()``'s format
(:data:`STATE_VERSION`), and :func:`upcast_state` brings an older state dict forward.

Changing an event's shape: add a model field or change one, bump that type's ``v`` default,
add an upcaster from the previous version to ``UPCASTERS``, and bump the journal's schema
version (``kiosk/journal/store.py``, ``JOURNAL_SCHEMA``) so an older release refuses the
journal instead of misreading it.

Pure: no I/O, nothing of the project outside :mod:`kiosk.domain`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError


class InvalidEvent(Exception):
    """An event that cannot follow the current state, or is not a valid event of its type
    and version (a corrupt or forged journal)."""


class NewerVersion(Exception):
    """Data written by a newer release than this software (a journal, snapshot or event
    version this code does not know): refused, never guessed at."""

    def __init__(self, what: str, found: int, supported: int) -> None:
        super().__init__(f"{what} {found} is newer than this software ({supported})")
        self.what, self.found, self.supported = what, found, supported


class Event(BaseModel):
    """What every journal event has. ``cmd_id``: the command it accepts (first event only)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    type: str
    v: int
    ts: float
    cmd_id: str | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.TYPE = cls.model_fields["type"].default
        cls.VERSION = cls.model_fields["v"].default

    def data(self) -> dict[str, Any]:
        """The journal row's ``data``: everything but ``type`` and ``ts`` (and ``cmd_id``
        where there is none)."""
        out = self.model_dump(exclude=_ROW_COLUMNS)
        if out.get("cmd_id") is None:
            out.pop("cmd_id", None)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The event as the dict the rest of the lane passes around (``type``, ``ts``, ...)."""
        return {"type": self.type, "ts": self.ts, **self.data()}


_ROW_COLUMNS = {"type", "ts"}


class ItemLine(BaseModel):
    """A product as an ``item_added`` event records it (everything a receipt needs)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    key: str
    gtin: str | None
    plu: str | None
    names: dict[str, str]
    unit_price_minor: int
    tax_class: str
    age_restricted: bool
    sold_by_weight: bool
    weight_g: int | None = None
    price_minor: int | None = None


# -- session and basket --------------------------------------------------------------------

class SessionStarted(Event):
    type: Literal["session_started"] = "session_started"
    v: Literal[1] = 1
    txn: str
    txn_seq: int
    locale: str


class LanguageChanged(Event):
    type: Literal["language_changed"] = "language_changed"
    v: Literal[1] = 1
    locale: str


class Activity(Event):
    type: Literal["activity"] = "activity"
    v: Literal[1] = 1


class ItemAdded(Event):
    type: Literal["item_added"] = "item_added"
    v: Literal[1] = 1
    line: ItemLine


class QuantityChanged(Event):
    type: Literal["quantity_changed"] = "quantity_changed"
    v: Literal[1] = 1
    line_id: int
    qty: int


class LineRemoved(Event):
    type: Literal["line_removed"] = "line_removed"
    v: Literal[1] = 1
    line_id: int
    by: str                 # "shopper" or the staff id


class ItemUnknown(Event):
    type: Literal["item_unknown"] = "item_unknown"
    v: Literal[1] = 1
    code: str


class ItemRefused(Event):
    """A scanned item the lane may not sell: its GS1 code is past a date the store refuses
    (``reason`` "expired", ``detail`` the date's AI and ISO date) or its batch is on the
    recall list ("recalled", ``detail`` the batch). Not added; staff are called."""

    type: Literal["item_refused"] = "item_refused"
    v: Literal[1] = 1
    code: str
    gtin: str
    reason: Literal["expired", "recalled"]
    detail: str


class HelpRequested(Event):
    type: Literal["help_requested"] = "help_requested"
    v: Literal[1] = 1


class HelpCancelled(Event):
    """The shopper withdrew their own help call."""

    type: Literal["help_cancelled"] = "help_cancelled"
    v: Literal[1] = 1


class ItemPutAside(Event):
    """The shopper put an item with an unknown barcode aside and carries on without it."""

    type: Literal["item_put_aside"] = "item_put_aside"
    v: Literal[1] = 1
    code: str


class IdleWarning(Event):
    type: Literal["idle_warning"] = "idle_warning"
    v: Literal[1] = 1


class CheckoutStarted(Event):
    type: Literal["checkout_started"] = "checkout_started"
    v: Literal[1] = 1


class BackToBasket(Event):
    type: Literal["back_to_basket"] = "back_to_basket"
    v: Literal[1] = 1


class BasketVoided(Event):
    type: Literal["basket_voided"] = "basket_voided"
    v: Literal[1] = 1
    reason: str             # cancel | staff | idle
    staff_id: str | None = None     # who voided it (reason "staff")
    next_locale: str | None = None  # the language the next shopper starts in


class SessionFinished(Event):
    type: Literal["session_finished"] = "session_finished"
    v: Literal[2] = 2  # 2 (issue 18): ``channels``
    next_locale: str | None = None
    #: how the shopper drove the basket (kiosk.domain.vocabulary.CHANNELS, sorted), as
    #: kiosk-core saw its accepted commands; None: not recorded (before v2)
    channels: list[str] | None = None


# -- staff -----------------------------------------------------------------------------------

class StaffSignedIn(Event):
    type: Literal["staff_signed_in"] = "staff_signed_in"
    v: Literal[1] = 1
    staff_id: str
    staff_name: str


class StaffAuthFailed(Event):
    type: Literal["staff_auth_failed"] = "staff_auth_failed"
    v: Literal[1] = 1
    reason: str


class AgeApproved(Event):
    type: Literal["age_approved"] = "age_approved"
    v: Literal[1] = 1
    line_id: int
    staff_id: str


class AttendantCleared(Event):
    type: Literal["attendant_cleared"] = "attendant_cleared"
    v: Literal[1] = 1
    staff_id: str


class TrainingStarted(Event):
    """Staff switched the lane into training (kiosk.domain.training)."""

    type: Literal["training_started"] = "training_started"
    v: Literal[1] = 1
    staff_id: str


class TrainingEnded(Event):
    """Staff took the lane out of training."""

    type: Literal["training_ended"] = "training_ended"
    v: Literal[1] = 1
    staff_id: str


# -- payment ---------------------------------------------------------------------------------

class AuthRequested(Event):
    type: Literal["auth_requested"] = "auth_requested"
    v: Literal[1] = 1
    method: str
    amount: int
    stan: int
    idem_key: str


class AuthApproved(Event):
    type: Literal["auth_approved"] = "auth_approved"
    v: Literal[1] = 1
    stan: int
    auth_code: str
    card: dict[str, Any] | None     # safe card facts only (masked PAN, brand, AID, ...)
    rrn: str
    response_code: str


class AuthDeclined(Event):
    type: Literal["auth_declined"] = "auth_declined"
    v: Literal[1] = 1
    stan: int
    reason: str
    message_key: str
    response_code: str


class AuthFailed(Event):
    type: Literal["auth_failed"] = "auth_failed"
    v: Literal[1] = 1
    stan: int
    reason: str


class AppChosen(Event):
    type: Literal["app_chosen"] = "app_chosen"
    v: Literal[1] = 1
    stan: int
    index: int
    label: str


class CancelRequested(Event):
    type: Literal["cancel_requested"] = "cancel_requested"
    v: Literal[1] = 1
    stan: int
    by: str                 # shopper | timeout


class ReversalResult(Event):
    type: Literal["reversal_result"] = "reversal_result"
    v: Literal[1] = 1
    stan: int
    ok: bool


# -- receipt, devices, recovery ------------------------------------------------------------------

class ReceiptChosen(Event):
    type: Literal["receipt_chosen"] = "receipt_chosen"
    v: Literal[1] = 1
    choice: str             # print | none
    by: str                 # shopper | timeout


class ReceiptPrinted(Event):
    type: Literal["receipt_printed"] = "receipt_printed"
    v: Literal[1] = 1
    path: str | None        # the kept copy ("" or None when nothing was printed)
    ok: bool
    reason: str


class DeviceStatus(Event):
    type: Literal["device_status"] = "device_status"
    v: Literal[1] = 1
    device: str
    ok: bool
    detail: str


class Recovered(Event):
    type: Literal["recovered"] = "recovered"
    v: Literal[1] = 1
    note: str


class CatalogApplied(Event):
    """kiosk-core put catalog snapshot ``version`` (content ``sha256``) in place, between
    baskets (issue 17): from here on items are priced from it."""

    type: Literal["catalog_applied"] = "catalog_applied"
    v: Literal[1] = 1
    version: int
    sha256: str


# -- bagging area (kiosk/domain/bagging.py) ----------------------------------------------------

class BaggingAlert(Event):
    """The bagging scale disagrees with the basket: ``unexpected_item`` (bagged without a
    scan), ``missing_item`` (scanned, not bagged: ``line_id``), ``removed_item``."""

    type: Literal["bagging_alert"] = "bagging_alert"
    v: Literal[1] = 1
    kind: Literal["unexpected_item", "missing_item", "removed_item"]
    line_id: int | None = None
    delta_g: int                    # the bagging area's weight against what it should be
    expected_g: int | None = None   # what the missing item should weigh, when known


class BaggingCleared(Event):
    """A bagging alert is over: ``put_right`` by the shopper (the weight came back, the item
    arrived), ``override`` by staff (``staff_id``), or the shopper's ``own_bag``."""

    type: Literal["bagging_cleared"] = "bagging_cleared"
    v: Literal[1] = 1
    kind: Literal["unexpected_item", "missing_item", "removed_item"]
    how: Literal["put_right", "override", "own_bag"]
    staff_id: str | None = None


class OwnBag(Event):
    """The shopper pressed "I brought a bag"."""

    type: Literal["own_bag"] = "own_bag"
    v: Literal[1] = 1


# -- the attendant station (kiosk/attendant, kiosk/security/remote.py) ------------------------

class RemoteCommand(Event):
    """A command from the attendant station, accepted (the events it led to follow) or
    refused (``reason``: forged, replayed, for another lane, expired, not now ...).
    ``staff_id`` is the attendant the signed session names ("" when no signature held)."""

    type: Literal["remote_command"] = "remote_command"
    v: Literal[1] = 1
    action: str
    staff_id: str
    ok: bool
    reason: str = ""
    line_id: int | None = None
    session: str = ""               # the station session's id (its certificate's ``sid``)


# -- shopper feedback (kiosk/domain/feedback.py) ---------------------------------------------

class ShopperRating(Event):
    """The shopper's rating after the receipt (1 bad .. 3 good), what went wrong (reason
    codes, for a low rating), the basket's step timings (ms; None: a step it did not go
    through) and whether the lane was in training. Nothing personal, no card data."""

    type: Literal["shopper_rating"] = "shopper_rating"
    v: Literal[1] = 1
    rating: int
    reasons: list[str]
    by: str                         # the rating command's source: ui (touch), voice (speech),
    #                                 gpio (the tactile keys, through kiosk-voice)
    training: bool
    scan_to_pay_ms: int | None
    pay_to_approved_ms: int | None
    approved_to_receipt_ms: int | None
    scan_to_receipt_ms: int | None


class Snapshot(Event):
    """The journal's own row: the whole state (``CheckoutState.as_dict()``) at the end of a
    session; ``v`` is that dict's format version (:data:`STATE_VERSION`). Not applied."""

    type: Literal["snapshot"] = "snapshot"
    v: Literal[2] = 2  # 2 (issue 19): the state has ``training``
    state: dict[str, Any]


#: type → its model: every event type the journal holds
EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in (
    SessionStarted, LanguageChanged, Activity, ItemAdded, QuantityChanged, LineRemoved,
    ItemUnknown, ItemRefused, HelpRequested, HelpCancelled, ItemPutAside, IdleWarning,
    CheckoutStarted,
    BackToBasket, BasketVoided,
    SessionFinished, StaffSignedIn, StaffAuthFailed, AgeApproved, AttendantCleared,
    TrainingStarted, TrainingEnded,
    AuthRequested, AuthApproved, AuthDeclined, AuthFailed, AppChosen, CancelRequested,
    ReversalResult, ReceiptChosen, ReceiptPrinted, DeviceStatus, Recovered, Snapshot,
    CatalogApplied,
    BaggingAlert, BaggingCleared, OwnBag, RemoteCommand, ShopperRating,
)}
#: the version of ``CheckoutState.as_dict()``'s format, as snapshots carry it
STATE_VERSION = Snapshot.VERSION


# -- upcasters ---------------------------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _defaults(**defaults: Any) -> Upcaster:
    """v0 → v1: the fields the unversioned code could leave out, with the value its apply
    read for them (``event.get(key, default)``)."""

    def up(event: dict[str, Any]) -> dict[str, Any]:
        for key, value in defaults.items():
            event.setdefault(key, value)
        return event

    return up


def _auth_declined_v0(event: dict[str, Any]) -> dict[str, Any]:
    # v0 apply showed "card_declined" for a missing, None or empty message key
    event["message_key"] = event.get("message_key") or "card_declined"
    event.setdefault("response_code", "")
    return event


#: (type, version) → the function that turns that version into the next one. A type with no
#: entry for version 0 has the same shape in v0 and v1 (only ``v`` is added)
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("auth_approved", 0): _defaults(card=None, rrn="", response_code=""),
    ("auth_declined", 0): _auth_declined_v0,
    ("cancel_requested", 0): _defaults(by="shopper"),
    ("receipt_printed", 0): _defaults(reason=""),
    ("recovered", 0): _defaults(note=""),
    ("session_finished", 1): _defaults(channels=None),  # issue 18: not recorded then
}

def _state_v1(state: dict[str, Any]) -> dict[str, Any]:
    # v1 → v2 (issue 19): a lane before training mode was never in training
    state.setdefault("training", False)
    return state


#: version → the function that turns a state dict of that version into the next one
#: (v0, the unversioned snapshot, has v1's fields)
STATE_UPCASTERS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _state_v1}


#: the types whose unversioned (v0) form is their current form: no upcaster to run
_V0_IS_CURRENT = frozenset(
    kind for kind, cls in EVENT_TYPES.items()
    if cls.VERSION == 1 and (kind, 0) not in UPCASTERS
    and not (cls is Snapshot and 0 in STATE_UPCASTERS))


def upcast(event: Mapping[str, Any], cls: type[Event]) -> dict[str, Any]:
    """``event`` brought to ``cls``'s current version (a copy); NewerVersion if it is newer."""
    version = event.get("v", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidEvent(f"{cls.TYPE}: bad version {version!r}")
    if version > cls.VERSION:
        raise NewerVersion(f"{cls.TYPE} event version", version, cls.VERSION)
    out = dict(event)
    while version < cls.VERSION:
        step = UPCASTERS.get((cls.TYPE, version))
        if step is not None:
            out = step(out)
        version += 1
        out["v"] = version
    if cls is Snapshot and event.get("v", 0) < STATE_VERSION:
        out["state"] = upcast_state(out.get("state"), event.get("v", 0))
    return out


def upcast_state(state: Any, version: int) -> dict[str, Any]:
    """A snapshot's state dict of ``version`` in the current format; NewerVersion if newer."""
    if version > STATE_VERSION:
        raise NewerVersion("snapshot state version", version, STATE_VERSION)
    if not isinstance(state, dict):
        raise InvalidEvent("snapshot without a state")
    out = dict(state)
    while version < STATE_VERSION:
        step = STATE_UPCASTERS.get(version)
        if step is not None:
            out = step(out)
        version += 1
    return out


def parse(event: Mapping[str, Any] | Event) -> Event:
    """The model of ``event`` (a dict with ``type``, ``ts``, ... and maybe ``v``) at its
    type's current version. InvalidEvent if it is not a valid one, NewerVersion if it was
    written by a newer release."""
    if isinstance(event, Event):
        return event
    kind = event.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidEvent(f"unknown event type {kind!r}")
    version = event.get("v")
    if (type(version) is int and version == cls.VERSION) or (
            version is None and kind in _V0_IS_CURRENT):
        data = event  # the common case, validated as it is (a missing v defaults to 1)
    else:
        data = upcast(event, cls)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(f"{kind}: {_first_error(exc)}") from None


def build(kind: str, /, **data: Any) -> dict[str, Any]:
    """A new event of ``kind`` at its current version, validated against its model, as the
    dict the lane passes on (without ``ts``: the core stamps it when it commits). TypeError
    if the fields do not fit the model (a producer's bug or a mistyped command field)."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise TypeError(f"unknown event type {kind!r}")
    try:
        event = cls.model_validate({"type": kind, "v": cls.VERSION, "ts": 0.0, **data})
    except ValidationError as exc:
        raise TypeError(f"{kind}: {_first_error(exc)}") from None
    return {"type": kind, **event.data()}


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "event"
    return f"{where}: {err['msg']}"
