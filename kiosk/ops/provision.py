"""First-boot provisioning: ``kiosk-provision.toml`` on the boot partition → this lane.

The technician's file (see docs/technician.md) names the store and lane, time zone, NTP
servers, Wi-Fi, key/CA files, the lane's staff (scrypt hashes from ``kiosk staff
hash-pin``, never a PIN; written to ``/etc/kiosk/private/staff.toml``, 0600, which only
kiosk-core reads) and any site configuration. On a device (``security.production``) a
file that leaves the demo staff of config/defaults.toml in place is rejected.

The file is validated completely, the site config layer included (against the real
schema, merged with what /etc/kiosk already has), before anything is written; a bad file
is moved aside as ``.rejected``, a marker in the state dir keeps the lane out of service,
and nothing is applied. A good file is applied with every output staged first and renamed
into place, then overwritten and removed from the boot partition. Everything works under
a ``--root`` prefix so tests run on a tree.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kiosk.config import PRIVATE_DIR, ConfigError, load_config
from kiosk.ops.flash_image import ImageError, boot_partition
from kiosk.security.staff import check_production_staff

PROVISION_NAME = "kiosk-provision.toml"
SITE_FILE = "10-site.toml"
STAFF_FILE = "staff.toml"  # in /etc/kiosk/private (kiosk.config.PRIVATE_DIR)
WIFI_FILE = "kiosk-wifi.nmconnection"
REJECTED_MARKER = "provision-rejected"
PROVISIONED_RECORD = "provisioned.json"
KEPT_FILE = "applied.toml"  # the accepted file, kept on the data partition for a new root
MAX_FILE_BYTES = 1 << 20
SECRET_KEYS = ("wifi.psk", "keys.", "staff", "config.staff")
_HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


class ProvisionError(Exception):
    """A provisioning file that cannot be applied; str() is one line naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSection(_Strict):
    store_id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    lane_id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str | None = Field(default=None, min_length=1)
    locales: list[str] | None = None
    default_locale: str | None = None


class SystemSection(_Strict):
    time_zone: str
    ntp: list[str] = Field(min_length=1, max_length=8)
    hostname: str | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", value):
            raise ValueError(f"not a time zone name: {value!r}")
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Seoul, Europe/Berlin)"
                             ) from None
        return value

    @field_validator("ntp")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        for server in value:
            try:
                ipaddress.ip_address(server)
                continue
            except ValueError:
                pass
            if not _HOST_RE.match(server):
                raise ValueError(f"not a host name or IP address: {server!r}")
        return value


class WifiSection(_Strict):
    ssid: str = Field(min_length=1)
    psk: str
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    hidden: bool = False

    @field_validator("ssid")
    @classmethod
    def _ssid_len(cls, value: str) -> str:
        if len(value.encode()) > 32:
            raise ValueError("an SSID has at most 32 bytes")
        return value

    @field_validator("psk")
    @classmethod
    def _psk(cls, value: str) -> str:
        if re.fullmatch(r"[0-9a-fA-F]{64}", value):
            return value
        if not 8 <= len(value) <= 63 or not all(" " <= c <= "~" for c in value):
            raise ValueError("a WPA passphrase has 8 to 63 printable ASCII characters"
                             " (or is 64 hex digits)")
        return value


class StaffSection(_Strict):
    """One staff member: hashes only (``kiosk staff hash-pin``), a PIN or a badge or both."""

    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=64)
    pin_hash: str | None = None
    badge_hash: str | None = None

    @field_validator("pin_hash", "badge_hash")
    @classmethod
    def _hash(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+"
                                                  r"\$[A-Za-z0-9+/=]+", value):
            raise ValueError("must be a hash from `kiosk staff hash-pin` (scrypt$...),"
                             " never the PIN or badge code itself")
        return value

    @model_validator(mode="after")
    def _credential(self) -> StaffSection:
        if not (self.pin_hash or self.badge_hash):
            raise ValueError("needs pin_hash or badge_hash")
        return self


