"""``kiosk update BUNDLE``: install a release into the other root slot; keep the journal.

A/B model (RAUC/Mender; see docs/technician.md "Updates"): roots ``kiosk-root-a`` and
``kiosk-root-b`` (ext4, found by LABEL), the data partition (journal, receipts) never
touched. A bundle is an uncompressed tar of ``manifest.toml``, ``root.ext4`` and ``boot/``
(kernel, initrd, device trees for the Pi firmware), checked against its SHA-256 (the
``BUNDLE.sha256`` next to it, or ``--sha256``) before anything is written. The root image
is written onto the inactive slot straight out of the tar with the flash writer and read
back with O_DIRECT, then labelled for its slot; the slot's boot files go to
``slot-<x>/`` on the boot partition, and ``tryboot.txt`` points the Pi firmware there for
one boot (``reboot '0 tryboot'``). ``kiosk update --commit``, run once the kiosk is up,
makes the new slot the default in ``config.txt`` once kiosk-core has stayed up, without a
restart, for the settle period (``[update] settle_s``, kiosk.ops.core_ready); if the new
root never gets there, the next reset boots ``config.txt``'s slot again: the old one.

The update record (``update.json`` in kiosk's state dir) says whether an update is on trial
(:func:`on_trial`: installed, not yet committed nor its fall-back recorded); until then the
journal is never migrated (kiosk.journal.store, ``defer``), so the old slot reads it. The
commit itself does not touch the journal: kiosk-core, its one writer, sees the commit on its
idle tick (:class:`TrialWatch`) and runs the held migrations between baskets, without a
restart; a kiosk-core started after the commit migrates at its start.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kiosk.ops.core_ready import NotSettled, wait_settled
from kiosk.ops.digest import file_sha256
from kiosk.ops.flash_devices import SystemView
from kiosk.ops.flash_image import Image
from kiosk.ops.flash_io import FlashError, full_write, verify_full
from kiosk.ops.provision import toml_dumps
from kiosk.ops.sdnotify import stop_on_signals
from kiosk.ops.state_file import read_json, write_json

SLOT_LABELS = {"A": "kiosk-root-a", "B": "kiosk-root-b"}
MANIFEST, ROOT_MEMBER, BOOT_DIR = "manifest.toml", "root.ext4", "boot/"
STATE_FILE = "update.json"


class UpdateError(Exception):
    """An update that cannot go ahead; str() is one line. Nothing was switched."""


@dataclass
class Paths:
    """Where the system is; tests point these at a tree and image files."""

    boot: Path = Path("/boot/firmware")
    by_label: Path = Path("/dev/disk/by-label")
    cmdline: Path = Path("/proc/cmdline")
    state: Path = Path("/var/lib/kiosk")


@dataclass
class Bundle:
    path: Path
    manifest: dict
    root: tarfile.TarInfo
    boot: list[tarfile.TarInfo]

    @property
    def build_id(self) -> str:
        return str(self.manifest["bundle"].get("build_id", "?"))


# --- bundles -----------------------------------------------------------------------------

def make_bundle(out: Path, root_image: Path, boot_dir: Path | None, **fields: str) -> str:
    """Write a bundle and its ``.sha256``; returns the SHA-256 (for the image build)."""
    files = {ROOT_MEMBER: file_sha256(root_image)}
    boot_files = sorted(p for p in boot_dir.rglob("*") if p.is_file()) if boot_dir else []
    for p in boot_files:
        files[BOOT_DIR + str(p.relative_to(boot_dir))] = file_sha256(p)

    manifest = toml_dumps({"bundle": {"format": 1, **fields}, "files": files}).encode()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(manifest), int(time.time())

        tar.addfile(info, io.BytesIO(manifest))
        tar.add(root_image, ROOT_MEMBER)
        for p in boot_files:
            tar.add(p, BOOT_DIR + str(p.relative_to(boot_dir)))
    digest = file_sha256(out)
    out.with_name(out.name + ".sha256").write_text(f"{digest}  {out.name}\n")
    return digest


def open_bundle(path: Path, sha256: str | None = None) -> Bundle:
    """Check the bundle's SHA-256 and contents; UpdateError before anything is written."""
    if not path.is_file():
        raise UpdateError(f"{path}: no such bundle")
    if sha256 is None:
        side = path.with_name(path.name + ".sha256")
        if not side.is_file():
            raise UpdateError(f"{path}: no {side.name} next to it and no --sha256: refusing an"
                              " unchecked bundle")
        sha256 = side.read_text().split()[0] if side.read_text().split() else ""
    if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise UpdateError(f"{path}: the expected SHA-256 is not 64 hex digits")
    actual = file_sha256(path)
    if actual != sha256.lower():
        raise UpdateError(f"{path}: SHA-256 mismatch (got {actual[:16]}…, expected"
                          f" {sha256[:16]}…): damaged or wrong bundle, nothing written")
    try:
        tar = tarfile.open(path, "r:")  # uncompressed: root.ext4 is written straight out
    except tarfile.TarError as exc:
        raise UpdateError(f"{path}: not an update bundle (uncompressed tar): {exc}") from None
    with tar:
        members = {m.name: m for m in tar.getmembers()}
        if MANIFEST not in members or ROOT_MEMBER not in members:
            raise UpdateError(f"{path}: bundle lacks {MANIFEST} or {ROOT_MEMBER}")
        for m in members.values():
            if m.name.startswith("/") or ".." in m.name.split("/") or not (
                    m.isfile() or m.isdir()):
                raise UpdateError(f"{path}: unsafe member {m.name!r}")
        raw = tar.extractfile(members[MANIFEST]).read()  # type: ignore[union-attr]
        try:
            manifest = tomllib.loads(raw.decode())
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UpdateError(f"{path}: bad {MANIFEST}: {exc}") from None
        if manifest.get("bundle", {}).get("format") != 1:
            raise UpdateError(f"{path}: unsupported bundle format")
        boot = [m for m in members.values() if m.isfile() and m.name.startswith(BOOT_DIR)]
        for m in boot:
            want = manifest.get("files", {}).get(m.name)
            data = tar.extractfile(m).read()  # type: ignore[union-attr]
            if want != hashlib.sha256(data).hexdigest():
                raise UpdateError(f"{path}: {m.name} does not match the manifest")
    return Bundle(path, manifest, members[ROOT_MEMBER], boot)


