"""ISO 8583 dialects: load a dialect file, build, frame, parse and match messages.

A dialect (a TOML file; the shipped ones are ``config/iso8583/*.toml``) holds the pyiso8583
field spec, the field list per message type, fixed values, the TCP length header and the
field-39 table, so a site swaps acquirer dialects without code. A dialect is named in the
config by the name it is registered under in the entry-point group
``kiosk.acquirer_dialects`` (the shipped ones in ``pyproject.toml``; another package
registers its own the same way), or by path. Everything that reads bytes from the network
raises only :class:`IsoError` (or its subclass :class:`FramingError`) on bad input.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import iso8583
import iso8583.specs

DIALECT_GROUP = "kiosk.acquirer_dialects"

MatchKind = Literal["match", "late", "mismatch", "unrelated"]


class IsoError(Exception):
    """Bytes that are not a well-formed message of the dialect (or a message we cannot build)."""


class FramingError(IsoError):
    """A TCP length header that is not valid for the dialect."""


class DialectError(Exception):
    """A dialect file that cannot be used; str() is one line naming the file."""


@dataclass(frozen=True)
class Framing:
    header_bytes: int = 2
    header_encoding: Literal["binary", "ascii"] = "binary"
    header_counts_itself: bool = False
    max_message_bytes: int = 8192

    def pack(self, body: bytes) -> bytes:
        n = len(body) + (self.header_bytes if self.header_counts_itself else 0)
        if len(body) > self.max_message_bytes:
            raise IsoError(f"message of {len(body)} bytes exceeds {self.max_message_bytes}")
        if self.header_encoding == "ascii":
            return str(n).zfill(self.header_bytes).encode("ascii") + body
        return n.to_bytes(self.header_bytes, "big") + body

    def body_length(self, header: bytes) -> int:
        """Length of the body that follows ``header`` (exactly header_bytes long)."""
        if len(header) != self.header_bytes:
            raise FramingError(f"length header of {len(header)} bytes, expected"
                               f" {self.header_bytes}")
        if self.header_encoding == "ascii":
            if not header.isdigit():
                raise FramingError(f"length header {header!r} is not decimal digits")
            n = int(header)
        else:
            n = int.from_bytes(header, "big")
        if self.header_counts_itself:
            n -= self.header_bytes
        if n <= 0 or n > self.max_message_bytes:
            raise FramingError(f"message length {n} outside 1..{self.max_message_bytes}")
        return n

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        """Complete frames' bodies in ``buffer`` and the incomplete rest."""
        frames = []
        pos = 0
        while len(buffer) - pos >= self.header_bytes:
            n = self.body_length(buffer[pos:pos + self.header_bytes])
            end = pos + self.header_bytes + n
            if end > len(buffer):
                break
            frames.append(bytes(buffer[pos + self.header_bytes:end]))
            pos = end
        return frames, bytes(buffer[pos:])


@dataclass(frozen=True)
class MessageDef:
    mti: str
    fields: tuple[int, ...]
    optional: tuple[int, ...]
    response: str
    response_fields: tuple[int, ...]


@dataclass(frozen=True)
class CodeRule:
    action: Literal["approve", "decline", "reverse_decline"]
    message: str


@dataclass(frozen=True)
class Match:
    """How a received message relates to the request we wait for."""

    kind: MatchKind   # match; late (an earlier STAN); mismatch (same STAN, wrong MTI/41/4)
    fields: dict[str, str]
    reason: str = ""


