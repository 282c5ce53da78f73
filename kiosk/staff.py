"""Staff credentials: salted scrypt hashes of PINs and badge codes, with lockout.

Config keeps only ``scrypt$N$r$p$salt$hash`` strings, never a PIN. A wrong PIN is
counted; after ``lockout_attempts`` failures the PIN pad refuses further tries for
``lockout_s`` seconds (badges still work: they need the physical badge).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from kiosk.config import StaffConfig, StaffMember

BADGE_PREFIX = "STAFF:"
_N, _R, _P = 2**14, 8, 1


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


def is_badge_code(code: str) -> bool:
    return code.startswith(BADGE_PREFIX)


@dataclass
class StaffAuthenticator:
    """Finds the staff member behind a PIN or badge; rate-limits wrong PINs."""

    config: StaffConfig
    failures: int = 0
    locked_until: float = 0.0

    def check_pin(self, pin: str, now: float) -> tuple[StaffMember | None, str]:
        """Return (member, "") or (None, reason)."""
        if now < self.locked_until:
            return None, "pin_locked"
        if not pin.isdigit() or not 4 <= len(pin) <= 12:
            return self._fail(now)
        for member in self.config.members:
            if member.pin_hash and verify_secret(pin, member.pin_hash):
                self.failures = 0
                return member, ""
        return self._fail(now)

    def check_badge(self, code: str) -> StaffMember | None:
        for member in self.config.members:
            if member.badge_hash and verify_secret(code, member.badge_hash):
                return member
        return None

    def _fail(self, now: float) -> tuple[None, str]:
        self.failures += 1
        if self.failures >= self.config.lockout_attempts:
            self.failures = 0
            self.locked_until = now + self.config.lockout_s
            return None, "pin_locked"
        return None, "pin_wrong"