class Provisioning(_Strict):
    version: Literal[1] = 1
    store: StoreSection
    system: SystemSection
    wifi: WifiSection | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    staff: list[StaffSection] = Field(default_factory=list, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_staff_list(self) -> Provisioning:
        ids = [m.id for m in self.staff]
        if len(ids) != len(set(ids)):
            raise ValueError("staff: ids must be unique")
        if self.staff and "members" in (self.config.get("staff") or {}):
            raise ValueError("staff: set the members in [[staff]] only, not in"
                             " [config.staff] too")
        return self

    @field_validator("keys")
    @classmethod
    def _pem(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
                raise ValueError(f"key name {name!r}: use a-z, 0-9, _ and - (it names"
                                 " the file)")
            if "-----BEGIN " not in text or "-----END " not in text or len(text) > 65536:
                raise ValueError(f"key {name!r} is not a PEM block (-----BEGIN ...)")
        return value

    @property
    def hostname(self) -> str:
        if self.system.hostname:
            return self.system.hostname
        raw = f"kiosk-{self.store.store_id}-{self.store.lane_id}".lower().replace("_", "-")
        return re.sub(r"-+", "-", raw)[:63].strip("-")

    def site_layer(self) -> dict[str, Any]:
        """The /etc/kiosk/10-site.toml content: [config] with the store keys laid over."""
        layer = json.loads(json.dumps(self.config))  # deep copy
        store = layer.setdefault("store", {})
        if not isinstance(store, dict):
            raise ProvisionError("config.store: must be a table")
        for key, value in self.store.model_dump(exclude_none=True).items():
            store[key] = value
        return layer

    def staff_layer(self) -> str | None:
        """The /etc/kiosk/private/staff.toml content (None: the file has no [[staff]])."""
        if not self.staff:
            return None
        members = [m.model_dump(exclude_none=True) for m in self.staff]
        return toml_dumps({"staff": {"members": members}})

    def summary(self) -> str:
        wifi = f"Wi-Fi {self.wifi.ssid!r}" if self.wifi else "no Wi-Fi (wired)"
        return (f"store {self.store.store_id} lane {self.store.lane_id}, host {self.hostname},"
                f" {self.system.time_zone}, NTP {' '.join(self.system.ntp)}, {wifi},"
                f" {len(self.keys)} key file(s), {len(self.staff)} staff")


# --- validation ------------------------------------------------------------------------

def validate_file(path: Path, etc_dir: Path | None = None) -> Provisioning:
    """Parse and validate a provisioning file, including the site config layer it makes
    (merged with ``etc_dir``/kiosk/*.toml when given). ProvisionError names the key."""
    try:
        raw = path.read_bytes()[:MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise ProvisionError(f"{path}: cannot read: {exc.strerror}") from None
    return validate_bytes(raw, path, etc_dir)


def validate_bytes(raw: bytes, path: Path, etc_dir: Path | None = None) -> Provisioning:
    """:func:`validate_file` for content already read (``path`` names it in errors)."""
    if len(raw) > MAX_FILE_BYTES:
        raise ProvisionError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # Notepad's BOM
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ProvisionError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProvisionError(f"{path}: not valid TOML: {exc}") from None
    try:
        prov = Provisioning.model_validate(data)
    except ValidationError as exc:
        raise ProvisionError(f"{path}: {_describe(exc)}") from None
    _check_site_layer(path, prov, etc_dir)
    return prov


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key (misspelt?)"
    secret = any(key == s or key.startswith(s) for s in SECRET_KEYS)
    got = ""
    if err["type"] != "missing" and not secret and "input" in err and not isinstance(
            err["input"], dict | list) and repr(err["input"]) not in msg:
        got = f" (got {err['input']!r})"
    more = f" [+{exc.error_count() - 1} more]" if exc.error_count() > 1 else ""
    return f"{key}: {msg}{got}{more}"


def _check_site_layer(path: Path, prov: Provisioning, etc_dir: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="kiosk-provision-") as tmp:
        site = Path(tmp)
        if etc_dir is not None and (etc_dir / "kiosk").is_dir():
            for other in sorted((etc_dir / "kiosk").glob("*.toml")):
                if other.name != SITE_FILE:
                    (site / other.name).write_bytes(other.read_bytes())
        new = site / SITE_FILE
        new.write_text(toml_dumps(prov.site_layer()))
        staff = prov.staff_layer()
        if staff is not None:  # it replaces the lane's staff file: older ones are not read
            (site / PRIVATE_DIR).mkdir(mode=0o700)
            (site / PRIVATE_DIR / STAFF_FILE).write_text(staff)
        try:
            check_production_staff(load_config(site_dir=site, environ={}))
        except ConfigError as exc:
            msg = str(exc).removeprefix("config error: ")
            msg = msg.replace(f"{new}: ", "as site config (/etc/kiosk/10-site.toml): ", 1
                              ).replace(str(site) + "/", "/etc/kiosk/")
            raise ProvisionError(f"{path}: {msg}") from None


# --- applying --------------------------------------------------------------------------

@dataclass
class Layout:
    """Where things go, all under one root (``/`` on the device, a tree in tests)."""

    root: Path = Path("/")
    etc: str = "/etc"
    state: str = "/var/lib/kiosk"
    kept: str = "/var/lib/kiosk-provision"

    def at(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    @property
    def etc_dir(self) -> Path:
        return self.at(self.etc)

    @property
    def state_dir(self) -> Path:
        return self.at(self.state)

    @property
    def kept_file(self) -> Path:
        """Root-only copy of the applied file on the data partition: an update that
        replaces the root (and its /etc) re-applies it on the new root's first boot."""
        return self.at(self.kept) / KEPT_FILE


@dataclass
class _Staged:
    moves: list[tuple[Path, Path]] = field(default_factory=list)
    removals: list[Path] = field(default_factory=list)

    def file(self, dest: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None
             ) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.kiosk-new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(fd, mode)  # the umask does not get a say
            if owner:
                os.fchown(fd, *owner)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.moves.append((tmp, dest))

    def symlink(self, dest: Path, target: str) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.kiosk-new")
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        self.moves.append((tmp, dest))

    def commit(self) -> None:
        for tmp, dest in self.moves:
            os.replace(tmp, dest)
        for path in self.removals:
            path.unlink(missing_ok=True)

    def abandon(self) -> None:
        for tmp, _ in self.moves:
            tmp.unlink(missing_ok=True)


def kiosk_owner(layout: Layout, user: str = "kiosk-core") -> tuple[int, int] | None:
    """uid/gid of kiosk-core's user (the one service that reads the keys) in the target's
    /etc/passwd (None when absent)."""
    try:
        lines = (layout.etc_dir / "passwd").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 4 and parts[0] == user:
            return int(parts[2]), int(parts[3])
    return None


def apply(prov: Provisioning, layout: Layout, raw: bytes = b"") -> list[Path]:
    """Write everything the file describes; all-or-nothing up to the final renames."""
    etc = layout.etc_dir
    owner = kiosk_owner(layout) if os.geteuid() == 0 else None
    staged = _Staged()
    try:
        staged.file(etc / "kiosk" / SITE_FILE, toml_dumps(prov.site_layer()).encode(), 0o644)
        staged.file(etc / "hostname", f"{prov.hostname}\n".encode(), 0o644)
        staged.file(etc / "hosts", _hosts(etc / "hosts", prov.hostname).encode(), 0o644)
        staged.symlink(etc / "localtime", f"/usr/share/zoneinfo/{prov.system.time_zone}")
        staged.file(etc / "timezone", f"{prov.system.time_zone}\n".encode(), 0o644)
        staged.file(etc / "systemd" / "timesyncd.conf.d" / "kiosk.conf",
                    ("# written by kiosk provision\n[Time]\n"
                     f"NTP={' '.join(prov.system.ntp)}\n").encode(), 0o644)
        wifi_path = etc / "NetworkManager" / "system-connections" / WIFI_FILE
        regdom = etc / "modprobe.d" / "kiosk-wifi-country.conf"
        if prov.wifi:
            staged.file(wifi_path, nm_keyfile(prov.wifi).encode(), 0o600, (0, 0))
            if prov.wifi.country:
                staged.file(regdom, f"options cfg80211 ieee80211_regdom={prov.wifi.country}\n"
                            .encode(), 0o644)
        else:
            staged.removals += [wifi_path, regdom]
        keys = etc / "kiosk" / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        os.chmod(keys, 0o700)
        if owner:
            os.chown(keys, *owner)
        for name, text in prov.keys.items():
            staged.file(keys / f"{name}.pem", text.encode(), 0o600, owner)
        private = etc / "kiosk" / PRIVATE_DIR
        staff = prov.staff_layer()
        if staff is not None:
            private.mkdir(parents=True, exist_ok=True)
            os.chmod(private, 0o700)
            if owner:
                os.chown(private, *owner)
            staged.file(private / STAFF_FILE, staff.encode(), 0o600, owner)
        else:
            staged.removals.append(private / STAFF_FILE)
        record = {"store_id": prov.store.store_id, "lane_id": prov.store.lane_id,
                  "hostname": prov.hostname, "applied_at": int(time.time()),
                  "file_sha256": hashlib.sha256(raw).hexdigest(), "keys": sorted(prov.keys)}
        state = layout.state_dir
        staged.file(state / PROVISIONED_RECORD,
                    (json.dumps(record, indent=1) + "\n").encode(), 0o644)
        staged.removals.append(state / REJECTED_MARKER)
        if raw:
            layout.kept_file.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(layout.kept_file.parent, 0o700)
            staged.file(layout.kept_file, raw, 0o600, (0, 0) if os.geteuid() == 0 else None)
    except OSError as exc:
        staged.abandon()
        raise ProvisionError(f"cannot write {exc.filename}: {exc.strerror}; nothing applied"
                             ) from None
    staged.commit()
    return [dest for _, dest in staged.moves]


def _hosts(path: Path, hostname: str) -> str:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines = [ln for ln in lines if not ln.startswith("127.0.1.1")]
    lines.append(f"127.0.1.1\t{hostname}")
    return "\n".join(lines) + "\n"


def nm_keyfile(wifi: WifiSection) -> str:
    """A NetworkManager keyfile for a WPA-PSK network (the image's only Wi-Fi profile)."""
    simple = all(" " <= c <= "~" and c not in ";\\#" for c in wifi.ssid) and (
        wifi.ssid.strip() == wifi.ssid)
    ssid = wifi.ssid if simple else "".join(f"{b};" for b in wifi.ssid.encode())
    return "\n".join([
        "# written by kiosk provision", "[connection]", "id=kiosk-wifi",
        f"uuid={uuid.uuid5(uuid.NAMESPACE_DNS, 'kiosk-wifi.' + wifi.ssid)}", "type=wifi",
        "autoconnect=true", "", "[wifi]", "mode=infrastructure", f"ssid={ssid}",
        f"hidden={'true' if wifi.hidden else 'false'}", "", "[wifi-security]",
        "key-mgmt=wpa-psk", f"psk={wifi.psk}", "", "[ipv4]", "method=auto", "",
        "[ipv6]", "method=auto", "addr-gen-mode=stable-privacy", ""])


def consume(path: Path) -> None:
    """Overwrite the file's bytes, then unlink it (secrets must not linger on FAT)."""
    size = path.stat().st_size
    with open(path, "r+b", buffering=0) as fh:
        fh.write(b"\0" * size)
        os.fsync(fh.fileno())
    path.unlink()
    _sync_dir(path.parent)


def reject(source: BootSource, layout: Layout, reason: str) -> str:
    """Move the bad file aside and leave the marker that keeps the lane out of service."""
    try:
        aside = source.move_aside()
    except OSError as exc:  # e.g. the boot partition is mounted read-only
        aside = f"not moved aside: {exc.strerror or exc}"
    state = layout.state_dir
    state.mkdir(parents=True, exist_ok=True)
    (state / REJECTED_MARKER).write_text(f"{int(time.time())} {reason}\n")
    return aside


class BootSource:
    """The provisioning file on the boot partition: a mounted directory, or (no mount) a FAT
    filesystem inside a card, image file or partition device, reached with mtools."""

    def __init__(self, boot: Path) -> None:
        self.boot = boot
        self.spec: str | None = None
        if boot.is_dir():
            self.path = boot / PROVISION_NAME
            return
        if not boot.exists():
            raise ProvisionError(f"{boot}: no such directory, image or device")

        try:
            offset = boot_partition(boot).offset
        except ImageError:
            offset = 0  # a bare FAT filesystem (a partition device or image)
        self.spec = f"{boot}@@{offset}"
        self.path = Path(f"{boot}:{PROVISION_NAME}")

    def _mtools(self, *cmd: str, data: bytes | None = None) -> bytes:
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        done = subprocess.run([cmd[0], "-i", str(self.spec), *cmd[1:]], capture_output=True,
                              input=data, env=env)
        if done.returncode != 0:
            raise OSError(0, done.stderr.decode(errors="replace").strip(), str(self.path))
        return done.stdout

    def exists(self) -> bool:
        if self.spec is None:
            return self.path.exists()
        return PROVISION_NAME in self._mtools("mdir", "-b", "::/").decode(errors="replace")

    def read_bytes(self) -> bytes:
        if self.spec is None:
            return self.path.read_bytes()
        return self._mtools("mtype", f"::/{PROVISION_NAME}")

    def consume(self) -> None:
        if self.spec is None:
            consume(self.path)
            return
        # zero the file's own clusters in place (mcopy -o would allocate new ones)
        chain = self._mtools("mshowfat", f"::/{PROVISION_NAME}").decode()
        offset = int(str(self.spec).rpartition("@@")[2])
        with open(self.boot, "r+b") as fh:
            fh.seek(offset)
            first, size = _fat_cluster_layout(fh.read(512))
            for cluster in _clusters(chain):
                fh.seek(offset + first + (cluster - 2) * size)
                fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        self._mtools("mdel", f"::/{PROVISION_NAME}")

    def move_aside(self) -> str:
        if self.spec is None:
            aside = self.path.with_name(self.path.name + ".rejected")
            os.replace(self.path, aside)
            _sync_dir(self.path.parent)
            return str(aside)
        # mren will not replace: drop an older rejected file first
        if f"{PROVISION_NAME}.rejected" in self._mtools("mdir", "-b", "::/").decode(
                errors="replace"):
            self._mtools("mdel", f"::/{PROVISION_NAME}.rejected")
        self._mtools("mren", f"::/{PROVISION_NAME}", f"::/{PROVISION_NAME}.rejected")
        return f"{self.boot}:{PROVISION_NAME}.rejected"


def _fat_cluster_layout(boot: bytes) -> tuple[int, int]:
    """(byte offset of cluster 2, cluster size) from a FAT boot sector's BPB."""
    sector, per_cluster, reserved, fats, root_entries = struct.unpack_from("<HBHBH", boot, 11)
    fat_sectors = struct.unpack_from("<H", boot, 22)[0] or struct.unpack_from("<I", boot, 36)[0]
    root_sectors = (root_entries * 32 + sector - 1) // sector
    return (reserved + fats * fat_sectors + root_sectors) * sector, per_cluster * sector


def _clusters(mshowfat: str) -> list[int]:
    """Cluster numbers from mshowfat's ``::/NAME <3-5 9>``."""
    inside = mshowfat[mshowfat.rindex("<") + 1:mshowfat.rindex(">")]
    out: list[int] = []
    for part in inside.split():
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # vfat directories may refuse fsync; the file data was already synced
    finally:
        os.close(fd)


# --- TOML out --------------------------------------------------------------------------

def toml_dumps(data: dict[str, Any]) -> str:
    """TOML for the plain data a config layer holds (tables, arrays, scalars)."""
    out: list[str] = ["# written by kiosk provision from kiosk-provision.toml"]
    _emit_table(out, [], data)
    return "\n".join(out) + "\n"


def _emit_table(out: list[str], path: list[str], table: dict[str, Any]) -> None:
    def is_aot(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    for key, value in table.items():
        if not isinstance(value, dict) and not is_aot(value):
            out.append(f"{_key(key)} = {_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            out += ["", f"[{'.'.join(_key(k) for k in [*path, key])}]"]
            _emit_table(out, [*path, key], value)
        elif is_aot(value):
            for item in value:
                out += ["", f"[[{'.'.join(_key(k) for k in [*path, key])}]]"]
                _emit_table(out, [*path, key], item)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise ProvisionError(f"cannot write {type(value).__name__} values to TOML")


# --- command ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--boot", type=Path, default=Path("/boot/firmware"),
                        help="the mounted FAT boot partition holding kiosk-provision.toml")
    parser.add_argument("--root", type=Path, default=Path("/"), help="apply under this root")
    parser.add_argument("--etc", default="/etc", help="config dir under the root")
    parser.add_argument("--state", default="/var/lib/kiosk", help="kiosk state under the root")
    parser.add_argument("--kept", default="/var/lib/kiosk-provision",
                        help="where the applied file is kept (data partition) for a new root")
    parser.add_argument("--validate", type=Path, metavar="FILE",
                        help="only check a provisioning file (for technicians, before flashing)")


def provision_main(args: argparse.Namespace) -> int:
    if args.validate is not None:
        try:
            prov = validate_file(args.validate)
        except ProvisionError as exc:
            print(f"provision: {exc}", file=sys.stderr)
            return 1
        print(f"{args.validate}: OK: {prov.summary()}")
        return 0
    layout = Layout(args.root, args.etc, args.state, args.kept)
    try:
        source = BootSource(args.boot)
        if not source.exists():
            return _reapply_kept(layout, source)
        raw = source.read_bytes()
    except (ProvisionError, OSError) as exc:
        print(f"provision: cannot read the boot partition: {exc}", file=sys.stderr)
        return 2
    try:
        prov = validate_bytes(raw, source.path, layout.etc_dir)
        written = apply(prov, layout, raw)
    except ProvisionError as exc:
        aside = reject(source, layout, str(exc))
        print(f"provision: rejected, nothing applied, lane stays out of service: {exc}"
              f" (moved to {aside})", file=sys.stderr)
        return 1
    try:
        source.consume()
    except OSError as exc:
        print(f"provision: applied, but could not remove {source.path}: {exc}", file=sys.stderr)
        return 1
    print(f"provision: applied {prov.summary()}; wrote {len(written)} files;"
          f" removed {source.path}", file=sys.stderr)
    return 0


def _reapply_kept(layout: Layout, source: BootSource) -> int:
    """No new file: after an update replaced the root, apply the kept one again."""
    kept = layout.kept_file
    if not kept.exists() or (layout.etc_dir / "kiosk" / SITE_FILE).exists():
        print(f"provision: no {source.path}: nothing to do", file=sys.stderr)
        return 0
    try:
        raw = kept.read_bytes()
        prov = validate_bytes(raw, kept, layout.etc_dir)
        written = apply(prov, layout, raw)
    except (ProvisionError, OSError) as exc:
        state = layout.state_dir
        state.mkdir(parents=True, exist_ok=True)
        (state / REJECTED_MARKER).write_text(f"{int(time.time())} kept file: {exc}\n")
        print(f"provision: the kept provisioning no longer applies, lane stays out of service:"
              f" {exc}", file=sys.stderr)
        return 1
    print(f"provision: re-applied the kept provisioning on a new root: {prov.summary()};"
          f" wrote {len(written)} files", file=sys.stderr)
    return 0
