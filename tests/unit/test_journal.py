"""Unit tests for the append-only, hash-chained checkout journal (real SQLite files)."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.checkout import CheckoutState, Context, Rejected, apply, decide
from kiosk.journal import store
from kiosk.journal.store import (
    GENESIS,
    JOURNAL_SCHEMA,
    MIGRATIONS,
    CommandResult,
    Journal,
    JournalTooNew,
    MigrationHeld,
    canonical_data,
    card_data_problems,
    chain_digest,
)
from kiosk.security.staff import DEMO_PIN as PIN
from tests.fixtures.journal_v0.expect import JOURNAL as V0_JOURNAL
from tests.fixtures.sample_items import COLA, MILK

T0 = 1_700_000_000.25


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "state" / "journal.sqlite")
    yield j
    j.close()


def _ctx(config, catalog, now: float) -> Context:
    member = config.staff.members[0]
    return Context(config, catalog.by_gtin, catalog.by_plu,
                   lambda c, _now: (member, "") if c["pin"] == PIN else (None, "pin_wrong"),
                   lambda code, _now: (None, "badge_unknown"), now,
                   payment_methods=("card", "qr"))


class Recorder:
    """Decides, stamps, applies and journals events the way kiosk-core commits them."""

    def __init__(self, journal: Journal, config, catalog) -> None:
        self.journal, self.config, self.catalog = journal, config, catalog
        self.state = CheckoutState()

    def commit(self, events: list[dict], now: float) -> None:
        if not events:
            return
        new = copy.deepcopy(self.state)
        for event in events:
            event.setdefault("ts", now)
            apply(new, event)
        if new.state == "attract" and self.state.state != "attract":
            events.append({"type": "snapshot", "ts": now, "state": new.as_dict()})
        self.journal.append(events, txn=new.txn or self.state.txn)
        self.state = new

    def do(self, cmd: dict, now: float) -> None:
        self.commit(decide(self.state, cmd, _ctx(self.config, self.catalog, now)), now)


def _sale(rec: Recorder, t: float) -> None:
    """One complete sale with a card payment; ends in attract (with a snapshot)."""
    rec.do({"type": "scan", "code": MILK}, t)
    rec.do({"type": "scan", "code": COLA}, t + 1.5)
    rec.do({"type": "scan", "code": COLA}, t + 2.5)
    rec.do({"type": "checkout"}, t + 3)
    rec.do({"type": "pay", "method": "card"}, t + 4)
    stan = rec.state.payment["stan"]
    rec.commit([{"type": "auth_approved", "stan": stan, "auth_code": "A1B2C3",
                 "card": {"brand": "VISA", "masked_pan": "476173******0119"}}], t + 5)
    rec.commit([{"type": "receipt_printed", "path": "/r/1.txt", "ok": True, "reason": ""}],
               t + 6)
    rec.do({"type": "done"}, t + 7)


def _rows(path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        sql = "SELECT seq, ts, type, txn, data, hash FROM events ORDER BY seq"
        return db.execute(sql).fetchall()
    finally:
        db.close()


# ---------------------------------------------------------------------------
# append / recover
# ---------------------------------------------------------------------------

def test_empty_journal_recovers_the_initial_state(journal):
    assert journal.last_seq == 0 and journal.last_hash == GENESIS
    assert journal.recover() == CheckoutState()
    assert journal.verify() == (0, [])


def test_append_returns_entries_and_round_trips(journal, config, catalog):
    rec = Recorder(journal, config, catalog)
    rec.do({"type": "scan", "code": MILK}, T0)
    entries = list(journal.entries())
    assert [(e.seq, e.type, e.txn) for e in entries] == [
        (1, "session_started", "S001-L01-000001"), (2, "item_added", "S001-L01-000001")]
    assert entries[0].ts == T0
    assert entries[1].data["line"]["unit_price_minor"] == 189
    assert entries[1].event() == {"type": "item_added", "ts": T0, **entries[1].data}
    assert journal.last_seq == 2
    assert journal.recover().as_dict() == rec.state.as_dict()
    assert [e.seq for e in journal.entries(after=1)] == [2]


def test_recover_after_reopening_the_file(tmp_path, config, catalog):
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    rec = Recorder(j, config, catalog)
    rec.do({"type": "scan", "code": MILK}, T0)
    rec.do({"type": "scan", "code": COLA}, T0 + 1)
    rec.do({"type": "checkout"}, T0 + 2)
    rec.do({"type": "pay", "method": "card"}, T0 + 3)   # crash while authorizing
    last_seq, last_hash = j.last_seq, j.last_hash
    j.close()

    again = Journal(path)
    try:
        assert (again.last_seq, again.last_hash) == (last_seq, last_hash)
        state = again.recover()
        assert state.as_dict() == rec.state.as_dict()
        assert state.state == "authorizing"
        assert state.payment["stan"] == 1
        # appending continues the chain
        again.append([{"type": "auth_failed", "ts": T0 + 50, "stan": 1, "reason": "restart"}],
                     txn=state.txn)
        assert again.last_seq == last_seq + 1
        assert again.verify() == (last_seq + 1, [])
        assert again.recover().state == "reversing"
    finally:
        again.close()


def test_snapshot_plus_later_events_recover(journal, config, catalog):
    rec = Recorder(journal, config, catalog)
    _sale(rec, T0)
    assert rec.state.state == "attract"
    types = [e.type for e in journal.entries()]
    assert types[-2:] == ["session_finished", "snapshot"]
    snap_seq = journal.last_seq
    rec.do({"type": "scan", "code": COLA}, T0 + 100)
    rec.do({"type": "scan", "code": COLA}, T0 + 101)

    state = journal.recover()
    assert state.as_dict() == rec.state.as_dict()
    assert (state.txn, state.txn_seq, state.stan) == ("S001-L01-000002", 2, 1)
    assert [ln.qty for ln in state.lines] == [2]
    assert [e.type for e in journal.entries(after=snap_seq)] == [
        "session_started", "item_added", "quantity_changed"]
    assert journal.verify() == (journal.last_seq, [])


def test_recover_starts_from_the_latest_snapshot(journal):
    # A snapshot's state is taken as is: recovery does not replay what came before it.
    forged = CheckoutState(txn_seq=41, stan=17, locale="ko").as_dict()
    journal.append([{"type": "activity", "ts": T0},
                    {"type": "snapshot", "ts": T0 + 1, "state": forged}], txn=None)
    state = journal.recover()
    assert (state.txn_seq, state.stan, state.locale) == (41, 17, "ko")
    # ... but verify() replays everything and notices the snapshot does not match
    count, problems = journal.verify()
    assert count == 2
    assert problems == ["seq 2: snapshot differs from the replayed state"]


def test_verify_ok_on_a_good_journal(journal, config, catalog):
    rec = Recorder(journal, config, catalog)
    _sale(rec, T0)
    _sale(rec, T0 + 1000)
    assert journal.verify() == (journal.last_seq, [])
    assert journal.last_seq == len(_rows(journal.path))


def test_each_append_is_one_hash_chained_transaction(journal):
    journal.append([{"type": "activity", "ts": T0}, {"type": "activity", "ts": T0 + 1}], None)
    journal.append([{"type": "activity", "ts": T0 + 2}], None)
    rows = _rows(journal.path)
    assert [r[0] for r in rows] == [1, 2, 3]
    hashes = [r[5] for r in rows]
    assert len(set(hashes)) == 3 and all(len(h) == 64 for h in hashes)
    assert journal.last_hash == hashes[-1]
    assert json.loads(rows[0][4]) == {"v": 1}  # each event written with its version


def test_command_results_are_remembered_durably(journal, tmp_path):
    journal.append([{"type": "activity", "ts": T0, "cmd_id": "c-0001"},
                    {"type": "activity", "ts": T0}], None, command=("c-0001", 1))
    journal.remember_command("c-0002", 1, CommandResult(False, "not_allowed", 0))
    journal.remember_command("c-0003", 1, CommandResult(True, "", 2))
    journal.remember_command("c-0002", 1, CommandResult(True, "", 9))  # the first answer stays
    journal.close()
    reopened = Journal(tmp_path / "state" / "journal.sqlite")
    try:
        assert reopened.command_result("c-0001") == CommandResult(True, "", 2)  # last event's seq
        assert reopened.command_result("c-0002") == CommandResult(False, "not_allowed", 0)
        assert reopened.command_result("c-0003") == CommandResult(True, "", 2)
        assert reopened.command_result("c-0004") is None
    finally:
        reopened.close()


def test_a_new_basket_keeps_the_ids_of_the_last_one_only(journal):
    for basket in (1, 2):
        journal.remember_command(f"c-000{basket}", basket, CommandResult(False, "x", 0))
    journal.append([{"type": "activity", "ts": T0, "cmd_id": "c-0003"}], None,
                   command=("c-0003", 3))
    assert journal.command_result("c-0001") is None
    assert journal.command_result("c-0002") == CommandResult(False, "x", 0)
    assert journal.command_result("c-0003") == CommandResult(True, "", 1)


def test_a_basket_keeps_the_channels_of_its_accepted_commands(journal):
    """Rows of older baskets are dropped when a command of a new one is journaled; the
    current (and the previous) basket's rows stay, with their channels."""
    journal.remember_command("c-0001", 1, CommandResult(True, "", 0), "voice")
    journal.remember_command("c-0002", 2, CommandResult(True, "", 0), "keys")
    journal.append([{"type": "activity", "ts": T0, "cmd_id": "c-0003"}], None,
                   command=("c-0003", 3), channel="voice")
    journal.remember_command("c-0004", 3, CommandResult(False, "not_allowed", 0), "keys")
    journal.remember_command("c-0005", 3, CommandResult(True, "", 1), None)  # the scanner's
    journal.append([{"type": "activity", "ts": T0 + 1, "cmd_id": "c-0006"}], None,
                   command=("c-0006", 3), channel="touch")
    assert journal.channels(1) == set()  # pruned with its basket
    assert journal.channels(2) == {"keys"}
    assert journal.channels(3) == {"voice", "touch"}  # a refused command counts for none
    with pytest.raises(ValueError, match="unknown channel 'speech'"):
        journal.remember_command("c-0007", 3, CommandResult(True, "", 1), "speech")
    assert journal.command_result("c-0007") is None


