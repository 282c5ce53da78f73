"""Password hashes for the dashboard's accounts: scrypt from the standard library
(``hashlib.scrypt``), a fresh 16-byte salt each, stored as ``scrypt$N$r$p$salt$hash``
(base64) so the cost can be raised later and old hashes still verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: scrypt cost: 2^15 x 8 x 1 (32 MiB, some 0.1 s a check on a small server core)
N, R, P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024
#: shortest password accepted when an account is made
MIN_LENGTH = 12


class WeakPassword(ValueError):
    """A password refused when an account is made."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """The stored form of ``password`` (refused below MIN_LENGTH characters)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=_MAXMEM)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare; a malformed stored
    value matches nothing)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=_MAXMEM, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


#: a hash to check when the user does not exist, so an unknown name costs the same time
DUMMY = "scrypt$32768$8$1$" + _b64(b"\0" * 16) + "$" + _b64(b"\0" * 64)
