"""Lane backup and restore (``kiosk backup``, ``kiosk restore ARCHIVE``).

A backup is one tar file ``kiosk-backup-<lane>-<UTC time>.tar`` holding a consistent copy of
each state database, taken with SQLite's online backup API while kiosk-core keeps selling (a
reader: it never blocks the writer), the kept receipts, and ``MANIFEST.json`` with the sha256
and size of every member. The newest ``keep`` archives of the lane in the target folder (a
path, or a mounted USB stick) are kept, older ones removed. The archive is written under a
temporary name and renamed when complete, so a pulled stick never holds a half archive under
a backup's name.

What is NOT in a backup, on purpose (docs/data-protection.md): every key file. The host
log's PAN key (``hostlog.key``) next to its encrypted PAN vault would be a card number in
clear on a USB stick (PCI DSS 3.5: keys stored apart from the data they protect); the vault
rows themselves are dropped from the copy too, so no PAN in any form leaves the lane. The
e-receipt HMAC key would let whoever holds the stick forge receipt links; the staff PIN
sealing key, the wallet merchant keys and the bus passwords are per-device secrets that
provisioning makes again. After a restore onto a new card kiosk-core makes new ones.

Restore checks everything BEFORE it replaces anything: the manifest's checksums, SQLite's
integrity check of each database, and ``journal verify`` on the archived journal, all on an
extracted copy in a folder inside the state dir (same filesystem). It refuses while
kiosk-core runs (the operator stops it: a restore under a running lane would fork its
journal). Then the current files are moved aside into ``pre-restore-<time>/`` and the
checked ones renamed into place, stale ``-wal``/``-shm`` files included in the move.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.journal.store import Journal, JournalTooNew, MigrationHeld
from kiosk.ops.digest import file_sha256
from kiosk.ops.update import on_trial
from kiosk.payments.wallet.method import ORDER_BOOK

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

ARCHIVE_PREFIX = "kiosk-backup-"
MANIFEST = "MANIFEST.json"
FORMAT = 1
RECEIPTS = "receipts"
#: the units that must be stopped before a restore
CORE_UNIT = "kiosk-core.service"
_SQLITE_SIDE = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class StateFiles:
    """Where a lane keeps what a backup holds (names relative to the state dir)."""

    state_dir: Path
    databases: tuple[str, ...]  # journal first
    receipts: str = RECEIPTS

    @classmethod
    def of(cls, config: KioskConfig) -> StateFiles:
        state = config.paths.state_dir
        names = [config.journal_path, config.catalog_path,
                 state / config.acquirer.hostlog_file, state / ORDER_BOOK]
        return cls(state, tuple(str(p.relative_to(state)) for p in names),
                   str(config.receipts_dir.relative_to(state)))

    @property
    def journal(self) -> str:
        return self.databases[0]


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of a live database (SQLite's online backup API), as one file."""
    source = sqlite3.connect(src)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
            if target.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                              " AND name = 'pan_vault'").fetchone():
                target.execute("DELETE FROM pan_vault")  # no PAN, even encrypted, leaves
                target.commit()
            target.execute("PRAGMA journal_mode=DELETE")  # a self-contained file
            target.execute("VACUUM")  # and the deleted pages with it
        finally:
            target.close()
    finally:
        source.close()


def _archives(folder: Path, lane: str) -> list[Path]:
    """The lane's archives in ``folder``, oldest first (the name sorts by time)."""
    return sorted(folder.glob(f"{ARCHIVE_PREFIX}{lane}-*.tar"))


