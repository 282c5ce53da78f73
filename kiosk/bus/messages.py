"""Bus topics and versioned JSON message types: the one place they are defined.

Commands (UI, voice, scanner → kiosk-core) are validated here before any
handler sees them: a malformed, unknown, oversized or too deeply nested message
raises :class:`MessageError` with a stable ``code`` and a reason and is never
acted on. The retained checkout state and the core status that kiosk-core
publishes have their schema here too (:func:`parse_state`,
:func:`parse_core_status`): every subscriber reads them through it and drops
what fails. Card data has no field in any message type, and a staff PIN crosses
only sealed to kiosk-core (:mod:`kiosk.security.pinseal`).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from kiosk.domain.vocabulary import COMMANDS, HELP_REASON, REMOTE_ACTIONS, accepts
from kiosk.domain.wallet_codes import WALLET_KINDS

VERSION = 1
ROOT = f"kiosk/v{VERSION}"

IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{4,64}$")]
Source = Literal["ui", "voice", "scanner", "gpio", "printer", "staff", "sim", "test", "bench",
                 "cli"]


#: deepest JSON nesting any message may have (the state: state → lines → line → names)
MAX_DEPTH = 8
#: a state message is larger than a command (up to 200 lines with names in three languages)
MAX_STATE_BYTES = 1 << 20
MAX_STATUS_BYTES = 16384
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


class MessageError(ValueError):
    """A bus message that is rejected; ``str()`` is the logged reason, ``code`` a stable
    short name of the kind of rejection (for counting and rate-limited logging)."""

    def __init__(self, reason: str, code: str = "invalid") -> None:
        super().__init__(reason)
        self.code = code


def _depth(payload: bytes) -> int:
    """Deepest bracket nesting outside JSON strings, found without recursing."""
    if payload.count(b"[") + payload.count(b"{") <= MAX_DEPTH:
        return 0  # cannot be deeper than the limit: the common case costs two counts
    deepest = depth = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b'""', payload)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(payload: bytes, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` with the size and nesting bounded first: a payload nested
    deeper than ``max_depth`` is refused before the (recursive) decoder sees it."""
    if len(payload) > max_bytes:
        raise MessageError(f"oversized: {len(payload)} bytes > {max_bytes}", "oversized")
    if _depth(payload) > max_depth:
        raise MessageError(f"nested deeper than {max_depth}", "too_deep")
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MessageError(f"not JSON: {str(exc)[:80]}", "not_json") from None


class Topics:
    """Topic names for one lane (``Topics("+")``: the same names for every lane, which is how
    kiosk/bus/acl.py derives the broker's ACL from them).

    Each service sends its commands on its own topic, ``cmd/from/<service>``, which only that
    service's bus credential may write: kiosk-core takes the sender from the topic, never from
    the self-declared ``source`` field.
    """

    def __init__(self, lane: str) -> None:
        base = f"{ROOT}/{lane}"
        self._base = base
        self.commands = f"{base}/cmd/from/+"          # what kiosk-core subscribes to
        self.result = f"{base}/cmd/result"
        self.state = f"{base}/state"
        self.core_status = f"{base}/core/status"
        self.feedback = f"{base}/event/feedback"
        self.keypad = f"{base}/event/keypad"          # kiosk-gpio's tactile keys
        self.headset = f"{base}/event/headset"        # simulated jack events (demo, tests)
        self.scanner_events = f"{base}/event/scanner"
        self.scanner_status = f"{base}/scanner/status"
        self.sync_status = f"{base}/sync/status"      # kiosk-sync's lag to the back office
        self.voice_status = f"{base}/voice/status"      # retained: the locales with voice
        self.scales = f"{base}/scale/+"               # kiosk-scale: every scale's live weight
        self.bench = f"{base}/bench/#"                # `kiosk bench`'s round-trip probes

    def command_from(self, service: str) -> str:
        """The command topic of one service (``ui``, ``voice``, ``scanner``, ``gpio``, ``cli``;
        ``attendant``: the attendant station's, bridged in from the store broker)."""
        return f"{self._base}/cmd/from/{service}"

    def scale(self, name: str) -> str:
        """The retained live weight of one scale (``produce``, ``bagging``)."""
        return f"{self._base}/scale/{name}"

    def sender(self, topic: str) -> str | None:
        """The service a command topic belongs to, or None for any other topic."""
        prefix = f"{self._base}/cmd/from/"
        if not topic.startswith(prefix) or "/" in topic[len(prefix):]:
            return None
        return topic[len(prefix):]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    id: IdStr
    source: Source


