"""kiosk-core as a process on journals of other versions (issue 15): the v0 journal written
by the old release is its live journal after an update; a journal of a newer release (an
A/B fallback) is refused with one clear line, never a traceback, and left as it was."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from kiosk.journal.store import JOURNAL_SCHEMA
from tests.fixtures.journal_v0.expect import JOURNAL as V0_JOURNAL
from tests.harness import kiosk_cli
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration

MILK = "8801115954255"


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