def test_a_schema_3_journal_opens_its_rows_without_a_channel(tmp_path):
    """3 → 4: the commands table gains ``channel``; the rows written before have none (not
    touch), the rows written after have theirs."""
    path = tmp_path / "v3.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for version in range(3):  # the file exactly as a release with schema 3 made it
        MIGRATIONS[version].run(db)
    db.execute("INSERT INTO commands (id, basket, ok, reason, seq) VALUES"
               " ('c-0001', 7, 1, '', 0)")
    db.execute("PRAGMA user_version = 3")
    db.close()
    journal = Journal(path)
    try:
        assert journal.schema == JOURNAL_SCHEMA
        assert journal.command_result("c-0001") == CommandResult(True, "", 0)
        assert journal.channels(7) == set()
        journal.append([{"type": "activity", "ts": T0, "cmd_id": "c-0002"}], None,
                       command=("c-0002", 7), channel="voice")
        journal.remember_command("c-0003", 7, CommandResult(True, "", 1), "touch")
    finally:
        journal.close()
    reopened = Journal(path)
    try:
        rows = reopened.db.execute("SELECT id, channel FROM commands ORDER BY id").fetchall()
        assert rows == [("c-0001", None), ("c-0002", "voice"), ("c-0003", "touch")]
        assert reopened.channels(7) == {"voice", "touch"}
    finally:
        reopened.close()


