"""kiosk-core as a process on journals of other versions (issue 15): the v0 journal written
by the old release is its live journal after an update; a journal of a newer release (an
A/B fallback) is refused with one clear line, never a traceback, and left as it was.

While an A/B update is on trial (kiosk.ops.update's record says "trying") the journal keeps
the schema the old release wrote, so a fall-back opens it: the lane sells without what a
deferrable migration adds (channels), refuses to start on a migration the old release could
not read, and migrates at its first start after ``kiosk update --commit``."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from kiosk.journal import store
from kiosk.journal.store import JOURNAL_SCHEMA, Journal
from kiosk.ops.update import Paths, _write_state, commit
from tests.fixtures.journal_v0.expect import JOURNAL as V0_JOURNAL
from tests.fixtures.sample_items import MILK
from tests.harness import kiosk_cli
from tests.integration.flow import sale, to_receipt

pytestmark = pytest.mark.integration


def _journal(env: dict) -> Path:
    return Path(env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite"


def test_core_refuses_a_journal_newer_than_it_with_one_line(lane_env, start_core):
    path = _journal(lane_env)
    shutil.copy(V0_JOURNAL, path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {JOURNAL_SCHEMA + 2}")  # as a later release left it
    db.close()
    before = path.read_bytes()
    core = start_core()
    assert core.proc is not None
    code = core.proc.wait(60)
    assert code != 0
    lines = core.log().strip().splitlines()
    assert lines == [f"kiosk-core: journal schema {JOURNAL_SCHEMA + 2} is newer than this"
                     f" software ({JOURNAL_SCHEMA}): {path} was written by a newer release;"
                     " boot that release or restore a backup of the journal"]
    assert path.read_bytes() == before
    assert not path.with_name(path.name + "-wal").exists()
    verify = kiosk_cli(lane_env, "journal", "verify")  # the operator's tool says the same
    assert verify.returncode == 2
    assert verify.stderr.strip().splitlines() == ["journal verify: " + lines[0].split(": ", 1)[1]]
    assert path.read_bytes() == before


def test_core_opens_the_v0_journal_and_goes_on_selling(lane_env, shopper, start_core):
    path = _journal(lane_env)
    shutil.copy(V0_JOURNAL, path)  # the live journal the old release left behind
    core = start_core()
    try:
        shopper.wait_online()
        st = shopper.wait_state(lambda s: s["state"] == "attract")
        assert shopper.send("scan", code=MILK)["ok"]
        st = shopper.wait_state(lambda s: len(s["lines"]) == 1)
        assert st["txn"].endswith("-000019")  # the lane's count goes on from the old journal
        assert shopper.send("checkout")["ok"]
        assert shopper.send("pay", method="card")["ok"]
        st = to_receipt(shopper)
        assert st["payment"]["stan"] == 24  # STANs too: 23 were used by the old release
        assert shopper.send("done")["ok"]
        shopper.wait_state(lambda s: s["state"] == "attract")
    finally:
        core.stop()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == JOURNAL_SCHEMA
        rows = db.execute("SELECT seq, data FROM events WHERE seq > 226 AND type NOT IN"
                          " ('snapshot', 'session_finished')").fetchall()
        finished = db.execute("SELECT data FROM events WHERE seq > 226 AND type ="
                              " 'session_finished'").fetchall()
        snapshots = db.execute("SELECT data FROM events WHERE seq > 226 AND type ="
                               " 'snapshot'").fetchall()
    finally:
        db.close()
    assert rows and all(json.loads(data)["v"] == 1 for _seq, data in rows)
    assert all(json.loads(data)["v"] == 2 for (data,) in snapshots)  # issue 19's state
    assert finished and all(json.loads(data)["v"] == 2 for (data,) in finished)  # issue 18
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


# -- an A/B update on trial --------------------------------------------------------------------

def _left_by_release(path: Path, schema: int, monkeypatch) -> None:
    """The v0 journal as a release with journal schema ``schema`` left it: opened by this
    store with its JOURNAL_SCHEMA set to that (its migrations up to there, no further)."""
    shutil.copy(V0_JOURNAL, path)
    monkeypatch.setattr(store, "JOURNAL_SCHEMA", schema)
    Journal(path).close()
    monkeypatch.undo()


def _tried(state: Path, tmp_path: Path) -> Paths:
    """An update installed from slot A into slot B and booted once (tryboot): its record in
    kiosk's state dir, as ``kiosk update BUNDLE`` writes it; not committed yet."""
    paths = Paths(boot=tmp_path / "boot", by_label=tmp_path / "by-label",
                  cmdline=tmp_path / "cmdline", state=state)
    paths.boot.mkdir()
    (paths.boot / "config.txt").write_text("os_prefix=slot-a/\n")
    (paths.boot / "tryboot.txt").write_text("os_prefix=slot-b/\n")
    paths.cmdline.write_text("console=tty1 root=LABEL=kiosk-root-b ro rootwait\n")
    _write_state(paths, {"status": "trying", "from": "A", "to": "B", "build_id": "v2-build",
                         "at": 1_765_000_000, "bundle_sha256": "0" * 64})
    return paths


