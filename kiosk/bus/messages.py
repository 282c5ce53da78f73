"""Bus topics and versioned JSON message types: the one place they are defined.

Commands (UI, voice, scanner → kiosk-core) are validated here before any
handler sees them: a malformed, unknown or oversized message raises
:class:`MessageError` with a reason and is never acted on. Card data has no
field in any message type, and a staff PIN crosses only sealed to kiosk-core
(:mod:`kiosk.pinseal`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

VERSION = 1
ROOT = f"kiosk/v{VERSION}"

IdStr = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{4,64}$")]
Source = Literal["ui", "voice", "scanner", "gpio", "printer", "staff", "sim", "test", "bench",
                 "cli"]


class MessageError(ValueError):
    """A bus message that is rejected; ``str()`` is the logged reason."""


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
        self.bench = f"{base}/bench/#"                # `kiosk bench`'s round-trip probes

    def command_from(self, service: str) -> str:
        """The command topic of one service (``ui``, ``voice``, ``scanner``, ``gpio``, ``cli``)."""
        return f"{self._base}/cmd/from/{service}"

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
    code: str = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


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
    """A staff PIN sealed to kiosk-core (kiosk/pinseal.py): never the PIN itself."""

    type: Literal["staff_pin"]
    epk: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")          # ephemeral X25519 key
    challenge: str = Field(pattern=r"^[0-9a-f]{32}$")         # from the core's state
    sealed: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")       # 16 bytes + 16-byte tag


class Attendant(_Command):
    type: Literal["attendant"]
    action: Literal["approve_age", "void_line", "clear", "cancel_basket"]
    line_id: int | None = Field(default=None, ge=1)


class Pay(_Command):
    type: Literal["pay"]
    method: Literal["card", "qr"]


class ChooseApp(_Command):
    """The shopper picked one of the card's applications (``payment.apps`` index)."""

    type: Literal["choose_app"]
    index: int = Field(ge=0, le=7)


class ReceiptChoice(_Command):
    """After approval: print the receipt or not (touch and voice send the same)."""

    type: Literal["receipt"]
    choice: Literal["print", "none"]


class Device(_Command):
    """A device reports its health (door switch, printer); faults are journaled."""

    type: Literal["device"]
    device: Literal["door", "printer", "scanner"]
    ok: bool
    detail: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_ .:-]*$")


class Simple(_Command):
    type: Literal["touch", "help", "checkout", "back", "cancel", "done"]


Command = Annotated[
    Scan | AddPlu | Start | SetLanguage | SetQuantity | RemoveLine | StaffPin | Attendant
    | Pay | ChooseApp | ReceiptChoice | Device | Simple,
    Field(discriminator="type"),
]
_COMMAND = TypeAdapter(Command)
COMMAND_TYPES = (
    "scan", "add_plu", "start", "set_language", "set_quantity", "remove_line", "staff_pin",
    "attendant", "pay", "device", "touch", "help", "checkout", "back", "cancel", "done",
    "choose_app", "receipt",
)


def parse_command(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """Validate a raw command payload; returns it as a plain dict or raises MessageError."""
    if len(payload) > max_bytes:
        raise MessageError(f"oversized: {len(payload)} bytes > {max_bytes}")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MessageError("not a JSON object")
    if data.get("v") != VERSION:
        raise MessageError(f"unsupported version {data.get('v')!r}")
    if data.get("type") not in COMMAND_TYPES:
        raise MessageError(f"unknown command type {str(data.get('type'))[:32]!r}")
    try:
        return _COMMAND.validate_python(data).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"][1:]) or "(message)"
        raise MessageError(f"invalid {data['type']}: {where}: {err['msg']}") from None


def command(kind: str, source: str = "ui", cmd_id: str | None = None, **fields: Any) -> dict:
    """Build a command message (used by the UI, simulators, CLI and tests)."""
    import uuid

    msg = {"v": VERSION, "type": kind, "id": cmd_id or uuid.uuid4().hex, "source": source,
           **fields}
    _COMMAND.validate_python(msg)
    return msg


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def state_message(seq: int, state: dict, totals: dict, currency: dict, extra: dict) -> dict:
    """The retained checkout state kiosk-core publishes after every change."""
    return {"v": VERSION, "type": "state", "seq": seq, "currency": currency, "totals": totals,
            **state, **extra}


def result_message(cmd_id: str, ok: bool, reason: str = "", seq: int = 0) -> dict:
    return {"v": VERSION, "type": "result", "id": cmd_id, "ok": ok, "reason": reason, "seq": seq}


def status_message(online: bool) -> dict:
    return {"v": VERSION, "type": "core_status", "online": online}