def _older_release(monkeypatch, schema: int):
    """This store as a release with journal schema ``schema`` runs it (undone by ``.undo()``)."""
    monkeypatch.setattr(store, "JOURNAL_SCHEMA", schema)


def test_on_trial_a_schema_3_journal_is_left_as_the_old_release_reads_it(tmp_path,
                                                                         monkeypatch):
    """An update on trial (``defer``) runs no migration: the 3 → 4 channel column waits, the
    lane journals on without channels (unknown, not empty), the release before still opens
    the file; the next open after the trial migrates and records them."""
    path = tmp_path / "journal.sqlite"
    _older_release(monkeypatch, 3)
    old = Journal(path)
    old.append([{"type": "activity", "ts": T0, "cmd_id": "c-0001"}], None, command=("c-0001", 1))
    old.close()
    monkeypatch.undo()
    tried = Journal(path, defer=True)
    try:
        assert (tried.schema, tried.records_channels) == (3, False)
        tried.append([{"type": "activity", "ts": T0 + 1, "cmd_id": "c-0002"}], None,
                     command=("c-0002", 1), channel="voice")
        tried.remember_command("c-0003", 1, CommandResult(False, "no_item", 0), "touch")
        assert tried.channels(1) is None  # not recorded: unknown, never "no channel"
        assert tried.command_result("c-0002") == CommandResult(True, "", 2)
        assert tried.command_result("c-0003") == CommandResult(False, "no_item", 0)
    finally:
        tried.close()
    _older_release(monkeypatch, 3)  # a fall-back: the old release opens what the trial left
    fallen_back = Journal(path)
    try:
        assert fallen_back.schema == 3 and fallen_back.last_seq == 2
        assert fallen_back.command_result("c-0002") == CommandResult(True, "", 2)
        assert fallen_back.verify() == (2, [])
    finally:
        fallen_back.close()
    monkeypatch.undo()
    committed = Journal(path)  # the next open once the update is committed
    try:
        assert (committed.schema, committed.records_channels) == (JOURNAL_SCHEMA, True)
        assert committed.channels(1) == set()  # the trial's rows: none kept
        committed.append([{"type": "activity", "ts": T0 + 2, "cmd_id": "c-0004"}], None,
                         command=("c-0004", 1), channel="keys")
        assert committed.channels(1) == {"keys"}
    finally:
        committed.close()


