"""Bus credentials: provisioning every user's password and reading one's own.

:func:`provision` writes one password file per bus user (mode 0600), the broker's password
file (mosquitto's PBKDF2-SHA512 ``$7$`` format, as ``mosquitto_passwd`` writes it) and its ACL
(:func:`kiosk.bus.acl.acl_text`). It is idempotent: existing passwords are kept. ``kiosk bus
provision`` runs it on a device (from kiosk-firstboot); ``kiosk run`` and the tests run it for
their private broker, with ``demo-`` passwords that a production device refuses.

A process finds its password in ``$CREDENTIALS_DIRECTORY/bus-password`` when systemd passed
it one (``LoadCredential=bus-password:...``), else in ``<bus.credentials_dir>/<user>.password``.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.bus.acl import STATION_USER, USERNAMES, acl_text, lane_user, store_acl_text

if TYPE_CHECKING:
    from kiosk.config import BusConfig

DEMO_PREFIX = "demo-"
MIN_PASSWORD_CHARS = 32
PBKDF2_ITERATIONS = 101   # mosquitto_passwd's own default; passwords are 256 random bits
BROKER_GROUP = "mosquitto"


class CredentialError(RuntimeError):
    """A bus credential is missing, unsafe or unfit for this device; ``str()`` says which."""


@dataclass(frozen=True)
class BusLogin:
    """Where the bus is and who connects to it."""

    host: str
    port: int
    username: str
    password: str = ""
    cafile: str = ""    # TLS to a broker whose certificate this CA signed (the store broker)

    def __repr__(self) -> str:  # never print the password
        return f"BusLogin({self.host}:{self.port} as {self.username})"


def login_for(bus: BusConfig, username: str, production: bool = False) -> BusLogin:
    """The login of ``username`` on the configured bus."""
    return BusLogin(bus.host, bus.port, username,
                    read_password(username, Path(bus.credentials_dir), production))


def password_path(username: str, credentials_dir: Path) -> Path:
    systemd = os.environ.get("CREDENTIALS_DIRECTORY")
    if systemd:
        return Path(systemd) / "bus-password"
    return credentials_dir / f"{username}.password"


def read_password(username: str, credentials_dir: Path, production: bool = False) -> str:
    """``username``'s bus password; refuses a missing, group/world-readable or empty file, and in
    production a demo or short one."""
    return _read_secret(password_path(username, credentials_dir), username, production)


def _read_secret(path: Path, username: str, production: bool) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise CredentialError(f"bus password for {username} missing: {path}"
                              " (run `kiosk bus provision`)") from None
    except PermissionError:
        raise CredentialError(f"bus password for {username}: cannot read {path}"
                              " (permission denied)") from None
    with os.fdopen(fd) as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        if mode & 0o077:
            raise CredentialError(f"bus password file {path} is readable by others"
                                  f" (mode {mode:04o}): chmod 600 {path}")
        password = fh.read().strip()
    if not password:
        raise CredentialError(f"bus password file {path} is empty")
    if production and demo_or_short(password):
        raise CredentialError(f"security.production: {path} holds a demo or short bus password"
                              " (run `kiosk bus provision` on the device)")
    return password


def demo_or_short(password: str) -> bool:
    """A password a production device refuses: a demo one, or too short."""
    return password.startswith(DEMO_PREFIX) or len(password) < MIN_PASSWORD_CHARS


def new_password(demo: bool = False) -> str:
    return (DEMO_PREFIX if demo else "") + secrets.token_urlsafe(32)


def hash_password(password: str, salt: bytes | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """mosquitto's ``$7$<iterations>$<salt>$<hash>`` (PBKDF2-HMAC-SHA512, 12-byte salt)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(digest).decode()}")


def hash_matches(password: str, hashed: str) -> bool:
    try:
        _, seven, iterations, salt, _digest = hashed.split("$")
        if seven != "7":
            return False
        again = hash_password(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(again, hashed)


def _write_private(path: Path, text: str, mode: int = 0o600, group: int | None = None) -> None:
    """Write via a temporary file created with ``mode`` (never briefly readable), then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    if group is not None:
        os.chown(tmp, -1, group)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _broker_group() -> int | None:
    """The mosquitto group when we are root: Debian's broker reads its files after dropping
    to that user."""
    if os.geteuid() != 0:
        return None
    try:
        return grp.getgrnam(BROKER_GROUP).gr_gid
    except KeyError:
        return None


def provision(credentials_dir: Path, passwd_file: Path, acl_file: Path,
              demo: bool = False) -> list[str]:
    """Make sure every bus user has a password; write the broker's passwd and ACL (readable
    by the mosquitto group on a device, else by us only). ``demo``: a private broker's (run
    as our own user); new passwords are ``demo-`` ones. Returns the users given a new one."""
    return _provision(credentials_dir, passwd_file, acl_file, USERNAMES, acl_text(), demo)


def provision_store(credentials_dir: Path, lanes: list[str] | tuple[str, ...],
                    passwd_file: Path, acl_file: Path, demo: bool = False) -> list[str]:
    """The store broker's users (the attendant station's transport): one per lane
    (``lane-<id>``: that lane's bridge password, given to the lane) and the station, with
    the store ACL (:func:`kiosk.bus.acl.store_acl_text`); like :func:`provision`."""
    users = (*(lane_user(lane) for lane in lanes), STATION_USER)
    return _provision(credentials_dir, passwd_file, acl_file, users, store_acl_text(lanes),
                      demo)


def _provision(credentials_dir: Path, passwd_file: Path, acl_file: Path,
               usernames: tuple[str, ...], acl: str, demo: bool) -> list[str]:
    credentials_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    created: list[str] = []
    lines: list[str] = []
    old_hashes = _read_passwd(passwd_file)
    for username in usernames:
        path = credentials_dir / f"{username}.password"
        if path.exists():
            password = _read_secret(path, username, production=False)
        else:
            password = new_password(demo)
            _write_private(path, password + "\n")
            created.append(username)
        old = old_hashes.get(username)
        keep = old is not None and hash_matches(password, old)
        lines.append(f"{username}:{old if keep else hash_password(password)}")
    group = None if demo else _broker_group()
    mode = 0o640 if group is not None else 0o600
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    _write_private(passwd_file, "\n".join(lines) + "\n", mode, group)
    _write_private(acl_file, acl, mode, group)
    return created


def _read_passwd(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
