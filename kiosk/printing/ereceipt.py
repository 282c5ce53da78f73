"""E-receipt links: a signed, expiring link to a kept receipt (HMAC-SHA256, key file 0600).

The link is the store's ``store.e_receipt_url`` with ``{txn}`` replaced by a token
``TXN.LANG.EXPIRES.SIG``: the receipt id (the transaction), its language (a catalog name:
en, zh_Hans, ko), the expiry (Unix seconds) and the HMAC-SHA256 of the three under the
lane's e-receipt key (base64url, no padding). Nothing personal is in it: the receipt itself
stays on the lane (kept receipts, :mod:`kiosk.printing.store`) and only someone holding the
link opens it (``kiosk ereceipt serve``, :mod:`kiosk.services.ereceipt`), until it expires.

The key is 32 random bytes (hex) in a file of mode 0600 owned by the running user: kiosk-core
creates it at its first start (:func:`load_key` with ``create``); a looser file is refused,
never used. kiosk-ereceipt gets it from systemd as the credential ``ereceipt-key``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

KEY_BYTES = 32
#: the systemd credential kiosk-ereceipt reads the key from (LoadCredential=)
CREDENTIAL = "ereceipt-key"
_TXN = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(_[A-Za-z]{4})?$")
_SIG = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MAX_TOKEN = 200


class KeyFileError(RuntimeError):
    """The e-receipt key file is missing, unreadable, malformed or not private."""


class LinkError(ValueError):
    """A token that does not open a receipt: ``reason`` is malformed, tampered or expired;
    ``lang`` the language the token names when it could be read ("" otherwise)."""

    def __init__(self, reason: str, lang: str = "") -> None:
        super().__init__(reason)
        self.reason, self.lang = reason, lang


@dataclass(frozen=True)
class LinkClaim:
    txn: str
    lang: str
    expires: int


def load_key(path: Path, create: bool = False) -> bytes:
    """The key in ``path``; with ``create``, a new one is written first if there is none
    (mode 0600, exclusive create). Refused unless the file is the running user's and no
    one else may read or write it."""
    path = Path(path)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # created meanwhile by another process: read that one
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    try:
        st = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"e-receipt key {path}: cannot read it ({exc})") from None
    if st.st_mode & 0o077:
        raise KeyFileError(f"e-receipt key {path}: mode {st.st_mode & 0o777:04o} is looser"
                           " than 0600: refused")
    if st.st_uid != os.geteuid():
        raise KeyFileError(f"e-receipt key {path}: not owned by the running user: refused")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"e-receipt key {path}: not {KEY_BYTES} bytes in hex")
    return key


def _sig(key: bytes, txn: str, lang: str, expires: int) -> str:
    mac = hmac.new(key, f"{txn}.{lang}.{expires}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def make_token(key: bytes, txn: str, lang: str, expires: int) -> str:
    if not _TXN.match(txn) or ".." in txn or not _LANG.match(lang) or expires < 0:
        raise ValueError(f"cannot sign a link for {txn!r} {lang!r} {expires!r}")
    return f"{txn}.{lang}.{expires}.{_sig(key, txn, lang, expires)}"


def read_token(key: bytes, token: str, now: float | None = None) -> LinkClaim:
    """The claim a token carries once its signature checks and it has not expired, else
    :class:`LinkError` (the signature is checked first: an expired link is only called
    expired when it is genuine)."""
    parts = token.rsplit(".", 3) if len(token) <= _MAX_TOKEN else []
    if len(parts) != 4:
        raise LinkError("malformed")
    txn, lang, expires_text, sig = parts
    lang = lang if _LANG.match(lang) else ""
    if not (_TXN.match(txn) and ".." not in txn and lang and expires_text.isascii()
            and expires_text.isdigit() and len(expires_text) <= 12 and _SIG.match(sig)):
        raise LinkError("malformed", lang)
    expires = int(expires_text)
    if not hmac.compare_digest(sig, _sig(key, txn, lang, expires)):
        raise LinkError("tampered", lang)
    if (time.time() if now is None else now) >= expires:
        raise LinkError("expired", lang)
    return LinkClaim(txn, lang, expires)


class LinkSigner:
    """Makes the lane's e-receipt links: ``template`` is ``store.e_receipt_url``."""

    def __init__(self, key: bytes, template: str, valid_s: int) -> None:
        if "{txn}" not in template:
            raise ValueError("the e-receipt link template must hold {txn}")
        self.key, self.template, self.valid_s = key, template, valid_s

    def link(self, txn: str, lang: str, now: float | None = None) -> str:
        expires = int(time.time() if now is None else now) + self.valid_s
        return self.template.replace("{txn}", make_token(self.key, txn, lang, expires))


def open_signer(config: KioskConfig, create: bool = False) -> LinkSigner | None:
    """The lane's link signer, or None when the store has no e-receipt link. kiosk-core
    passes ``create`` (its first start makes the key); a bad key file raises
    :class:`KeyFileError`."""
    template = config.store.e_receipt_url
    if not template:
        return None
    return LinkSigner(load_key(config.ereceipt_key_file, create), template,
                      config.ereceipt.valid_days * 86400)