@pytest.mark.parametrize("schema", [0, 2])
def test_on_trial_a_migration_the_old_release_cannot_read_is_refused(tmp_path, monkeypatch,
                                                                     schema):
    """2 → 3 changed an event's version (not deferrable): on trial the file is refused before
    anything is written, so a fall-back finds it as it was. A new file (0) too: the release
    that falls back would refuse one made at this schema."""
    path = tmp_path / "journal.sqlite"
    if schema:
        _older_release(monkeypatch, schema)
        Journal(path).close()
        monkeypatch.undo()
    before = path.read_bytes() if schema else None
    with pytest.raises(MigrationHeld) as held:
        Journal(path, defer=True)
    steps = ", ".join(f"{v} → {v + 1}" for v in range(schema, 3))
    assert str(held.value) == (
        f"journal schema {schema} needs migration {steps} to schema {JOURNAL_SCHEMA}, which the"
        f" release before this update cannot read: not applied to {path} while the update is"
        " on trial; `kiosk update --commit` keeps this release (and migrates at the next"
        " start), a reboot falls back")
    assert (path.read_bytes() if schema else path.stat().st_size) == (before or 0)
    assert not path.with_name(path.name + "-wal").exists()
    journal = Journal(path)  # no update on trial: migrated as always
    try:
        assert journal.schema == JOURNAL_SCHEMA
    finally:
        journal.close()


