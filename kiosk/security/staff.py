"""Staff credentials: salted scrypt hashes of PINs and badge codes, with a lasting lockout.

Config keeps only ``scrypt$N$r$p$salt$hash`` strings, never a PIN. Wrong PINs and
unknown staff badges are counted, each kind on its own (a shopper pressing the PIN pad
cannot lock staff badges out). From the ``lockout_attempts``-th failure in a row on,
every further failure locks that kind for ``lockout_s``, doubled each time, at most
``lockout_max_s``; a success clears it. The counts live in the state dir
(``staff-lockout.json``, written atomically), so a restart does not clear a lockout.

The slow part (:meth:`StaffAuthenticator.match`) touches no state, so kiosk-core runs it
in a worker thread and records the outcome on its main loop (:meth:`record`).

On a device (``security.production``) :func:`demo_credentials` names any staff member
still signing in with the demo PIN or badge that ``config/defaults.toml`` ships.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kiosk.config import ConfigError, KioskConfig, StaffConfig
from kiosk.domain.rules import StaffMember

log = logging.getLogger(__name__)
#: the demo credentials config/defaults.toml ships (public: the README names them)
DEMO_PIN, DEMO_BADGE = "2468", "STAFF:S100-7731"
LOCKOUT_FILE = "staff-lockout.json"
_N, _R, _P = 2**14, 8, 1
Kind = Literal["pin", "badge"]
#: reason codes per kind: (wrong, locked)
REASONS: dict[str, tuple[str, str]] = {"pin": ("pin_wrong", "pin_locked"),
                                       "badge": ("badge_unknown", "badge_locked")}


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """Return a salted slow hash of a PIN or badge code for the config file."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of a secret against a stored ``scrypt$...`` hash."""
    try:
        _, n, r, p, salt_b64, digest_b64 = stored.split("$")
        salt, want = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        got = hashlib.scrypt(
            secret.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(want)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 12


def demo_credentials(config: StaffConfig) -> list[str]:
    """``"S100 PIN"``, ``"S100 badge"``: members whose hash matches the shipped demo PIN
    or badge (checked by the secret, so a fresh hash of 2468 is caught too)."""
    found = []
    for member in config.members:
        if member.pin_hash and verify_secret(DEMO_PIN, member.pin_hash):
            found.append(f"{member.id} PIN")
        if member.badge_hash and verify_secret(DEMO_BADGE, member.badge_hash):
            found.append(f"{member.id} badge")
    return found


def check_production_staff(config: KioskConfig) -> None:
    """On a device, ConfigError (one line) while any demo credential is configured."""
    if not config.security.production:
        return
    found = demo_credentials(config.staff)
    if found:
        raise ConfigError(
            "config error: security.production: staff members still use the demo"
            f" credentials from config/defaults.toml ({', '.join(found)}): provision the"
            " lane's staff ([[staff]] with hashes from `kiosk staff hash-pin`,"
            " docs/technician.md)")


@dataclass
class Lockout:
    failures: int = 0           # failures in a row since the last success
    locked_until: float = 0.0   # wall clock


@dataclass
class StaffAuthenticator:
    """Finds the staff member behind a PIN or badge; locks each kind out after failures.

    ``state_path``: where the lockout is kept (None: in memory only, for unit tests).
    """

    config: StaffConfig
    state_path: Path | None = None
    lockouts: dict[str, Lockout] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lockouts = {"pin": Lockout(), "badge": Lockout()}
        if self.state_path is not None:
            self._load()

    # -- the slow part: no state, safe on any thread ---------------------------------------

    def match(self, kind: Kind, secret: str) -> StaffMember | None:
        """The member whose PIN (or badge code) this is (scrypt: run off the main loop)."""
        if kind == "pin" and not valid_pin(secret):
            return None
        for member in self.config.members:
            stored = member.pin_hash if kind == "pin" else member.badge_hash
            if stored and verify_secret(secret, stored):
                return member
        return None

    # -- the lockout: main loop only ----------------------------------------------------------

    def locked(self, kind: Kind, now: float) -> bool:
        return now < self.lockouts[kind].locked_until

    def record(self, kind: Kind, member: StaffMember | None, now: float
               ) -> tuple[StaffMember | None, str]:
        """Count an outcome of :meth:`match`; returns (member, "") or (None, reason)."""
        lock = self.lockouts[kind]
        wrong, locked = REASONS[kind]
        if member is not None:
            if lock.failures:
                self.lockouts[kind] = Lockout()
                self._save()
            return member, ""
        lock.failures += 1
        reason = wrong
        over = lock.failures - self.config.lockout_attempts
        if over >= 0:
            delay = min(self.config.lockout_s * 2 ** min(over, 32), self.config.lockout_max_s)
            lock.locked_until = now + delay
            reason = locked
            log.warning("staff %s sign-in locked for %.0f s after %d failures in a row",
                        kind, delay, lock.failures)
        self._save()
        return None, reason

    def check(self, kind: Kind, secret: str, now: float) -> tuple[StaffMember | None, str]:
        """Lockout, match and record in one call (on the caller's thread)."""
        if self.locked(kind, now):
            return None, REASONS[kind][1]
        return self.record(kind, self.match(kind, secret), now)

    def check_pin(self, pin: str, now: float) -> tuple[StaffMember | None, str]:
        return self.check("pin", pin, now)

    def check_badge(self, code: str, now: float) -> tuple[StaffMember | None, str]:
        return self.check("badge", code, now)

    # -- persistence ------------------------------------------------------------------------------

    def _load(self) -> None:
        assert self.state_path is not None
        try:
            data = json.loads(self.state_path.read_text())
            for kind in self.lockouts:
                entry = data.get(kind) or {}
                self.lockouts[kind] = Lockout(int(entry.get("failures", 0)),
                                              float(entry.get("locked_until", 0.0)))
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            # unreadable: fail closed, as if the last failure had just locked both kinds
            log.error("%s unreadable (%s): staff sign-in locked", self.state_path, exc)
            self.lockouts = {kind: Lockout(self.config.lockout_attempts,
                                           time.time() + self.config.lockout_s)
                             for kind in self.lockouts}
            return
        ceiling = time.time() + self.config.lockout_max_s  # a clock set back: no endless lock
        for lock in self.lockouts.values():
            lock.locked_until = min(lock.locked_until, ceiling)

    def _save(self) -> None:
        if self.state_path is None:
            return
        data = {kind: {"failures": lock.failures, "locked_until": lock.locked_until}
                for kind, lock in self.lockouts.items()}
        tmp = self.state_path.with_name(f".{self.state_path.name}.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(data) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)