@dataclass(frozen=True)
class Dialect:
    name: str
    path: Path
    spec: dict[str, dict[str, Any]]
    framing: Framing
    messages: dict[str, MessageDef]
    fixed: dict[str, str]
    codes: dict[str, CodeRule]
    default_code: CodeRule
    dual_message: bool = False
    reversal_mti: Literal["0400", "0420"] = "0400"
    reference_field: str = ""

    # -- message types ------------------------------------------------------------------
    @property
    def auth_mti(self) -> str:
        return "0100" if self.dual_message else "0200"

    @property
    def reversal_repeat_mti(self) -> str:
        return "0401" if self.reversal_mti == "0400" else "0421"

    def response_mti(self, mti: str) -> str:
        return self._message(mti).response

    def carries(self, mti: str, number: int) -> bool:
        m = self._message(mti)
        return number in m.fields or number in m.optional

    def needs_pan_after_auth(self) -> bool:
        """Whether a reversal or completion carries field 2 (then the PAN is kept encrypted)."""
        later = [self.reversal_mti, self.reversal_repeat_mti]
        if self.dual_message:
            later.append("0220")
        return any(self.carries(m, 2) for m in later if m in self.messages)

    def _message(self, mti: str) -> MessageDef:
        try:
            return self.messages[mti]
        except KeyError:
            raise IsoError(f"dialect {self.name} has no message type {mti}") from None

    # -- build / parse --------------------------------------------------------------------
    def build(self, mti: str, values: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
        """Encode ``mti`` with its dialect field list: fixed values under caller ``values``.

        Returns the body (no length header) and the fields as sent.
        """
        m = self._message(mti)
        doc: dict[str, str] = {"t": mti}
        for number in m.fields + m.optional:
            key = str(number)
            value = values.get(key, self.fixed.get(key))
            if value is None or value == "":
                if number in m.fields:
                    raise IsoError(f"{mti}: field {number} is required by dialect {self.name}")
                continue
            doc[key] = value
        try:
            raw, _ = iso8583.encode(dict(doc), self.spec)
        except iso8583.EncodeError as exc:
            raise IsoError(f"{mti}: cannot encode: {exc}") from None
        return bytes(raw), doc

    def encode(self, doc: Mapping[str, str]) -> bytes:
        """Encode a free-form message (the simulator's answers): IsoError if impossible."""
        try:
            raw, _ = iso8583.encode(dict(doc), self.spec)
        except iso8583.EncodeError as exc:
            raise IsoError(f"{doc.get('t')}: cannot encode: {exc}") from None
        return bytes(raw)

    def frame(self, body: bytes) -> bytes:
        return self.framing.pack(body)

    def decode(self, body: bytes) -> dict[str, str]:
        """Decode one message body; IsoError on anything malformed."""
        try:
            doc, _ = iso8583.decode(bytes(body), self.spec)
        except iso8583.DecodeError as exc:
            raise IsoError(f"undecodable message: {exc}") from None
        return {k: v for k, v in doc.items() if k not in ("p", "1", "h")}

    def match(self, body: bytes, request: Mapping[str, str]) -> Match:
        """Decode ``body`` and relate it to ``request`` (fields as sent): MTI + 11 + 41, 4 echo."""
        got = self.decode(body)
        want_mti = self.response_mti(request["t"])
        responses = {m.response for m in self.messages.values()}
        if got.get("t") != want_mti:
            if got.get("t") in responses:  # the answer to an earlier request
                return Match("late", got, f"{got.get('t')} for STAN {got.get('11')!r}")
            return Match("unrelated", got, f"MTI {got.get('t')!r}, expected {want_mti}")
        if got.get("11") != request.get("11"):
            return Match("late", got, f"{want_mti} for STAN {got.get('11')!r}")
        if got.get("41") != request.get("41"):
            return Match("mismatch", got, f"terminal {got.get('41')!r} is not ours")
        if "4" in request and got.get("4") != request["4"]:
            return Match("mismatch", got, f"amount {got.get('4')!r} does not echo"
                                          f" {request['4']}")
        missing = [n for n in self._message(request["t"]).response_fields
                   if str(n) not in got]
        if missing:
            return Match("mismatch", got, f"response lacks field(s) {missing}")
        return Match("match", got)

    def rule(self, code: str) -> CodeRule:
        return self.codes.get(code, self.default_code)


# -- field helpers ----------------------------------------------------------------------
def track2_text(track2: bytes) -> str:
    """Tag 57 (BCD, 'D' separator, 'F' pad) as field 35 text: digits and '='."""
    text = track2.hex().upper().rstrip("F")
    if not text or any(c not in "0123456789D" for c in text):
        raise IsoError("track 2 equivalent data is malformed")
    return text.replace("D", "=")


def original_data(mti: str, stan: str, f7: str, acquirer_id: str = "") -> str:
    """Field 90: original MTI, STAN, transmission date/time, acquirer and forwarder ids."""
    return f"{mti}{stan}{f7}{acquirer_id.zfill(11)}{'0' * 11}"


def icc_tags(hex_data: str) -> dict[str, bytes]:
    """Top-level BER-TLV of a response's field 55: tag (hex, upper) → whole TLV for templates
    71/72 (the card needs them as sent) and value for everything else. IsoError if malformed.
    Repeated tags (several 71 scripts) are concatenated."""
    try:
        data = bytes.fromhex(hex_data)
    except ValueError:
        raise IsoError("field 55 is not hex") from None
    out: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        start = pos
        if data[pos] in (0x00, 0xFF):  # padding between objects
            pos += 1
            continue
        first = data[pos]
        pos += 1
        if first & 0x1F == 0x1F:
            while True:
                if pos >= len(data):
                    raise IsoError("field 55: truncated tag")
                pos += 1
                if not data[pos - 1] & 0x80:
                    break
                if pos - start > 4:
                    raise IsoError("field 55: tag longer than 4 bytes")
        tag = data[start:pos].hex().upper()
        if pos >= len(data):
            raise IsoError(f"field 55: tag {tag} has no length")
        length = data[pos]
        pos += 1
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 3 or pos + count > len(data):
                raise IsoError(f"field 55: bad length of tag {tag}")
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
        if pos + length > len(data):
            raise IsoError(f"field 55: tag {tag} runs past the end")
        value = data[pos:pos + length]
        pos += length
        out[tag] = out.get(tag, b"") + (data[start:pos] if tag in ("71", "72") else value)
    return out


# -- loading --------------------------------------------------------------------------
def registered_dialects() -> dict[str, str]:
    """Dialect name → entry-point target, for every installed ``kiosk.acquirer_dialects``."""
    return {ep.name: ep.value for ep in entry_points(group=DIALECT_GROUP)}


def dialect_path(name_or_path: str | Path) -> Path:
    """The file of a dialect: a path as given (contains ``/`` or ends in ``.toml``), else
    the file a registered entry point of that name loads to; DialectError if none."""
    text = str(name_or_path)
    if "/" in text or text.endswith(".toml"):
        return Path(text)
    found = [ep for ep in entry_points(group=DIALECT_GROUP) if ep.name == text]
    if not found:
        names = ", ".join(sorted(registered_dialects())) or "none"
        raise DialectError(f"dialect {text!r}: no such dialect registered in {DIALECT_GROUP}"
                           f" (registered: {names}) and not a path to a .toml file")
    try:
        target = found[0].load()
        if callable(target):
            target = target()
    except Exception as exc:  # a broken plug-in: name it, never a traceback at start
        raise DialectError(f"dialect {text!r}: entry point {found[0].value} fails:"
                           f" {type(exc).__name__}: {exc}") from None
    if not isinstance(target, os.PathLike | str):
        raise DialectError(f"dialect {text!r}: entry point {found[0].value} gives"
                           f" {type(target).__name__}, not a path to the dialect file")
    return Path(target)


def load_dialect(name_or_path: str | Path) -> Dialect:
    """Load a dialect by registered name or by path; DialectError if bad."""
    path = dialect_path(name_or_path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise DialectError(f"dialect {path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DialectError(f"dialect {path}: {exc}") from None
    try:
        return _parse(path, raw)
    except (KeyError, TypeError, ValueError, LookupError) as exc:
        raise DialectError(f"dialect {path}: {exc}") from None


_SPEC_KEYS = {"data_enc", "len_enc", "len_type", "max_len", "len_count", "desc"}


def _parse(path: Path, raw: dict) -> Dialect:
    base_name = raw.get("base_spec", "default")
    if base_name not in ("default", "default_ascii"):
        raise ValueError(f"base_spec {base_name!r}: use 'default' or 'default_ascii'")
    spec = copy.deepcopy(getattr(iso8583.specs, base_name))
    spec["h"] = {"data_enc": "ascii", "len_enc": "ascii", "len_type": 0, "max_len": 0,
                 "desc": "Message Header"}
    for key, entry in raw.get("spec", {}).items():
        unknown = set(entry) - _SPEC_KEYS
        if unknown:
            raise ValueError(f"spec.{key}: unknown key(s) {sorted(unknown)}")
        merged = dict(spec.get(key, {}))
        merged.update(entry)
        for need in ("data_enc", "len_enc", "len_type", "max_len"):
            if need not in merged:
                raise ValueError(f"spec.{key}: {need} missing")
        if merged.get("len_count", "bytes") not in ("bytes", "nibbles"):
            raise ValueError(f"spec.{key}: len_count must be 'bytes' or 'nibbles'")
        if merged["data_enc"] != "b":
            "".encode(merged["data_enc"])  # LookupError → unknown codec, caught below
        spec[key] = merged
    fr = raw.get("framing", {})
    framing = Framing(
        header_bytes=int(fr.get("header_bytes", 2)),
        header_encoding=fr.get("header_encoding", "binary"),
        header_counts_itself=bool(fr.get("header_counts_itself", False)),
        max_message_bytes=int(fr.get("max_message_bytes", 8192)))
    if framing.header_bytes not in (2, 4):
        raise ValueError("framing.header_bytes must be 2 or 4")
    if framing.header_encoding not in ("binary", "ascii"):
        raise ValueError("framing.header_encoding must be 'binary' or 'ascii'")
    messages = {}
    for mti, m in raw.get("messages", {}).items():
        messages[mti] = MessageDef(mti, tuple(int(x) for x in m["fields"]),
                                   tuple(int(x) for x in m.get("optional", [])),
                                   str(m["response"]),
                                   tuple(int(x) for x in m.get("response_fields", [11, 41])))
        for n in messages[mti].fields + messages[mti].optional:
            if str(n) not in spec:
                raise ValueError(f"messages.{mti}: field {n} has no spec")
    dual = bool(raw.get("dual_message", False))
    reversal = raw.get("reversal_mti", "0400")
    if reversal not in ("0400", "0420"):
        raise ValueError("reversal_mti must be '0400' or '0420'")
    needed = ["0800", "0500", reversal, "0401" if reversal == "0400" else "0421"]
    needed += ["0100", "0220"] if dual else ["0200"]
    for mti in needed:
        if mti not in messages:
            raise ValueError(f"messages.{mti} missing (needed by this dialect)")
    codes_raw = dict(raw.get("response_codes", {}))
    default = codes_raw.pop("default", {"action": "decline", "message": "card_declined"})
    codes = {}
    for code, rule in codes_raw.items():
        if rule.get("action") not in ("approve", "decline", "reverse_decline"):
            raise ValueError(f"response_codes.{code}: action must be approve, decline or"
                             " reverse_decline")
        codes[code] = CodeRule(rule["action"], str(rule["message"]))
    if "00" not in codes:
        raise ValueError("response_codes must map '00'")
    fixed = {str(k): str(v) for k, v in raw.get("fixed", {}).items()}
    return Dialect(name=str(raw.get("name", path.stem)), path=path, spec=spec, framing=framing,
                   messages=messages, fixed=fixed, codes=codes,
                   default_code=CodeRule(default["action"], default["message"]),
                   dual_message=dual, reversal_mti=reversal,
                   reference_field=str(raw.get("reference_field", "")))