class Scan(_Command):
    type: Literal["scan"]
    # a GTIN, a badge, or a GS1 element string in HRI form (kiosk.domain.codes.SCAN_MAX)
    code: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")


class AddPlu(_Command):
    type: Literal["add_plu"]
    plu: str = Field(pattern=r"^\d{4,5}$")
    weight_g: int | None = Field(default=None, ge=1, le=50_000)


class Start(_Command):
    type: Literal["start"]
    locale: str | None = Field(default=None, max_length=16)


class SetLanguage(_Command):
    type: Literal["set_language"]
    locale: str = Field(max_length=16)


class SetQuantity(_Command):
    type: Literal["set_quantity"]
    line_id: int = Field(ge=1)
    qty: int = Field(ge=1, le=99)


class RemoveLine(_Command):
    type: Literal["remove_line"]
    line_id: int = Field(ge=1)


class StaffPin(_Command):
    """A staff PIN sealed to kiosk-core (kiosk/security/pinseal.py): never the PIN itself."""

    type: Literal["staff_pin"]
    epk: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")          # ephemeral X25519 key
    challenge: str = Field(pattern=r"^[0-9a-f]{32}$")         # from the core's state
    sealed: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")       # 16 bytes + 16-byte tag


class Attendant(_Command):
    type: Literal["attendant"]
    action: Literal["approve_age", "void_line", "clear", "cancel_basket", "training_on",
                    "training_off"]  # clear: a bagging alert too (staff override: the
    # bagging area's weight as it is now is right)
    line_id: int | None = Field(default=None, ge=1)


class Remote(_Command):
    """An attendant's command from the attendant station, signed by the attendant's session
    (kiosk/security/remote.py): only the station's topic carries it (``cmd/from/attendant``,
    bridged from the store broker), and kiosk-core acts on it only once the signature holds."""

    type: Literal["remote"]
    lane: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    action: Literal[tuple(REMOTE_ACTIONS)]  # type: ignore[valid-type]
    line_id: int | None = Field(default=None, ge=1)
    ts: float
    cert: str = Field(max_length=1024, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
    sig: str = Field(pattern=r"^[A-Za-z0-9_-]{86}$")


class Pay(_Command):
    type: Literal["pay"]
    method: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")  # a payment method id


class ChooseApp(_Command):
    """The shopper picked one of the card's applications (``payment.apps`` index)."""

    type: Literal["choose_app"]
    index: int = Field(ge=0, le=7)


class ReceiptChoice(_Command):
    """After approval: print the receipt or not (touch and voice send the same)."""

    type: Literal["receipt"]
    choice: Literal["print", "none"]


class Rate(_Command):
    """The shopper's rating on the receipt screen (kiosk/domain/feedback.py): the face, and
    for a low one what went wrong (``reasons``; left out: not asked yet, [] skipped). Only
    sizes are bounded here: the checkout refuses a rating or reason it does not know with a
    result that says so (``bad_rating``, ``unknown_reason``)."""

    type: Literal["rate"]
    rating: int | None = None
    reasons: list[Annotated[str, Field(max_length=32)]] | None = Field(default=None,
                                                                       max_length=8)


class Device(_Command):
    """A device reports its health (door switch, printer); faults are journaled."""

    type: Literal["device"]
    device: Literal["door", "printer", "scanner"]
    ok: bool
    detail: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_ .:-]*$")