def _finished(path: Path) -> dict[str, dict]:
    journal = Journal(path)
    try:
        return {e.txn: e.data for e in journal.entries() if e.type == "session_finished"}
    finally:
        journal.close()


def _schema(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_on_trial_the_lane_sells_on_the_old_schema_and_migrates_after_the_commit(
        lane_env, start_core, shopper, ui_and_voice, tmp_path, monkeypatch):
    path = _journal(lane_env)
    _left_by_release(path, 3, monkeypatch)  # schema 3: before the commands' channel column
    paths = _tried(path.parent, tmp_path)
    ui, voice = ui_and_voice
    core = start_core()
    shopper.wait_online()
    tried = sale(ui, voice)
    assert core.stop() == 0
    shopper.wait_online(False)
    assert _schema(path) == 3  # on trial: not migrated
    verify = kiosk_cli(lane_env, "journal", "verify")  # the check before the commit
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert _schema(path) == 3  # nor by the operator's verify

    # the trial fails here (watchdog): the old release must open the journal as it is
    monkeypatch.setattr(store, "JOURNAL_SCHEMA", 3)
    old = Journal(path)
    try:
        assert old.verify()[1] == []
        assert old.recover().state == "attract"
        sold = {e.txn: e.data for e in old.entries() if e.type == "session_finished"}
        assert sold[tried]["channels"] is None  # the trial's basket: channels unknown
    finally:
        old.close()
    monkeypatch.undo()

    # it did come up: kiosk-update-commit commits, and the next start migrates
    assert commit(paths) == "update v2-build committed: slot B is now the default"
    start_core()
    shopper.wait_online()
    committed = sale(ui, voice)
    assert _schema(path) == JOURNAL_SCHEMA
    finished = _finished(path)
    assert finished[tried]["channels"] is None
    assert finished[committed]["channels"] == ["touch", "voice"]
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_on_trial_core_refuses_a_migration_the_old_release_cannot_read(lane_env, start_core,
                                                                        tmp_path, monkeypatch):
    path = _journal(lane_env)
    _left_by_release(path, 2, monkeypatch)  # 2 → 3 changed session_finished's version
    _tried(path.parent, tmp_path)
    before = path.read_bytes()
    core = start_core()
    assert core.proc is not None
    assert core.proc.wait(60) != 0  # never READY: the trial is not committed, falls back
    message = (f"journal schema 2 needs migration 2 → 3 to schema {JOURNAL_SCHEMA}, which the"
               f" release before this update cannot read: not applied to {path} while the"
               " update is on trial; `kiosk update --commit` keeps this release (and migrates"
               " at the next start), a reboot falls back")
    assert core.log().strip().splitlines() == [f"kiosk-core: {message}"]
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 2
    assert verify.stderr.strip().splitlines() == [f"journal verify: {message}"]
    assert path.read_bytes() == before
    assert not path.with_name(path.name + "-wal").exists()


@pytest.mark.parametrize("record", [None, "committed", "failed"])
def test_without_an_update_on_trial_the_journal_is_made_or_migrated_as_always(
        record, lane_env, start_core, shopper, ui_and_voice, tmp_path, monkeypatch):
    """A fresh lane (no update record, no journal) starts at the current schema; so does an
    old journal once the last update is committed or its fall-back recorded."""
    path = _journal(lane_env)
    if record is not None:
        _left_by_release(path, 3, monkeypatch)
        paths = _tried(path.parent, tmp_path)
        if record == "failed":
            paths.cmdline.write_text("console=tty1 root=LABEL=kiosk-root-a ro rootwait\n")
        outcome = commit(paths)  # kiosk-update-commit on the tried slot, or the old one
        assert ("committed:" if record == "committed" else "(fell back)") in outcome
    else:
        assert not path.exists()
    start_core()
    shopper.wait_online()
    txn = sale(*ui_and_voice)
    assert _schema(path) == JOURNAL_SCHEMA
    assert _finished(path)[txn]["channels"] == ["touch", "voice"]