def test_a_journal_from_before_the_commands_table_seeds_its_current_basket(tmp_path):
    path = tmp_path / "old.sqlite"
    old = Journal(path)
    old.append([{"type": "activity", "ts": T0, "cmd_id": "c-before"},
                {"type": "snapshot", "ts": T0, "state": CheckoutState().as_dict()}], None)
    old.append([{"type": "activity", "ts": T0 + 1, "cmd_id": "c-0001"}], None)
    old.append([{"type": "activity", "ts": T0 + 2, "cmd_id": "c-0002"}], None)
    old.db.execute("DROP TABLE commands")  # as the journal was before the table existed
    old.db.execute("PRAGMA user_version = 0")  # (and before the schema version)
    old.close()
    upgraded = Journal(path)
    try:
        assert upgraded.command_result("c-0001") == CommandResult(True, "", 3)
        assert upgraded.command_result("c-0002") == CommandResult(True, "", 4)
        assert upgraded.command_result("c-before") is None  # a basket that is over
    finally:
        upgraded.close()


# ---------------------------------------------------------------------------
# append-only and tamper evidence
# ---------------------------------------------------------------------------

def test_update_and_delete_are_refused_by_triggers(journal):
    journal.append([{"type": "activity", "ts": T0}, {"type": "activity", "ts": T0 + 1}], None)
    db = sqlite3.connect(journal.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE events SET data = '{\"x\":1}' WHERE seq = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events WHERE seq = 2")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events")
    finally:
        db.close()
    with pytest.raises(sqlite3.DatabaseError):
        journal.db.execute("UPDATE events SET ts = 0")
    assert len(_rows(journal.path)) == 2
    assert journal.verify() == (2, [])


def _tamper(path, sql: str, params: tuple = ()) -> None:
    """What an attacker with the file can do: drop the triggers, then edit rows."""
    db = sqlite3.connect(path)
    try:
        db.execute("DROP TRIGGER events_no_update")
        db.execute("DROP TRIGGER events_no_delete")
        db.execute(sql, params)
        db.commit()
    finally:
        db.close()


def test_changed_row_breaks_the_hash_chain(tmp_path, config, catalog):
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    _sale(Recorder(j, config, catalog), T0)
    rows = _rows(path)
    [added] = [r for r in rows if r[2] == "item_added"][:1]
    j.close()

    data = json.loads(added[4])
    data["line"]["unit_price_minor"] = 1   # sell the milk for a cent
    _tamper(path, "UPDATE events SET data = ? WHERE seq = ?",
            (json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
             added[0]))

    j = Journal(path)
    try:
        [forged] = [e for e in j.entries() if e.seq == added[0]]
        assert forged.data["line"]["unit_price_minor"] == 1   # the forgery is read back...
        count, problems = j.verify()
        assert count == len(rows)
        assert f"seq {added[0]}: hash chain broken" in problems   # ...and detected
        assert all("hash chain broken" not in p for p in problems if p.startswith(
            f"seq {added[0] + 1}:"))    # later rows still link to the stored hash
    finally:
        j.close()


def test_deleted_row_is_detected(tmp_path, config, catalog):
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    _sale(Recorder(j, config, catalog), T0)
    j.close()
    _tamper(path, "DELETE FROM events WHERE seq = 3")
    j = Journal(path)
    try:
        _, problems = j.verify()
        assert "seq 4: gap, expected 3" in problems
        assert "seq 4: hash chain broken" in problems
    finally:
        j.close()


def test_well_chained_event_that_cannot_follow_is_caught_by_replay(journal):
    # A correctly hash-chained row is still checked against the state machine.
    journal.append([{"type": "checkout_started", "ts": T0}], None)
    count, problems = journal.verify()
    assert count == 1
    assert problems and "cannot replay checkout_started" in problems[0]