class WalletCode(_Command):
    """A customer-presented wallet payment code the scanner read (kiosk.domain.wallet_codes):
    a bearer credential, sent only by kiosk-scanner on its own command topic, readable only
    by kiosk-core (kiosk/bus/acl.py), never echoed in a result, state or log."""

    type: Literal["wallet_code"]
    code: str = Field(min_length=16, max_length=512, pattern=r"^[A-Za-z0-9+/=]+$")
    kind: Literal[WALLET_KINDS]  # type: ignore[valid-type]


class Simple(_Command):
    type: Literal["touch", "help", "checkout", "back", "cancel", "done", "cancel_help",
                  "put_aside", "own_bag"]


Command = Annotated[
    Scan | AddPlu | Start | SetLanguage | SetQuantity | RemoveLine | StaffPin | Attendant
    | Pay | ChooseApp | ReceiptChoice | Device | WalletCode | Simple | Remote | Rate,
    Field(discriminator="type"),
]
_COMMAND = TypeAdapter(Command)
#: the checkout's command types (kiosk.domain.vocabulary) and the station's signed ``remote``
#: (kiosk-core checks its signature, then decides its action: ``decide_remote``)
COMMAND_TYPES = (*COMMANDS, "remote")
CommandType = Literal[COMMANDS]  # type: ignore[valid-type]


def parse_command(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """Validate a raw command payload; returns it as a plain dict or raises MessageError."""
    data = load_json(payload, max_bytes)
    if not isinstance(data, dict):
        raise MessageError("not a JSON object", "not_object")
    if data.get("v") != VERSION:
        raise MessageError(f"unsupported version {str(data.get('v'))[:16]!r}", "bad_version")
    if data.get("type") not in COMMAND_TYPES:
        raise MessageError(f"unknown command type {str(data.get('type'))[:32]!r}",
                           "unknown_type")
    try:
        return _COMMAND.validate_python(data).model_dump()
    except ValidationError as exc:
        raise MessageError(f"invalid {data['type']}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError, skip: int = 1) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"][skip:]) or "(message)"
    return f"{where}: {err['msg']}"


def command(kind: str, /, source: str = "ui", cmd_id: str | None = None,
            **fields: Any) -> dict:
    """Build a command message (used by the UI, simulators, CLI and tests); ``kind`` is
    positional only, so a command may have a ``kind`` field (``wallet_code``)."""
    msg = {"v": VERSION, "type": kind, "id": cmd_id or uuid.uuid4().hex, "source": source,
           **fields}
    _COMMAND.validate_python(msg)
    return msg


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def state_message(seq: int, state: dict, totals: dict, currency: dict, extra: dict) -> dict:
    """The retained checkout state kiosk-core publishes after every change, with the
    command types its state accepts (``accepts``: the domain's table, never restated)."""
    return {"v": VERSION, "type": "state", "seq": seq, "currency": currency, "totals": totals,
            "accepts": list(accepts(state["state"])), **state, **extra}


def accepted(msg: dict | None, command: str) -> bool:
    """Whether the state in ``msg`` accepts ``command`` (a message without ``accepts``
    accepts nothing: a subscriber never offers what the core has not said it takes)."""
    return bool(msg) and command in (msg.get("accepts") or ())  # type: ignore[union-attr]


def rating_phase(msg: dict | None) -> str:
    """Where the shopper's optional rating stands on the receipt screen (issue 18,
    kiosk/domain/feedback.py), as the screen, the voice and the keys offer it: ``ask`` (the
    faces), ``reasons`` (a low rating: what went wrong?), ``thanks`` (rated), or "" where
    no rating is taken."""
    if not msg:
        return ""
    if (msg.get("receipt") or {}).get("rating"):
        return "thanks"
    if not accepted(msg, "rate"):
        return ""
    return "reasons" if msg.get("rating_pending") else "ask"


def shopper_ways_out(msg: dict | None) -> tuple[str, ...]:
    """What the shopper may do themselves while staff are called, as the screen and the
    voice offer it: withdraw their own help call (``cancel_help``) or put an unknown item
    aside (``put_aside``), where the state accepts it; nothing once staff are here."""
    if not msg or msg.get("staff"):
        return ()
    reason = (msg.get("attendant") or {}).get("reason")
    way = {HELP_REASON: "cancel_help", "unknown_barcode": "put_aside",
           "unexpected_item": "own_bag"}.get(reason)
    return (way,) if way and accepted(msg, way) else ()