def backup(config: KioskConfig, to: Path, keep: int = 7, now: float | None = None) -> Path:
    """Write a backup archive of this lane into folder ``to``; returns its path."""
    if keep < 1:
        raise BackupError("keep at least one archive")
    files = StateFiles.of(config)
    lane = config.store.lane_id
    to.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    final = to / f"{ARCHIVE_PREFIX}{lane}-{stamp}.tar"
    if final.exists():
        raise BackupError(f"{final} exists already (one backup a second)")
    with tempfile.TemporaryDirectory(prefix="kiosk-backup-") as work:
        stage = Path(work)
        members: dict[str, dict] = {}
        for name in files.databases:
            src = files.state_dir / name
            if not src.exists():
                continue
            dst = stage / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            copy_db(src, dst)
            members[name] = {"sha256": file_sha256(dst), "size": dst.stat().st_size}
        if files.journal not in members:
            raise BackupError(f"no journal at {files.state_dir / files.journal}: nothing to"
                              " back up")
        receipts = files.state_dir / files.receipts
        for path in sorted(receipts.glob("*.json")) if receipts.is_dir() else []:
            name = f"{files.receipts}/{path.name}"
            dst = stage / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst)
            members[name] = {"sha256": file_sha256(dst), "size": dst.stat().st_size}
        manifest = {"format": FORMAT, "lane": lane, "store": config.store.store_id,
                    "created": stamp, "journal": files.journal, "files": members}
        part = to / f".{final.name}.part"
        with tarfile.open(part, "w") as tar:
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
            for name in members:
                tar.add(stage / name, arcname=name, recursive=False)
        with part.open("rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(part, 0o600)
        part.replace(final)
    _fsync_dir(to)
    for old in _archives(to, lane)[:-keep]:
        old.unlink()
    return final


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _safe_member(name: str) -> bool:
    path = Path(name)
    return not path.is_absolute() and ".." not in path.parts and name != ""


def check_archive(archive: Path, into: Path, defer: bool = False) -> dict:
    """Extract ``archive`` into the empty folder ``into`` and check it: the manifest, every
    member's sha256 and size (nothing missing, nothing extra), SQLite integrity of each
    database and ``journal verify`` of the journal (``defer``: see :func:`verify_journal`).
    Returns the manifest; BackupError if any check fails."""
    try:
        tar = tarfile.open(archive, "r")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive}: not a readable backup archive ({exc})") from None
    with tar:
        try:
            names = tar.getnames()
            if MANIFEST not in names:
                raise BackupError(f"{archive}: no {MANIFEST}: not a kiosk backup")
            manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
            files = manifest["files"]
            journal = manifest["journal"]
        except (KeyError, ValueError, AttributeError, tarfile.TarError) as exc:
            raise BackupError(f"{archive}: unreadable manifest ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive}: backup format {manifest.get('format')} unknown")
        members = [m for m in tar.getmembers() if m.name != MANIFEST]
        extra = {m.name for m in members} - set(files)
        if extra:
            raise BackupError(f"{archive}: files not in the manifest: {', '.join(sorted(extra))}")
        for member in members:
            if not member.isfile() or not _safe_member(member.name):
                raise BackupError(f"{archive}: unsafe member {member.name!r}")
        for member in members:  # checked above: plain files with relative names only
            target = into / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, target.open("xb") as dst:  # type: ignore[union-attr]
                shutil.copyfileobj(src, dst)
    for name, meta in files.items():
        path = into / name
        if not _safe_member(name) or not path.is_file():
            raise BackupError(f"{archive}: {name} is missing")
        if path.stat().st_size != meta.get("size") or file_sha256(path) != meta.get("sha256"):
            raise BackupError(f"{archive}: {name} does not match its checksum (damaged or"
                              " tampered): nothing restored")
        if name.endswith(".sqlite"):
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                result = db.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                result = str(exc)
            finally:
                db.close()
            if result != "ok":
                raise BackupError(f"{archive}: {name} fails SQLite's integrity check: {result}")
    if journal not in files:
        raise BackupError(f"{archive}: holds no journal")
    problems = verify_journal(into / journal, defer)
    if problems:
        raise BackupError(f"{archive}: the archived journal fails verify: {problems[0]}"
                          f" ({len(problems)} problem(s)): nothing restored")
    return manifest


def verify_journal(path: Path, defer: bool = False) -> list[str]:
    """``journal verify`` of one file: its problems (none: sound). ``defer``: the file is, or
    becomes, the lane's journal while an update is on trial (kiosk.journal.store): not
    migrated."""
    try:
        journal = Journal(path, defer)
    except (JournalTooNew, MigrationHeld, sqlite3.DatabaseError) as exc:
        return [str(exc)]
    try:
        return journal.verify()[1]
    finally:
        journal.close()


def core_running(systemctl: str = "systemctl") -> bool:
    """Whether systemd runs kiosk-core on this box now (False where systemd does not run)."""
    from kiosk.ops.doctor import unit_states

    states = unit_states((CORE_UNIT,), systemctl)
    return bool(states) and states.get(CORE_UNIT) in ("active", "activating", "reloading")


@contextmanager
def staging(state_dir: Path) -> Iterator[Path]:
    """An empty folder inside the state dir (same filesystem: the final renames are atomic),
    removed afterwards."""
    state_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".restore-", dir=state_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def install(state_dir: Path, staged: Path, names: list[str], now: float | None = None) -> Path:
    """Move the current ``names`` (and their SQLite side files) aside into a new
    ``pre-restore-<time>-*/``, then rename the staged ones into place; returns the aside
    folder. Each rename is atomic; the old files stay there until the operator removes them."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    aside = Path(tempfile.mkdtemp(prefix=f"pre-restore-{stamp}-", dir=state_dir))
    for name in names:
        for suffix in ("", *_SQLITE_SIDE):
            live = state_dir / (name + suffix)
            if live.exists():
                target = aside / (name + suffix)
                target.parent.mkdir(parents=True, exist_ok=True)
                live.replace(target)
        live = state_dir / name
        live.parent.mkdir(parents=True, exist_ok=True)
        (staged / name).replace(live)
        _own_like(live, state_dir)
    _fsync_dir(state_dir)
    return aside


def _own_like(path: Path, state_dir: Path) -> None:
    """Run as root (a technician's shell), the restored files would be root's and kiosk-core
    (its own user) could not open them: give them the state dir's owner."""
    if os.geteuid() != 0:
        return
    owner = state_dir.stat()
    for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.chown(item, owner.st_uid, owner.st_gid)


def restore(config: KioskConfig, archive: Path, systemctl: str = "systemctl") -> tuple[dict, Path]:
    """Check ``archive`` completely, then put its files in place of the lane's. Returns
    (manifest, the folder holding the replaced files). Nothing is replaced on any error."""
    if core_running(systemctl):
        raise BackupError(f"{CORE_UNIT} is running: stop it first (systemctl stop kiosk.target),"
                          " restore, then start it again")
    files = StateFiles.of(config)
    with staging(files.state_dir) as staged:
        manifest = check_archive(archive, staged, on_trial(files.state_dir) is not None)
        if manifest.get("lane") != config.store.lane_id:
            raise BackupError(f"{archive} is lane {manifest.get('lane')}'s backup, this is lane"
                              f" {config.store.lane_id}: nothing restored")
        names = [n for n in manifest["files"] if not n.startswith(f"{files.receipts}/")]
        receipts = [n for n in manifest["files"] if n.startswith(f"{files.receipts}/")]
        if receipts or (files.state_dir / files.receipts).exists():
            (staged / files.receipts).mkdir(exist_ok=True)
            names.append(files.receipts)  # the folder as a whole: one rename
        return manifest, install(files.state_dir, staged, names)
