"""Sealing the staff PIN to kiosk-core: no PIN, and no replayable sign-in, on the bus.

Design (the one way a PIN travels): kiosk-core keeps an X25519 key pair in its state
dir (``staff-pin.key``, mode 0600, made at first start) and publishes the public key
with a fresh single-use challenge in its retained state (``staff_seal``; only kiosk-core
may publish state once the bus ACLs are in place). The PIN pad seals the PIN to that key:
an ephemeral X25519 key, HKDF-SHA256 over the shared secret and both public keys, and
ChaCha20-Poly1305 over the PIN padded to a fixed length (the length of the PIN does not
show), with the command id and the challenge as associated data. The ``staff_pin``
command carries only the ephemeral public key, the challenge and the ciphertext.

What a process that reads every bus message gets: no PIN (it would need the core's
private key), and no sign-in to replay: the ciphertext is bound to its command id (a
copy under another id fails to open) and to a challenge that kiosk-core retires at its
first use (a copy under the same id, or after a restart, is refused as stale). A salted
challenge-response proof was not chosen: a 4-12 digit PIN behind a proof seen on the bus
falls to an offline search in seconds, whatever the hash.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from pathlib import Path

from kiosk.bus.messages import command

KEY_FILE = "staff-pin.key"
_INFO = b"kiosk staff pin v1"
_PAD = 16  # a PIN has 4-12 digits: one length byte, the digits, zeros


class SealError(ValueError):
    """A sealed PIN that cannot be opened; ``str()`` is the (PIN-free) reason."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, size: int | None = None) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise SealError("not base64") from None
    if size is not None and len(data) != size:
        raise SealError("wrong length")
    return data


def _key(shared: bytes, epk: bytes, core_pk: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(hashes.SHA256(), 32, salt=None, info=_INFO + epk + core_pk).derive(shared)


def _aad(cmd_id: str, challenge: str) -> bytes:
    return f"staff_pin|{cmd_id}|{challenge}".encode()


def seal_pin(pin: str, seal: dict, cmd_id: str) -> dict[str, str]:
    """The ``staff_pin`` fields for ``pin`` under the core's published ``seal``
    (``{"key", "challenge"}`` from its state) and this command's id."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a PIN has 4 to 12 digits")
    core_pk = _unb64(seal["key"], 32)
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = _key(eph.exchange(X25519PublicKey.from_public_bytes(core_pk)), epk, core_pk)
    plain = bytes([len(pin)]) + pin.encode().ljust(_PAD - 1, b"\0")
    sealed = ChaCha20Poly1305(key).encrypt(b"\0" * 12, plain, _aad(cmd_id, seal["challenge"]))
    return {"epk": _b64(epk), "challenge": seal["challenge"], "sealed": _b64(sealed)}


def staff_pin_command(pin: str, seal: dict, source: str = "ui",
                      cmd_id: str | None = None) -> dict:
    """A complete ``staff_pin`` command (UI, demo, tests): a fresh id, the PIN sealed."""


    cmd_id = cmd_id or uuid.uuid4().hex
    return command("staff_pin", source=source, cmd_id=cmd_id, **seal_pin(pin, seal, cmd_id))


class PinOpener:
    """kiosk-core's side: the key pair, the current challenge, opening sealed PINs.

    The key is only a transport key: losing it (a new state dir) just makes a new one.
    The challenge lives in memory, so a restart retires every sealed PIN sent before.
    """

    def __init__(self, state_dir: Path) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._private = _load_or_create(state_dir / KEY_FILE)
        self._public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.challenge = ""
        self.rotate()

    def rotate(self) -> None:
        self.challenge = secrets.token_hex(16)

    def offer(self) -> dict[str, str]:
        """What kiosk-core publishes in its state for the PIN pad."""
        return {"key": _b64(self._public), "challenge": self.challenge}

    def open(self, cmd: dict) -> str:
        """The PIN in a ``staff_pin`` command. A command naming the current challenge
        retires it, opened or not; any other challenge is refused as stale."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

        if not secrets.compare_digest(str(cmd.get("challenge", "")), self.challenge):
            raise SealError("stale")
        self.rotate()
        epk = _unb64(str(cmd.get("epk", "")), 32)
        sealed = _unb64(str(cmd.get("sealed", "")))
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(epk))
            plain = ChaCha20Poly1305(_key(shared, epk, self._public)).decrypt(
                b"\0" * 12, sealed, _aad(str(cmd["id"]), str(cmd["challenge"])))
        except (InvalidTag, ValueError):
            raise SealError("does not open") from None
        size = plain[0] if plain else 0
        pin = plain[1:1 + size].decode("ascii", "replace")
        if len(plain) != _PAD or not pin.isdigit() or not 4 <= size <= 12:
            raise SealError("not a PIN")
        return pin


def _load_or_create(path: Path):  # -> X25519PrivateKey
    """Read the private key, or make one: written to a 0600 temporary file and linked
    into place, so a crash never leaves a short key and two starts agree on one."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = b""
    if len(raw) == 32:
        return X25519PrivateKey.from_private_bytes(raw)
    if raw:
        raise OSError(f"{path}: not an X25519 key (remove it to make a new one)")
    key = X25519PrivateKey.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:  # another start won the race: use its key
        return _load_or_create(path)
    finally:
        tmp.unlink()
    return key