def result_message(cmd_id: str, ok: bool, reason: str = "", seq: int = 0) -> dict:
    return {"v": VERSION, "type": "result", "id": cmd_id, "ok": ok, "reason": reason, "seq": seq}


def status_message(online: bool, rejected: dict[str, dict[str, int]] | None = None) -> dict:
    msg: dict[str, Any] = {"v": VERSION, "type": "core_status", "online": online}
    if rejected:
        msg["rejected"] = rejected
    return msg


# -- what kiosk-core publishes: the retained state and its online status ----------------------
# Subscribers (UI, voice, gpio, the demo) read these through parse_state / parse_core_status.
# Only the fields a subscriber reads are typed (strictly: no "1" for 1, no 0 for false);
# every other field passes as published, so the core can add fields without breaking them.

class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


Text = Annotated[str, Field(max_length=256)]
Names = dict[str, Text]


class StateLine(_Lenient):
    line_id: int
    key: Text = ""
    names: Names = {}
    unit_price_minor: int
    qty: int = Field(ge=1)
    amount: int
    weight_g: int | None = None
    price_minor: int | None = None
    age_status: Text = "none"


class StateAttendant(_Lenient):
    reason: Text = ""
    line_id: int | None = None
    code: Text | None = None
    detail: Text | None = None  # item_expired: "<AI>:<ISO date>"; item_recalled: the batch


class StateStaff(_Lenient):
    name: Text = ""


class StaffSeal(_Lenient):
    """What the PIN pad seals a PIN to (kiosk.security.pinseal): kiosk-core's key, a challenge."""

    key: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")
    challenge: str = Field(pattern=r"^[0-9a-f]{32}$")


class StateCard(_Lenient):
    brand: Text = ""
    masked_pan: Text = ""


class StateApp(_Lenient):
    label: Text = ""


class StatePayment(_Lenient):
    method: Text = ""
    amount: int = 0
    stan: int = 0
    step: Text | None = None
    apps: list[StateApp] = []
    message: Text | None = None
    card: StateCard | None = None
    auth_code: Text | None = None
    cancel: Text | None = None
    receipt_choice: Text | None = None


class StateReceipt(_Lenient):
    ok: bool = True
    rating: int | None = None  # the shopper's rating, journaled (kiosk/domain/feedback.py)


class StateDiscount(_Lenient):
    names: Names = {}
    promotion_id: Text = ""
    amount: int


class StateTotals(_Lenient):
    subtotal: int = 0
    savings: int = 0
    tax: int = 0
    total: int = 0
    tax_mode: Text = ""
    discounts: list[StateDiscount] = []


class StateMethod(_Lenient):
    """A payment method the lane offers: its id (the ``pay`` command's ``method``) and the
    message ids of its button, with its own translations when it brings them."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: Text
    hint: Text = ""
    texts: dict[str, dict[str, Text]] = {}


class StateCurrency(_Lenient):
    code: str = Field(pattern=r"^[A-Z]{3}$")
    exponent: int = Field(ge=0, le=4)


class StateMessage(_Lenient):
    """The retained checkout state (built by :func:`state_message`)."""

    v: Literal[1]
    type: Literal["state"]
    seq: int = Field(ge=0)
    state: str = Field(pattern=r"^[a-z_]{1,32}$")
    txn: Text | None = None
    locale: Text = ""
    locales: list[Text] = []
    lines: list[StateLine] = []
    last_line_id: int | None = None
    attendant: StateAttendant | None = None
    staff: StateStaff | None = None
    payment: StatePayment | None = None
    receipt: StateReceipt | None = None
    faults: dict[str, Text] = {}
    notice: Text | None = None
    idle_warning_at: float | None = None
    idle_void_at: float | None = None
    server_time: float | None = None
    totals: StateTotals = StateTotals()
    currency: StateCurrency | None = None
    staff_seal: StaffSeal | None = None
    card_left: bool = False  # a card left in the reader: "take your card" until removed
    accepts: list[CommandType] = []  # the command types this state accepts (see accepted)
    methods: list[StateMethod] = []  # the payment methods offered, in screen order
    e_receipt: Text | None = None  # the sale's signed e-receipt link (approved, receipt)
    training: bool = False  # the lane is in training (kiosk.domain.training)
    #: a low rating waiting for "what went wrong" (kiosk-core holds it until answered)
    rating_pending: int | None = None


class CoreStatus(_Lenient):
    """kiosk-core's retained online flag (and its will), with its rejected-message counts."""

    v: Literal[1]
    type: Literal["core_status"]
    online: bool
    rejected: dict[str, dict[str, int]] = {}


