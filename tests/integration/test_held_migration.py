"""A journal migration held while kiosk-core runs an A/B update's trial is applied once the
update is committed, by the kiosk-core process that has been selling all along: no restart, no
reboot, and never with a basket open (kiosk.services.core ``_apply_held_migrations``). A
trial recorded as fallen back applies nothing; a migration that fails stops kiosk-core with
one line and the journal as it was, as a failed migration at its start does.

Real stacks: a kiosk-core process over the test broker, the journal a v0 file brought to
schema 3 (before the commands' channel column: the deferrable 3 → 4 migration), the update
record written and committed by kiosk.ops.update."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.journal.store import JOURNAL_SCHEMA, Journal
from kiosk.ops.update import commit
from tests.fixtures.sample_items import MILK
from tests.harness import CoreProcess, kiosk_cli
from tests.integration.flow import sale, send_as
from tests.integration.test_journal_versions import (
    _finished,
    _journal,
    _left_by_release,
    _schema,
    _tried,
)

pytestmark = pytest.mark.integration

HELD_SCHEMA = 3  # the schema the journal keeps on trial: 3 → 4 (channels) is deferrable
IDLE_WARNING_S = 2  # how long the open basket sits after the commit before the core warns
COMMITTED = "update v2-build committed: slot B is now the default"
MIGRATED = f"update v2-build committed: journal migrated from schema {HELD_SCHEMA} to"


def _until(predicate: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Wait for a condition on a file (the journal, the core's log); a bound, not a timing."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _logged(core: CoreProcess, text: str) -> list[str]:
    return [line for line in core.log().splitlines() if text in line]


@pytest.fixture
def held(lane_env, tmp_path, monkeypatch):
    """The lane's journal as the old release left it (schema HELD_SCHEMA), and an update on
    trial: (the journal's path, the update's paths)."""
    path = _journal(lane_env)
    _left_by_release(path, HELD_SCHEMA, monkeypatch)
    return path, _tried(path.parent, tmp_path)


def test_committed_mid_basket_the_held_migration_waits_for_the_basket_then_applies(
        lane_env, ui_and_voice, held, start_core, shopper):
    ui, voice = ui_and_voice
    path, paths = held
    core = start_core(KIOSK__TIMEOUTS__IDLE_WARNING_S=str(IDLE_WARNING_S),
                      KIOSK__TIMEOUTS__IDLE_VOID_S="600")
    shopper.wait_online()
    ui.wait_state(lambda s: s["state"] == "attract")
    assert send_as(ui, "scan", "ui", code=MILK)["ok"]
    open_txn = ui.wait_state(lambda s: s["txn"] is not None and s["lines"])["txn"]

    # kiosk-update-commit commits while the shopper is mid-basket; kiosk-core is not restarted
    assert commit(paths) == COMMITTED
    assert send_as(ui, "touch", "ui")["ok"]  # the shopper is still there after the commit
    # the basket then sits until the core warns the idle shopper: its loop has turned for
    # IDLE_WARNING_S since the commit, the basket open all along
    ui.wait_state(lambda s: s["txn"] == open_txn and s["idle_warning_at"] is not None,
                  IDLE_WARNING_S + 15)
    assert _schema(path) == HELD_SCHEMA
    assert send_as(voice, "checkout", "voice")["ok"]
    assert send_as(voice, "pay", "voice", method="card")["ok"]
    ui.wait_state(lambda s: s["state"] in ("approved", "receipt"), 20)
    if ui.state["state"] == "approved":
        assert send_as(voice, "receipt", "voice", choice="none")["ok"]
    ui.wait_state(lambda s: s["state"] == "receipt", 20)
    assert _schema(path) == HELD_SCHEMA  # a payment made and a receipt up: still open
    assert send_as(ui, "done", "ui")["ok"]

    _until(lambda: _schema(path) == JOURNAL_SCHEMA, "the held migration, once the basket ended")
    assert core.proc is not None and core.proc.poll() is None  # the same process, selling on
    second = sale(ui, voice)
    assert len(_logged(core, MIGRATED)) == 1

    finished = _finished(path)
    assert finished[open_txn]["channels"] is None  # finished on the schema it began on
    assert finished[second]["channels"] == ["touch", "voice"]  # the migrated journal's
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_trial_that_fell_back_never_applies_the_held_migration(ui_and_voice, held,
                                                                  start_core, shopper):
    ui, voice = ui_and_voice
    path, paths = held
    core = start_core()
    shopper.wait_online()
    tried = sale(ui, voice)

    # the record says the update fell back (``--commit`` booted on the old slot A)
    paths.cmdline.write_text("console=tty1 root=LABEL=kiosk-root-a ro rootwait\n")
    assert "(fell back)" in commit(paths)
    _until(lambda: _logged(core, "update v2-build failed: the journal keeps schema 3"),
           "the core seeing the fall-back")
    after = sale(ui, voice)  # idle, between baskets, and after one more
    assert _schema(path) == HELD_SCHEMA
    assert not _logged(core, "journal migrated")
    assert core.proc is not None and core.proc.poll() is None
    finished = _finished_held(path)
    assert finished[tried]["channels"] is None and finished[after]["channels"] is None


def test_a_held_migration_that_fails_stops_the_core_with_the_journal_as_it_was(
        held, start_core, shopper):
    """As at start (a failed migration stops kiosk-core; systemd's restart tries again):
    the 3 → 4 migration fails here because the file already has a ``channel`` column."""
    path, paths = held
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE commands ADD COLUMN channel TEXT")  # user_version stays 3
    db.close()
    core = start_core()
    shopper.wait_online()
    shopper.wait_state(lambda s: s["state"] == "attract")

    assert commit(paths) == COMMITTED
    assert core.proc is not None
    assert core.proc.wait(60) == 1
    shopper.wait_online(False)
    last = core.log().strip().splitlines()[-1]
    assert last == ("kiosk-core: update v2-build committed, but the journal migration it held"
                    " failed: duplicate column name: channel;"
                    f" {path} keeps schema {HELD_SCHEMA}; stopping so that kiosk-core's next"
                    " start migrates it")
    assert _schema(path) == HELD_SCHEMA
    journal = Journal(path, defer=True)  # read as the trial did, nothing migrated
    try:
        assert journal.verify()[1] == []
    finally:
        journal.close()


def _finished_held(path: Path) -> dict[str, dict]:
    """The baskets' ``session_finished`` data, read without migrating the file."""
    journal = Journal(path, defer=True)
    try:
        return {e.txn: e.data for e in journal.entries() if e.type == "session_finished"}
    finally:
        journal.close()