# ---------------------------------------------------------------------------
# card data hygiene
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("event", [
    {"type": "auth_approved", "ts": T0, "stan": 1, "auth_code": "A", "pan": "4761739001010119"},
    {"type": "auth_approved", "ts": T0, "stan": 1, "auth_code": "A", "PAN": "4761739001010119"},
    {"type": "auth_approved", "ts": T0, "stan": 1, "auth_code": "A",
     "card": {"masked_pan": "4761739001010119"}},
    {"type": "auth_approved", "ts": T0, "stan": 1, "auth_code": "A",
     "card": {"brand": "VISA", "track2": "4761739001010119=2512"}},
    {"type": "x", "ts": T0, "items": [{"cvv": "123"}]},
])
def test_append_refuses_card_data_and_writes_nothing(journal, event):
    journal.append([{"type": "activity", "ts": T0 - 1}], None)
    before = (journal.last_seq, journal.last_hash)
    with pytest.raises(ValueError, match="refusing to journal card data"):
        journal.append([{"type": "activity", "ts": T0}, event], txn="S001-L01-000001")
    assert (journal.last_seq, journal.last_hash) == before
    assert len(_rows(journal.path)) == 1
    assert journal.verify() == (1, [])


def test_card_data_problems_names_the_fields():
    assert card_data_problems({"pan": "1"}) == ["forbidden field pan"]
    assert card_data_problems({"card": {"masked_pan": "4761739001010119"}}) == [
        "card.masked_pan is not masked"]
    assert card_data_problems([{"a": [{"Pin": "1234"}]}]) == ["forbidden field [0].a[0].Pin"]


@pytest.mark.parametrize("masked", ["************0119", "476173******0119", "**0119", None])
def test_masked_pans_are_accepted(journal, masked):
    journal.append([{"type": "auth_approved", "ts": T0, "stan": 1, "auth_code": "A1",
                     "card": {"masked_pan": masked}}], None)
    assert journal.last_seq == 1


# ---------------------------------------------------------------------------
# durability settings
# ---------------------------------------------------------------------------

def test_pragmas_are_wal_and_synchronous_full(journal):
    assert journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL
    other = sqlite3.connect(journal.path)
    try:
        # WAL is a property of the file, seen by any connection
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


# ---------------------------------------------------------------------------
# bugs found
# ---------------------------------------------------------------------------

def test_integer_timestamps_verify(journal):
    journal.append([{"type": "activity", "ts": 1_700_000_000}], None)
    assert journal.verify() == (1, [])   # actual: ['seq 1: hash chain broken']


# ---------------------------------------------------------------------------
# property: what is journaled is what is recovered
# ---------------------------------------------------------------------------

SCRIPT = st.lists(st.sampled_from([
    {"type": "scan", "code": MILK}, {"type": "scan", "code": COLA},
    {"type": "scan", "code": "6901035052276"}, {"type": "staff_pin", "pin": PIN},
    {"type": "attendant", "action": "approve_age"}, {"type": "checkout"},
    {"type": "pay", "method": "card"}, "approve", "fail", "reverse", "print", {"type": "done"},
    {"type": "cancel"}, {"type": "back"}, {"type": "set_language", "locale": "ko"},
]), min_size=1, max_size=30)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=SCRIPT, gaps=st.lists(st.floats(0.001, 50, allow_nan=False), min_size=30,
                                    max_size=30))
def test_recovery_equals_live_state(tmp_path_factory, config, catalog, script, gaps):
    path = tmp_path_factory.mktemp("j") / "journal.sqlite"
    j = Journal(path)
    try:
        rec = Recorder(j, config, catalog)
        now = T0
        for step, gap in zip(script, gaps, strict=False):
            now += gap
            s = rec.state
            if isinstance(step, dict):
                try:
                    rec.do(dict(step), now)
                except Rejected:
                    pass
            elif step in ("approve", "fail") and s.state == "authorizing":
                stan = s.payment["stan"]
                rec.commit([{"type": "auth_approved", "stan": stan, "auth_code": "A", "card": None}
                            if step == "approve" else
                            {"type": "auth_failed", "stan": stan, "reason": "timeout"}], now)
            elif step == "reverse" and s.reversal:
                rec.commit([{"type": "reversal_result", "stan": s.reversal["stan"], "ok": True}],
                           now)
            elif step == "print" and s.state == "approved":
                rec.commit([{"type": "receipt_printed", "path": "/r", "ok": True, "reason": ""}],
                           now)
            assert j.recover().as_dict() == rec.state.as_dict()
        j.close()
        reopened = Journal(path)
        try:
            assert reopened.recover().as_dict() == rec.state.as_dict()
            assert reopened.verify() == (reopened.last_seq, [])
        finally:
            reopened.close()
    finally:
        j.close()


