"""Signed attendant commands: the attendant station's session signs, the lane checks.

The station holds a long-term Ed25519 key (:func:`station_key`, a 0600 file); every lane holds
only its public half (``attendant.station_key``, :func:`load_public_key`). When an attendant
signs in at the station, the station makes a *session*: a fresh Ed25519 key and a certificate
(the attendant's id and name, the session key, an expiry) signed with the station key. Every
remote command carries that certificate and is signed with the session key, over the whole
command: the target lane, the action, its line, a unique id and the time it was made.

kiosk-core (:class:`RemoteVerifier`) accepts a command only if the certificate is the
station's and not expired, the command's signature is the session's, it names this lane, it
is fresh (``max_age_s``) and its id has not been seen: a forged, tampered, expired, stale,
replayed or other lane's command is refused with a stable reason (:class:`RemoteRefused`),
which kiosk-core journals with the attendant the certificate names.

A lane's bus credential on the store broker cannot publish commands at all (the store
broker's ACL, kiosk/bus/acl.py); the signature is what makes a command an attendant's.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from kiosk.bus.messages import command

#: a session lasts this long (the attendant signs in again after a shift's part)
SESSION_S = 8 * 3600
#: a command older (or further in the future) than this is refused as stale
MAX_AGE_S = 30.0
#: why a remote command is refused (journaled as the ``remote_command`` event's reason)
REFUSALS = ("remote_off", "bad_certificate", "session_expired", "bad_signature",
            "wrong_lane", "stale", "replayed")


class RemoteRefused(Exception):
    """A remote command that is not the station's, or not for now or here; ``reason`` is one
    of :data:`REFUSALS`, ``staff_id`` the attendant its certificate names ("" if none)."""

    def __init__(self, reason: str, staff_id: str = "", session: str = "") -> None:
        super().__init__(reason)
        self.reason, self.staff_id, self.session = reason, staff_id, session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(data: dict) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def station_key(path: Path, create: bool = False) -> Ed25519PrivateKey:
    """The station's signing key in ``path`` (PEM, mode 0600; with ``create`` made first when
    missing). A key file others may read is refused."""
    path = Path(path)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                         NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ValueError(f"station key {path}: mode {mode:04o} is looser than 0600: refused")
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"station key {path}: not an Ed25519 key")
    return key


def public_text(key: Ed25519PrivateKey) -> str:
    """The station key's public half as the one line lanes are given."""
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The station's public key from the one-line file :func:`public_text` wrote."""
    raw = _unb64(Path(path).read_text().strip())
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass
class Session:
    """An attendant's signing session at the station (the session key never leaves it)."""

    staff_id: str
    staff_name: str
    sid: str
    expires: float
    cert: str
    _key: Ed25519PrivateKey

    def sign(self, lane: str, action: str, line_id: int | None = None,
             now: float | None = None) -> dict:
        """A ``remote`` bus command for ``lane``, signed by this session."""
        msg = command("remote", source="staff", lane=lane, action=action, line_id=line_id,
                      ts=round(time.time() if now is None else now, 3), cert=self.cert,
                      sig="0" * 86)
        msg.pop("sig")
        msg["sig"] = _b64(self._key.sign(canonical(msg)))
        return msg


def open_session(station: Ed25519PrivateKey, staff_id: str, staff_name: str,
                 valid_s: float = SESSION_S, now: float | None = None) -> Session:
    """A new session for a signed-in attendant: a fresh key, certified by the station."""
    key = Ed25519PrivateKey.generate()
    body = {"sid": secrets.token_hex(8), "staff_id": staff_id, "staff_name": staff_name,
            "exp": round((time.time() if now is None else now) + valid_s),
            "pub": _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))}
    raw = canonical(body)
    cert = f"{_b64(raw)}.{_b64(station.sign(raw))}"
    return Session(staff_id, staff_name, body["sid"], body["exp"], cert, key)


@dataclass(frozen=True)
class Verified:
    staff_id: str
    staff_name: str
    session: str
    action: str
    line_id: int | None


class RemoteVerifier:
    """The lane's check of remote commands (kiosk-core's main loop only)."""

    def __init__(self, station_public: Ed25519PublicKey | None, lane: str,
                 max_age_s: float = MAX_AGE_S) -> None:
        self.station_public, self.lane, self.max_age_s = station_public, lane, max_age_s
        self._seen: OrderedDict[str, float] = OrderedDict()  # command id → its time

    def certificate(self, cert: str) -> dict:
        """The certificate's body if the station signed it, else RemoteRefused."""
        if self.station_public is None:
            raise RemoteRefused("remote_off")
        try:
            raw_b64, sig_b64 = cert.split(".")
            raw = _unb64(raw_b64)
            self.station_public.verify(_unb64(sig_b64), raw)
            body = json.loads(raw)
            if not (isinstance(body, dict) and isinstance(body.get("staff_id"), str)
                    and isinstance(body.get("exp"), int) and isinstance(body.get("pub"), str)):
                raise ValueError("certificate fields")
        except (ValueError, InvalidSignature):
            raise RemoteRefused("bad_certificate") from None
        return body

    def verify(self, cmd: dict, now: float, seen_before: bool = False) -> Verified:
        """The attendant and action of a parsed ``remote`` command, or RemoteRefused.
        ``seen_before``: the journal already answered this command id (after a restart)."""
        body = self.certificate(cmd["cert"])
        staff, sid = body["staff_id"], str(body.get("sid", ""))
        try:
            session_key = Ed25519PublicKey.from_public_bytes(_unb64(body["pub"]))
            signed = {k: v for k, v in cmd.items() if k != "sig"}
            session_key.verify(_unb64(cmd["sig"]), canonical(signed))
        except (ValueError, InvalidSignature):
            raise RemoteRefused("bad_signature", staff, sid) from None
        if now > body["exp"]:
            raise RemoteRefused("session_expired", staff, sid)
        if cmd["lane"] != self.lane:
            raise RemoteRefused("wrong_lane", staff, sid)
        if abs(now - cmd["ts"]) > self.max_age_s:
            raise RemoteRefused("stale", staff, sid)
        while self._seen and next(iter(self._seen.values())) < now - 2 * self.max_age_s:
            self._seen.popitem(last=False)  # older ones are refused as stale anyway
        if seen_before or cmd["id"] in self._seen:
            raise RemoteRefused("replayed", staff, sid)
        self._seen[cmd["id"]] = now
        return Verified(staff, str(body.get("staff_name", "")), sid, cmd["action"],
                        cmd.get("line_id"))