# --- slots -------------------------------------------------------------------------------

def booted_slot(paths: Paths) -> str:
    text = paths.cmdline.read_text()
    m = re.search(r"(?:^|\s)root=LABEL=(\S+)", text)
    for slot, label in SLOT_LABELS.items():
        if m and m.group(1) == label:
            return slot
    raise UpdateError(f"not booted from an A/B root (kernel command line has"
                      f" {m.group(0).strip() if m else 'no root=LABEL='}): this image has one"
                      " root; update the card with `kiosk flash IMAGE DEVICE --keep-data`")


def _slot_device(paths: Paths, slot: str) -> Path:
    link = paths.by_label / SLOT_LABELS[slot]
    if not link.exists():
        raise UpdateError(f"no partition labelled {SLOT_LABELS[slot]} ({link})")
    dev = link.resolve()

    st = dev.stat()
    if stat.S_ISBLK(st.st_mode):
        devno = (os.major(st.st_rdev), os.minor(st.st_rdev))
        for m in SystemView().mounts():
            if m.devno == devno:
                raise UpdateError(f"{dev} (slot {slot}) is mounted on {m.point}: refusing")
    return dev


def _set_os_prefix(config: str, slot: str) -> str:
    line = f"os_prefix=slot-{slot.lower()}/"
    lines = [ln for ln in config.splitlines() if not ln.strip().startswith("os_prefix=")]
    return "\n".join([line, *lines]) + "\n"


def _write_state(paths: Paths, record: dict) -> None:
    # 0644: readable by kiosk-core (``on_trial``) whatever the umask of the root that wrote
    # it: unread, the trial would go unseen and the journal be migrated on trial
    write_json(paths.state / STATE_FILE, record)