# ---------------------------------------------------------------------------
# schema versions: old journals are migrated forward, newer ones refused (issue 15)
# ---------------------------------------------------------------------------

def _raw_append(journal: Journal, kind: str, ts: float, data: dict) -> None:
    """A row as an older release wrote it (no ``v``), chained like any other."""
    text = canonical_data(data)
    seq = journal.last_seq + 1
    digest = chain_digest(journal.last_hash, seq, ts, kind, text)
    journal.db.execute("INSERT INTO events (seq, ts, type, txn, data, hash)"
                       " VALUES (?, ?, ?, NULL, ?, ?)", (seq, ts, kind, text, digest))
    journal.last_seq, journal.last_hash = seq, digest


def test_new_journals_carry_the_schema_version(journal):
    assert journal.schema == JOURNAL_SCHEMA
    assert journal.db.execute("PRAGMA user_version").fetchone()[0] == JOURNAL_SCHEMA


def test_a_journal_newer_than_the_code_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {JOURNAL_SCHEMA + 2}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(JournalTooNew) as refused:
        Journal(path)
    assert str(refused.value) == (
        f"journal schema {JOURNAL_SCHEMA + 2} is newer than this software ({JOURNAL_SCHEMA}):"
        f" {path} was written by a newer release; boot that release or restore a backup of"
        " the journal")
    assert (refused.value.found, refused.value.supported) == (JOURNAL_SCHEMA + 2,
                                                             JOURNAL_SCHEMA)
    assert path.read_bytes() == before


def test_an_old_snapshot_with_an_extra_field_recovers(journal):
    state = CheckoutState(txn_seq=7, stan=12, locale="ko").as_dict()
    state["future_field"] = {"from": "a later release"}
    journal.db.execute("PRAGMA user_version = 0")
    _raw_append(journal, "snapshot", T0, {"state": state})
    _raw_append(journal, "session_started", T0 + 1,
                {"txn": "S001-L01-000008", "txn_seq": 8, "locale": "ko"})
    recovered = journal.recover()
    assert (recovered.state, recovered.txn_seq, recovered.stan, recovered.txn) == (
        "shopping", 8, 12, "S001-L01-000008")


def test_the_v0_fixture_is_migrated_and_the_chain_goes_on(tmp_path, config, catalog):
    path = tmp_path / "journal.sqlite"
    shutil.copy(V0_JOURNAL, path)
    journal = Journal(path)
    try:
        assert journal.schema == JOURNAL_SCHEMA
        old_rows = _rows(path)
        assert all("v" not in json.loads(r[4]) for r in old_rows)
        rec = Recorder(journal, config, catalog)
        rec.state = journal.recover()
        assert (rec.state.state, rec.state.txn_seq) == ("attract", 18)
        _sale(rec, T0)
        new_rows = _rows(path)[len(old_rows):]
        # every row at its type's current version (2: the snapshot's state, issue 19, and
        # session_finished with its channels, issue 18)
        two = ("snapshot", "session_finished")
        assert new_rows and all(json.loads(r[4])["v"] == (2 if r[2] in two else 1)
                                for r in new_rows)
        assert _rows(path)[:len(old_rows)] == old_rows  # the old rows stay as written
        assert journal.verify() == (len(old_rows) + len(new_rows), [])
        assert journal.recover().as_dict() == rec.state.as_dict()
    finally:
        journal.close()
