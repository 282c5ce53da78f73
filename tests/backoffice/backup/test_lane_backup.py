"""``kiosk backup`` / ``kiosk restore``: real SQLite state files, real tar archives, the CLI.

A corrupted live journal is restored from an archive and ``journal verify`` passes after; a
damaged or tampered archive (a changed byte, or an edited amount with a recomputed manifest)
is refused and nothing in the state dir changes; no key file and no PAN (not even encrypted)
is in an archive; rotation keeps the newest N; a running kiosk-core blocks a restore.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.ops.backup import MANIFEST, BackupError, backup, restore
from tests.unit.test_journal import T0


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _corrupt_amount(db_path: Path) -> None:
    """Edit a sale's amount the way a tamperer would: past the append-only triggers."""
    db = sqlite3.connect(db_path)
    db.execute("DROP TRIGGER events_no_update")
    seq, data = db.execute("SELECT seq, data FROM events WHERE data LIKE '%\"amount\"%'"
                           " ORDER BY seq LIMIT 1").fetchone()
    edited = json.loads(data)
    edited["amount"] = 1
    db.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(edited), seq))
    db.commit()
    db.close()


def _rewrite(archive: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite ``archive`` with ``change(name, bytes) -> bytes`` applied to each member."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w") as tar:
        for member, data in members:
            data = change(member.name, data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def test_corrupted_live_journal_is_restored_from_a_backup(lane, tmp_path, capsys):
    usb = tmp_path / "usb"
    assert main(["backup", "--to", str(usb)]) == 0
    [archive] = usb.glob("kiosk-backup-*.tar")
    assert archive.stat().st_mode & 0o777 == 0o600
    _corrupt_amount(lane.journal_path)
    assert main(["journal", "verify"]) == 1  # the live journal is now broken
    capsys.readouterr()

    assert main(["restore", str(archive)]) == 0
    assert "journal verify OK" in capsys.readouterr().out
    assert main(["journal", "verify"]) == 0
    assert "OK" in capsys.readouterr().out
    [aside] = lane.paths.state_dir.glob("pre-restore-*")  # the broken one is kept, not lost
    assert (aside / "journal.sqlite").exists()
    assert (lane.receipts_dir / "S1-L1-000001.json").exists()
    assert not list(lane.paths.state_dir.glob(".restore-*"))


def test_no_key_and_no_pan_leaves_the_lane(lane, tmp_path):
    archive = backup(lane, tmp_path / "usb")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        tar.extractall(tmp_path / "x")  # our own archive, just written
    assert names == {MANIFEST, "journal.sqlite", "catalog.sqlite", "hostlog.sqlite",
                     "receipts/S1-L1-000001.json"}
    assert not any(name.endswith(".key") for name in names)
    host = tmp_path / "x" / "hostlog.sqlite"
    db = sqlite3.connect(host)
    assert db.execute("SELECT COUNT(*) FROM pan_vault").fetchone() == (0,)
    assert db.execute("SELECT pan_masked FROM requests").fetchall() == [("476173******0119",)]
    db.close()
    assert b"\xde\xad\xbe\xef\xca\xfe" not in host.read_bytes()  # vacuumed, not just unlinked


@pytest.mark.parametrize("tamper", ["flipped_byte", "amount_with_new_manifest", "extra_file"])
def test_tampered_archive_is_refused_and_nothing_replaced(lane, tmp_path, tamper, capsys):
    archive = backup(lane, tmp_path / "usb")
    work = tmp_path / "edit"
    work.mkdir()

    def change(name: str, data: bytes) -> bytes:
        if tamper == "flipped_byte" and name == "journal.sqlite":
            return data[:-100] + bytes([data[-100] ^ 1]) + data[-99:]
        if tamper == "amount_with_new_manifest":
            if name == "journal.sqlite":
                (work / name).write_bytes(data)
                _corrupt_amount(work / name)
                return (work / name).read_bytes()
            if name == MANIFEST:  # a careful tamperer fixes the checksum too
                manifest = json.loads(data)
                return json.dumps(manifest).encode()
        return data

    if tamper == "amount_with_new_manifest":
        _rewrite(archive, change)  # pass 1 edits the journal ...
        edited = (work / "journal.sqlite").read_bytes()

        def fix(name: str, data: bytes) -> bytes:  # ... pass 2 makes the manifest agree
            if name != MANIFEST:
                return data
            manifest = json.loads(data)
            manifest["files"]["journal.sqlite"] = {
                "sha256": hashlib.sha256(edited).hexdigest(), "size": len(edited)}
            return json.dumps(manifest).encode()

        _rewrite(archive, fix)
    elif tamper == "extra_file":
        with tarfile.open(archive, "a") as tar:
            tar.add(lane.ereceipt_key_file, arcname="ereceipt.key")
    else:
        _rewrite(archive, change)

    before = _digests(lane.paths.state_dir)
    assert main(["restore", str(archive)]) == 2
    err = capsys.readouterr().err
    assert "restore refused" in err
    expected = {"flipped_byte": "checksum", "amount_with_new_manifest": "fails verify",
                "extra_file": "not in the manifest"}[tamper]
    assert expected in err
    assert _digests(lane.paths.state_dir) == before  # nothing replaced, nothing left behind


def test_rotation_keeps_the_newest(lane, tmp_path):
    usb = tmp_path / "usb"
    made = [backup(lane, usb, keep=2, now=T0 + day * 86400) for day in range(3)]
    assert sorted(usb.glob("kiosk-backup-*.tar")) == made[1:]


def test_restore_refuses_while_kiosk_core_runs(lane, tmp_path):
    archive = backup(lane, tmp_path / "usb")
    systemctl = tmp_path / "bin" / "systemctl"
    systemctl.parent.mkdir()
    systemctl.write_text('#!/bin/sh\ncase "$1" in is-system-running) echo running;;'
                         ' is-active) echo active;; esac\n')
    systemctl.chmod(0o755)
    before = _digests(lane.paths.state_dir)
    with pytest.raises(BackupError, match="running: stop it first"):
        restore(lane, archive, systemctl=str(systemctl))
    assert _digests(lane.paths.state_dir) == before


def test_another_lanes_archive_is_refused(lane, tmp_path):
    archive = backup(lane, tmp_path / "usb")
    other = lane.model_copy(update={"store": lane.store.model_copy(update={"lane_id": "L9"})})
    with pytest.raises(BackupError, match="lane L9"):
        restore(other, archive)


def test_backup_while_the_journal_is_open_and_written(lane, catalog, tmp_path):
    """Online: the writer keeps its connection (events still in the WAL, not checkpointed)
    and goes on writing after the copy; the archive holds every event committed before it."""
    from kiosk.journal.store import Journal
    from tests.unit.test_journal import Recorder, _sale

    writer = Journal(lane.journal_path)
    rec = Recorder(writer, lane, catalog)
    _sale(rec, T0 + 120)
    committed = writer.last_seq
    assert Path(str(lane.journal_path) + "-wal").stat().st_size > 0
    archive = backup(lane, tmp_path / "usb")
    _sale(rec, T0 + 180)  # the writer is not blocked by the copy
    writer.close()
    with tarfile.open(archive) as tar:
        tar.extract("journal.sqlite", tmp_path / "x")
    copy = Journal(tmp_path / "x" / "journal.sqlite")
    try:
        assert copy.verify() == (committed, [])
    finally:
        copy.close()