class SyncStatus(_Lenient):
    """kiosk-sync's retained health (and its will): how far the back office is behind this
    lane's journal (``lag_events`` events, ``lag_s`` seconds: the age of the oldest event it
    has not acknowledged) and when a batch last went through (``last_success``, epoch s).
    ``state``: ``ok`` (caught up or shipping), ``retrying`` (back office unreachable or
    failing: backing off), ``refused`` (the token was refused: 401/403, a technician must
    act), ``offline`` (kiosk-sync itself is not running: its will)."""

    v: Literal[1]
    type: Literal["sync_status"]
    online: bool
    state: Literal["ok", "retrying", "refused", "offline"]
    acked_seq: int | None = None
    journal_seq: int | None = None
    lag_events: int | None = Field(default=None, ge=0)
    lag_s: float | None = Field(default=None, ge=0)
    last_success: float | None = None
    error: Text = ""


SCALE_STATUSES = ("stable", "motion", "over_capacity", "under_zero", "not_ready",
                  "no_response", "bad_frame")
MAX_SCALE_BYTES = 1024


class ScaleMessage(_Lenient):
    """kiosk-scale's retained reading of one scale (and its will: ``online`` false)."""

    v: Literal[1]
    type: Literal["scale"]
    scale: str = Field(pattern=r"^[a-z][a-z0-9_]{0,15}$")
    online: bool
    status: Literal[SCALE_STATUSES]  # type: ignore[valid-type]
    weight_g: int | None = Field(default=None, ge=0, le=1_000_000)
    seq: int = Field(default=0, ge=0)
    ts: float = 0.0


def scale_message(name: str, online: bool, status: str, weight_g: int | None = None,
                  seq: int = 0, ts: float = 0.0) -> dict:
    """A scale's reading as kiosk-scale publishes it (``weight_g`` only when stable)."""
    return {"v": VERSION, "type": "scale", "scale": name, "online": online, "status": status,
            "weight_g": weight_g, "seq": seq, "ts": ts}


def _parse_published(payload: bytes, max_bytes: int, model: type[BaseModel],
                     what: str) -> dict[str, Any]:
    data = load_json(payload, max_bytes)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise MessageError(f"invalid {what}: {_first_error(exc, 0)}") from None
    return data


def parse_state(payload: bytes) -> dict[str, Any]:
    """A state message as published, or MessageError: subscribers never see a malformed one."""
    return _parse_published(payload, MAX_STATE_BYTES, StateMessage, "state")


def parse_sync_status(payload: bytes) -> dict[str, Any]:
    """A sync status message, or MessageError."""
    return _parse_published(payload, MAX_STATUS_BYTES, SyncStatus, "sync status")


def parse_core_status(payload: bytes) -> dict[str, Any]:
    """A core status message, or MessageError."""
    return _parse_published(payload, MAX_STATUS_BYTES, CoreStatus, "core status")


def parse_scale(payload: bytes) -> dict[str, Any]:
    """A scale message, or MessageError."""
    data = _parse_published(payload, MAX_SCALE_BYTES, ScaleMessage, "scale message")
    if (data["status"] == "stable") != (data.get("weight_g") is not None):
        raise MessageError("invalid scale message: a weight goes with a stable reading")
    return data