def install(bundle: Bundle, paths: Paths) -> str:
    """Write the bundle into the inactive slot and arm a one-time boot of it."""
    current = booted_slot(paths)
    new = "B" if current == "A" else "A"
    dev = _slot_device(paths, new)
    is_block = stat.S_ISBLK(dev.stat().st_mode)
    fd = os.open(dev, os.O_RDONLY)
    try:
        capacity = os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)
    if capacity < bundle.root.size:
        raise UpdateError(f"slot {new} ({dev}) has {capacity} bytes, the root needs"
                          f" {bundle.root.size}")
    image = Image(bundle.path, bundle.root.size, None, False, base=bundle.root.offset_data)
    written = full_write(image, dev, is_block)
    verify_full(image, dev, is_block, written.chunk_digests)
    label = subprocess.run(["e2label", str(dev), SLOT_LABELS[new]], capture_output=True,
                           text=True)
    if label.returncode != 0:
        raise UpdateError(f"cannot label slot {new}: {label.stderr.strip()}")

    slot_dir = paths.boot / f"slot-{new.lower()}"
    staging = paths.boot / f"slot-{new.lower()}.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(bundle.path, "r:") as tar:
        for m in bundle.boot:
            dest = staging / m.name[len(BOOT_DIR):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(tar.extractfile(m).read())  # type: ignore[union-attr]
    old_cmdline = paths.boot / f"slot-{current.lower()}" / "cmdline.txt"
    base = (staging / "cmdline.txt").read_text() if (staging / "cmdline.txt").exists() else (
        old_cmdline.read_text() if old_cmdline.exists() else paths.cmdline.read_text())
    cmdline = re.sub(r"root=LABEL=\S+", f"root=LABEL={SLOT_LABELS[new]}", base.strip())
    if "root=LABEL=" not in cmdline:
        cmdline = f"root=LABEL={SLOT_LABELS[new]} {cmdline}"
    (staging / "cmdline.txt").write_text(cmdline + "\n")
    shutil.rmtree(slot_dir, ignore_errors=True)
    os.replace(staging, slot_dir)
    config = paths.boot / "config.txt"
    current_config = config.read_text() if config.exists() else ""
    tryboot = paths.boot / "tryboot.txt"
    tryboot.write_text(_set_os_prefix(current_config, new))
    _write_state(paths, {"status": "trying", "from": current, "to": new,
                         "build_id": bundle.build_id, "at": int(time.time()),
                         "bundle_sha256": file_sha256(bundle.path)})
    return new


def _record(state: Path) -> dict | None:
    """The last update's record in folder ``state`` (None: no update was ever installed, or
    it is unreadable)."""
    return read_json(state / STATE_FILE)


def on_trial(state: Path) -> dict | None:
    """The update record in ``state`` (kiosk's state dir) while an update is on trial:
    installed, neither committed nor recorded as fallen back (``status`` "trying"). Meanwhile
    the journal's openers pass ``defer`` (kiosk.journal.store): no migration, so a fall-back
    finds the journal as the old release wrote it. Whether the tried slot is the booted one
    is not asked: kiosk-core's sandbox (``ProcSubset=pid``) hides /proc/cmdline, and the old
    release, running before the tried boot or after a fall-back until ``--commit`` records
    it, finds its journal at its own schema, with nothing to migrate."""
    record = _record(state)
    return record if record is not None and record.get("status") == "trying" else None


class TrialWatch:
    """What became of the update a process started on trial with (``tried``: the record
    :func:`on_trial` returned then). kiosk-core asks :meth:`outcome` on its idle tick: a stat
    of ``update.json``, read only when the file changed (``kiosk update`` replaces it)."""

    def __init__(self, state: Path, tried: dict) -> None:
        self.state, self.tried = state, tried
        self._seen: tuple[int, int, int] | None = None

    def outcome(self) -> str | None:
        """None while the update is on trial (or its record cannot be read now); else the
        status its record ended with: "committed" (``kiosk update --commit`` kept it),
        "failed" (the fall-back recorded), or "superseded" (the record names another
        update: a new install replaced it, and this one can no longer be committed)."""
        try:
            st = (self.state / STATE_FILE).stat()
        except OSError:
            return None
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen == self._seen:
            return None
        self._seen = seen
        record = _record(self.state)
        if record is None:
            return None
        if any(record.get(k) != self.tried.get(k) for k in ("build_id", "at", "to")):
            return "superseded"
        status = str(record.get("status"))
        return None if status == "trying" else status


def commit(paths: Paths, settle_s: float | None = None, timeout_s: float = 0.0,
           stop: threading.Event | None = None) -> str:
    """After boot: make the tried slot the default, or record that it fell back.

    With ``settle_s``, the tried slot is made the default only once kiosk-core has stayed
    up that long without a restart (:func:`kiosk.ops.core_ready.wait_settled`, at most
    ``timeout_s``, until ``stop``); else UpdateError and nothing is changed: the record
    stays "trying" and the next reset boots the old slot."""
    record = _record(paths.state)
    if record is None:
        return "no update pending"
    if record.get("status") != "trying":
        return f"no update pending (last: {record.get('status')})"
    booted = booted_slot(paths)
    settled = ""
    if booted == record["to"] and settle_s is not None:
        print(f"update: {record.get('build_id')} on trial in slot {booted}: waiting for"
              f" kiosk-core to stay up {settle_s:g} s without a restart (at most"
              f" {timeout_s:g} s)", file=sys.stderr, flush=True)
        try:
            ready, restarts = wait_settled(paths.state, settle_s, timeout_s,
                                           stop or threading.Event())
        except NotSettled as exc:
            raise UpdateError(f"{record.get('build_id')} not committed: {exc}; update.json"
                              f" stays \"trying\", the next reset boots slot"
                              f" {record.get('from')}") from None
        settled = (f" (kiosk-core pid {ready.pid} up {settle_s:g} s without a restart"
                   + (f", after {restarts} restart(s)" if restarts else "") + ")")
    (paths.boot / "tryboot.txt").unlink(missing_ok=True)
    if booted == record["to"]:
        config = paths.boot / "config.txt"
        text = config.read_text() if config.exists() else ""
        tmp = config.with_name(".config.txt.new")
        tmp.write_text(_set_os_prefix(text, booted))
        os.replace(tmp, config)
        record.update(status="committed", committed_at=int(time.time()))
        _write_state(paths, record)
        return (f"update {record['build_id']} committed: slot {booted} is now the"
                f" default{settled}")
    record.update(status="failed", failed_at=int(time.time()))
    _write_state(paths, record)
    return (f"update {record['build_id']} did not come up in slot {record['to']}; running"
            f" slot {booted} (fell back)")


# --- command -----------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, nargs="?", help="the .kup bundle to install")
    parser.add_argument("--sha256", help="expected SHA-256 (default: BUNDLE.sha256)")
    parser.add_argument("--commit", action="store_true",
                        help="after a tried boot: make this slot the default (or record the"
                             " fall-back)")
    parser.add_argument("--settle", type=float, metavar="SECONDS",
                        help="with --commit: how long kiosk-core must stay up after READY,"
                             " without a restart, before the commit (default: [update]"
                             " settle_s)")
    parser.add_argument("--settle-timeout", type=float, metavar="SECONDS",
                        help="with --commit: not settled by then, exit 2 without committing"
                             " (default: [update] settle_timeout_s; 3 x --settle when that is"
                             " given)")
    parser.add_argument("--pending", action="store_true",
                        help="exit 0 while an update is on trial (not yet committed nor its"
                             " fall-back recorded), else 1 (kiosk-update-commit.service's"
                             " ExecCondition=)")
    parser.add_argument("--no-reboot", action="store_true", help="arm the tryboot, do not reboot")
    parser.add_argument("--boot", type=Path, default=Paths.boot,
                        help="the boot partition (default: %(default)s)")
    parser.add_argument("--by-label", type=Path, default=Paths.by_label,
                        help="where partitions are found by label (default: %(default)s)")
    parser.add_argument("--cmdline", type=Path, default=Paths.cmdline,
                        help="the kernel command line naming the booted slot"
                             " (default: %(default)s)")
    parser.add_argument("--state", type=Path, default=Paths.state,
                        help="kiosk-core's state dir: the update record, and kiosk-core's"
                             " READY record for --commit's settle (default: %(default)s)")


def update_main(args: argparse.Namespace) -> int:
    paths = Paths(args.boot, args.by_label, args.cmdline, args.state)
    if args.pending:
        return 0 if on_trial(paths.state) is not None else 1
    try:
        if args.commit:
            if args.settle < 0:
                raise UpdateError("--settle is a number of seconds, 0 or more")
            if args.settle_timeout < args.settle:
                raise UpdateError("--settle-timeout is shorter than --settle: it could never"
                                  " commit")
            stop = stop_on_signals()  # SIGTERM (systemctl stop, the unit's timeout) ends the wait
            print(f"update: {commit(paths, args.settle, args.settle_timeout, stop)}",
                  file=sys.stderr)
            return 0
        if args.bundle is None:
            print("update: give a BUNDLE, or --commit", file=sys.stderr)
            return 2
        bundle = open_bundle(args.bundle, args.sha256)
        slot = install(bundle, paths)
    except (UpdateError, FlashError) as exc:
        print(f"update: {exc}", file=sys.stderr)
        return 2
    print(f"update: {bundle.build_id} installed in slot {slot}; the data partition was not"
          " touched; it boots once with tryboot, `kiosk update --commit` makes it stay",
          file=sys.stderr)
    if not args.no_reboot:
        subprocess.run(["systemctl", "reboot", "0 tryboot"], check=False)
    return 0
