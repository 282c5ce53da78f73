"""The durable, append-only checkout journal (SQLite, WAL, synchronous=FULL).

Every state-machine event is appended before its effect happens (journal before
effect); kiosk-core rebuilds its state after a crash by replaying the events
since the last snapshot. Rows are hash-chained and protected by triggers against
UPDATE and DELETE, and :meth:`Journal.verify` checks the chain, replays every
event and compares each snapshot with the replayed state. The journal holds only
what recovery needs: no PAN, track data, CVV, PIN or ICC data.

Next to the events, the ``commands`` table remembers the result (ok, reason,
seq) of every command id kiosk-core answered, accepted or rejected, so a
replayed id gets exactly its first answer, also after a restart. An accepted
command's row is written in the same transaction as its events. Rows are
grouped by basket (the lane's session count); those older than the previous
basket are dropped when a new one starts: a working set, not part of the hash chain.
Each row also keeps the command's channel (kiosk.domain.vocabulary.channel_of): the
basket's channels, journaled on its ``session_finished``, are read from its accepted rows
(:meth:`Journal.channels`), so a restart mid-basket forgets none.

Versions (issue 15): each row is written as its event model (kiosk.domain.events) with its
version ``v``; rows of older versions (the unversioned v0 journal) are upcast when read,
never rewritten, so the hash chain covers old and new rows alike. The file's schema version
is ``PRAGMA user_version`` (:data:`JOURNAL_SCHEMA`): an older file is migrated forward when
opened, a newer one is refused (:class:`JournalTooNew`) before anything is written to it.

Updates on trial (docs/technician.md "Updates"): a release tried in the other A/B slot may
still fall back to the old one, which refuses a journal of a newer schema. So the lane's
openers (kiosk-core, ``kiosk journal verify``, ``kiosk doctor``, the restores) open it with
``defer=True`` while ``kiosk.ops.update.on_trial`` says so, and then no migration runs at all:
the file keeps the schema the old release wrote. Each migration says whether this release can
run without it (:attr:`Migration.deferrable`: it only adds what a newer feature records, and
the rows written meanwhile are the ones the old release writes); the code using what it adds
goes without (:attr:`Journal.records_channels`). A pending migration that is not deferrable is
refused instead (:class:`MigrationHeld`), before anything is written: kiosk-core does not start
on trial, the tried boot never commits and the old slot comes back with its journal as it
left it. Once ``kiosk update --commit`` records the update as committed, kiosk-core, still
running on the file it opened with ``defer``, runs the held migrations between baskets
(:meth:`Journal.migrate`; kiosk.services.core); the next open without ``defer`` (a start after
the commit, or after the fall-back is recorded) migrates as usual; so does every open with no
update on trial, a new file included.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.domain.cards import is_masked
from kiosk.domain.checkout import CheckoutState, InvalidEvent, apply
from kiosk.domain.events import Event, NewerVersion, Snapshot, parse, upcast_state
from kiosk.domain.vocabulary import CHANNELS

#: the journal's schema version, kept in the file's ``PRAGMA user_version``. Bumped with a
#: migration whenever the tables change, or an event type's version or the snapshot's state
#: version (kiosk.domain.events) changes: an older release then refuses the file instead of
#: misreading it. 0: the unversioned journal written before issue 15 (events without ``v``).
JOURNAL_SCHEMA = 4

_TABLES = (
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        type TEXT NOT NULL,
        txn TEXT,
        data TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS events_type ON events(type)",
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END""",
)
_COMMANDS = (
    """CREATE TABLE IF NOT EXISTS commands (
        id TEXT PRIMARY KEY,
        basket INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        reason TEXT NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS commands_basket ON commands(basket)",
)
# a journal from before the commands table: its current basket's command ids, as accepted
_SEED_COMMANDS = """
INSERT OR IGNORE INTO commands (id, basket, ok, reason, seq)
SELECT json_extract(data, '$.cmd_id'),
       (SELECT COALESCE(MAX(json_extract(data, '$.txn_seq')), 0) FROM events
        WHERE type = 'session_started'), 1, '', seq
FROM events
WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM events WHERE type = 'snapshot')
  AND json_extract(data, '$.cmd_id') IS NOT NULL
"""


def _to_v1(db: sqlite3.Connection) -> None:
    """0 → 1: the tables (a new file, or one from before the commands table). The rows
    stay as they are: events without ``v`` are version 0 and upcast when read."""
    had_commands = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'commands'").fetchone()
    for statement in _TABLES + _COMMANDS:
        db.execute(statement)
    if not had_commands:
        db.execute(_SEED_COMMANDS)


def _to_v2(db: sqlite3.Connection) -> None:
    """1 → 2 (issue 19): the snapshot's state gained ``training`` (state version 2). The
    tables and rows stay as they are: an older snapshot is upcast when read; the new
    version only makes an older release refuse a journal it would misread (a lane in
    training taken for a selling one)."""


def _to_v3(db: sqlite3.Connection) -> None:
    """2 → 3 (issue 18): ``session_finished`` gained ``channels`` (event version 2). Rows
    stay as they are (an older one is upcast when read); an older release refuses the file
    instead of taking the new field for a forged event."""


def _to_v4(db: sqlite3.Connection) -> None:
    """3 → 4: the ``commands`` table gained ``channel`` (how the shopper gave the command), so
    a basket's channels outlive a restart. Rows written before have none (NULL): unknown,
    counted as no channel, never as touch."""
    db.execute("ALTER TABLE commands ADD COLUMN channel TEXT")


@dataclass(frozen=True)
class Migration:
    """One schema step. ``deferrable``: this release runs on a file without it (it only adds
    what a newer feature records, and what the release writes meanwhile is what the release
    before writes), so it waits while an update is on trial; otherwise (an event's or the
    snapshot's version changed, or a table the release needs) the trial cannot open the file."""

    run: Callable[[sqlite3.Connection], None]
    deferrable: bool


#: schema version → the migration that brings a journal of that version to the next one
MIGRATIONS: dict[int, Migration] = {
    0: Migration(_to_v1, deferrable=False),
    1: Migration(_to_v2, deferrable=False),
    2: Migration(_to_v3, deferrable=False),
    3: Migration(_to_v4, deferrable=True),  # without it channels are not recorded
}


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")


class JournalTooNew(NewerVersion):
    """The journal was written by a newer release (an A/B fallback to an older slot, or a
    copied file): this software does not open it, so nothing is misread or lost."""

    def __init__(self, path: Path, found: int) -> None:
        super().__init__("journal schema", found, JOURNAL_SCHEMA)
        self.path = path

    def __str__(self) -> str:
        return (f"journal schema {self.found} is newer than this software ({self.supported}):"
                f" {self.path} was written by a newer release; boot that release or restore"
                " a backup of the journal")


class MigrationHeld(Exception):
    """The journal needs a migration the release before cannot read back, and an update is on
    trial (``defer``): nothing was written, so a fall-back finds the file as it left it."""

    def __init__(self, path: Path, found: int, held: list[int]) -> None:
        super().__init__(path, found, held)
        self.path, self.found, self.held = path, found, held

    def __str__(self) -> str:
        steps = ", ".join(f"{v} → {v + 1}" for v in self.held)
        return (f"journal schema {self.found} needs migration {steps} to schema"
                f" {JOURNAL_SCHEMA}, which the release before this update cannot read: not"
                f" applied to {self.path} while the update is on trial; `kiosk update --commit`"
                " keeps this release (and migrates at the next start), a reboot falls back")


GENESIS = "0" * 64
FORBIDDEN_KEYS = {"pan", "track1", "track2", "cvv", "cvc", "pin", "pin_block", "icc", "emv"}


@dataclass(frozen=True)
class CommandResult:
    """What kiosk-core answered to one command id."""

    ok: bool
    reason: str
    seq: int


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: float
    type: str
    txn: str | None
    data: dict

    def event(self) -> dict:
        return {"type": self.type, "ts": self.ts, **self.data}


def chain_digest(prev: str, seq: int, ts: float, kind: str, data: str) -> str:
    """A row's hash: it chains to the previous row's (the back office re-checks it)."""
    return hashlib.sha256(f"{prev}|{seq}|{ts!r}|{kind}|{data}".encode()).hexdigest()


def canonical_data(data: dict) -> str:
    """The one JSON text of an event's data that its hash covers."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def card_data_problems(data: object, path: str = "") -> list[str]:
    """Names of fields that look like card data a journal must never hold."""
    problems: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() in FORBIDDEN_KEYS:
                problems.append(f"forbidden field {here}")
            if key == "masked_pan" and value is not None and not is_masked(str(value)):
                problems.append(f"{here} is not masked")
            problems += card_data_problems(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            problems += card_data_problems(value, f"{path}[{i}]")
    return problems


class Journal:
    """Append-only event log. One writer (kiosk-core's main loop)."""

    def __init__(self, path: Path | str, defer: bool = False) -> None:
        """``defer``: an update is on trial (``kiosk.ops.update.on_trial``): run no
        migration; refuse (:class:`MigrationHeld`) a file that cannot do without one."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > JOURNAL_SCHEMA:  # checked before anything is written to the file
            self.db.close()
            raise JournalTooNew(self.path, version)
        held = [v for v in range(version, JOURNAL_SCHEMA) if not MIGRATIONS[v].deferrable]
        if defer and held:  # also before anything is written
            self.db.close()
            raise MigrationHeld(self.path, version, held)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        if version < JOURNAL_SCHEMA and not defer:
            self._migrate(version)
        #: the commands table keeps each command's channel (schema 4; not while deferred)
        self.records_channels = self._has_channels()
        row = self.db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        self.last_seq, self.last_hash = row if row else (0, GENESIS)

    def _migrate(self, version: int) -> None:
        """Bring the file forward to JOURNAL_SCHEMA in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]  # under the lock
            while version < JOURNAL_SCHEMA:
                MIGRATIONS[version].run(self.db)
                version += 1
            self.db.execute(f"PRAGMA user_version = {JOURNAL_SCHEMA:d}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _has_channels(self) -> bool:
        return bool(self.db.execute(
            "SELECT 1 FROM pragma_table_info('commands') WHERE name = 'channel'").fetchone())

    def migrate(self) -> None:
        """Run the migrations an open with ``defer`` held back (the update on trial has been
        committed since): exactly what an open without ``defer`` runs, in one transaction, all
        or nothing (on an error the file keeps its schema and the error is raised)."""
        version = self.schema
        if version < JOURNAL_SCHEMA:
            self._migrate(version)
            self.records_channels = self._has_channels()

    @property
    def schema(self) -> int:
        """The file's schema version (``PRAGMA user_version``)."""
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    def append(self, events: list[dict | Event], txn: str | None,
               command: tuple[str, int] | None = None,
               channel: str | None = None) -> list[Entry]:
        """Durably append events (models, or dicts with ``type`` and ``ts``) in one
        transaction, each written as its model at its current version (``v``). A snapshot
        dict without ``v`` holds this code's ``CheckoutState.as_dict()``.

        ``command`` (id, basket): the command these events accept, remembered in the same
        transaction as accepted with the seq of the last event and its ``channel``
        (:func:`~kiosk.domain.vocabulary.channel_of`, None: no shopper's); the ids of
        baskets before the previous one are dropped with it."""
        problems = card_data_problems(events)
        if problems:
            raise ValueError(f"refusing to journal card data: {', '.join(problems)}")
        _check_channel(channel)
        entries, rows = [], []
        seq, prev = self.last_seq, self.last_hash
        for event in events:
            if isinstance(event, dict) and event.get("type") == "snapshot":
                event = {"v": Snapshot.VERSION, **event}
            model = parse(event)
            data = model.data()
            text = canonical_data(data)
            ts = model.ts  # hashed as SQLite's REAL column gives it back
            seq += 1
            prev = chain_digest(prev, seq, ts, model.type, text)
            rows.append((seq, ts, model.type, txn, text, prev))
            entries.append(Entry(seq, ts, model.type, txn, data))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO events (seq, ts, type, txn, data, hash) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            if command is not None:
                self.db.execute(*self._command_row("INSERT", command[0], command[1],
                                                   CommandResult(True, "", seq), channel))
                self.db.execute("DELETE FROM commands WHERE basket < ?", (command[1] - 1,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.last_seq, self.last_hash = seq, prev
        return entries

    def adopt(self, rows: list[tuple[int, float, str, str | None, str | dict, str]]) -> int:
        """Append rows written by this lane before, exactly as they were (seq, ts, type,
        txn, data, hash): a lane rebuilt from the back office's copy of its journal
        (``kiosk restore --from-backoffice``). Each row must follow the last one (contiguous
        seq, its hash over the previous one as :meth:`append` computes it) and hold no card
        data; otherwise nothing of the batch is written (ValueError). Returns the new last seq."""
        seq, prev, checked = self.last_seq, self.last_hash, []
        for row_seq, ts, kind, txn, data, digest in rows:
            text = data if isinstance(data, str) else canonical_data(data)
            if row_seq != seq + 1:
                raise ValueError(f"seq {row_seq}: expected {seq + 1} (a gap or out of order)")
            if chain_digest(prev, row_seq, float(ts), kind, text) != digest:
                raise ValueError(f"seq {row_seq}: hash chain broken")
            problems = card_data_problems(json.loads(text))
            if problems:
                raise ValueError(f"seq {row_seq}: refusing card data: {', '.join(problems)}")
            seq, prev = row_seq, digest
            checked.append((row_seq, float(ts), kind, txn, text, digest))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO events (seq, ts, type, txn, data, hash)"
                                " VALUES (?, ?, ?, ?, ?, ?)", checked)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.last_seq, self.last_hash = seq, prev
        return seq

    def entries(self, after: int = 0) -> Iterator[Entry]:
        cur = self.db.execute(
            "SELECT seq, ts, type, txn, data FROM events WHERE seq > ? ORDER BY seq", (after,)
        )
        for seq, ts, kind, txn, data in cur:
            yield Entry(seq, ts, kind, txn, json.loads(data))

    def entries_of(self, txn: str, kind: str) -> list[Entry]:
        """The events of type ``kind`` of basket ``txn``, in order."""
        cur = self.db.execute("SELECT seq, ts, type, txn, data FROM events WHERE txn = ? AND"
                              " type = ? ORDER BY seq", (txn, kind))
        return [Entry(seq, ts, k, t, json.loads(data)) for seq, ts, k, t, data in cur]

    def last_of(self, kind: str) -> Entry | None:
        """The latest event of type ``kind`` (any basket or none), if there is one."""
        row = self.db.execute("SELECT seq, ts, type, txn, data FROM events WHERE type = ?"
                              " ORDER BY seq DESC LIMIT 1", (kind,)).fetchone()
        return Entry(*row[:4], json.loads(row[4])) if row else None

    def recover(self) -> CheckoutState:
        """State as of the last event: the last snapshot plus the events after it."""
        row = self.db.execute(
            "SELECT seq, data FROM events WHERE type = 'snapshot' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        state, after = CheckoutState(), 0
        if row:
            after = row[0]
            snap = parse({"type": "snapshot", "ts": 0.0, **json.loads(row[1])})
            state = CheckoutState.from_dict(snap.state)
        for entry in self.entries(after):
            apply(state, entry.event())
        return state

    def remember_command(self, cmd_id: str, basket: int, result: CommandResult,
                         channel: str | None = None) -> None:
        """Durably remember the answer to a command that journaled no event (rejected, or
        accepted with nothing to change), with its ``channel`` as :meth:`append` does."""
        _check_channel(channel)
        self.db.execute(*self._command_row("INSERT OR IGNORE", cmd_id, basket, result,
                                           channel))

    def _command_row(self, verb: str, cmd_id: str, basket: int, result: CommandResult,
                     channel: str | None) -> tuple[str, tuple]:
        """A command's row; its channel only where the file has the column (not while the
        3 → 4 migration is deferred: an update on trial)."""
        columns, row = "id, basket, ok, reason, seq", (cmd_id, basket, int(result.ok),
                                                       result.reason, result.seq)
        if self.records_channels:
            columns, row = columns + ", channel", (*row, channel)
        return f"{verb} INTO commands ({columns}) VALUES ({', '.join('?' * len(row))})", row

    def channels(self, basket: int) -> set[str] | None:
        """The channels of basket ``basket``'s accepted commands (rows without one: written
        by a release before the column, or no shopper's command, are left out). None: this
        file records no channels (its 3 → 4 migration is deferred while an update is on
        trial), so the basket's are unknown."""
        if not self.records_channels:
            return None
        rows = self.db.execute("SELECT DISTINCT channel FROM commands WHERE basket = ? AND"
                               " ok = 1 AND channel IS NOT NULL", (basket,))
        return {channel for (channel,) in rows}

    def command_result(self, cmd_id: str) -> CommandResult | None:
        """The answer first given to ``cmd_id``, if it is remembered."""
        row = self.db.execute("SELECT ok, reason, seq FROM commands WHERE id = ?",
                              (cmd_id,)).fetchone()
        return CommandResult(bool(row[0]), row[1], row[2]) if row else None

    def verify(self) -> tuple[int, list[str]]:
        """Check chain, sequence, card-data hygiene, replay and snapshots.

        Returns (events checked, problems); no problems means the journal is sound.
        """
        problems: list[str] = []
        integrity = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"sqlite integrity_check: {integrity}")
        prev, expect_seq, count = GENESIS, 1, 0
        state = CheckoutState()
        cur = self.db.execute("SELECT seq, ts, type, txn, data, hash FROM events ORDER BY seq")
        for seq, ts, kind, _txn, text, digest in cur:
            count += 1
            if seq != expect_seq:
                problems.append(f"seq {seq}: gap, expected {expect_seq}")
            expect_seq = seq + 1
            if chain_digest(prev, seq, ts, kind, text) != digest:
                problems.append(f"seq {seq}: hash chain broken")
            prev = digest
            try:
                data = json.loads(text)
            except ValueError:
                problems.append(f"seq {seq}: data is not JSON")
                continue
            problems += [f"seq {seq}: {p}" for p in card_data_problems(data)]
            if kind == "snapshot":
                try:  # compared as stored (brought to the current format), not as restored
                    stored = upcast_state(data.get("state"), data.get("v", 0))
                except (InvalidEvent, NewerVersion) as exc:
                    problems.append(f"seq {seq}: bad snapshot: {exc}")
                    continue
                if stored != state.as_dict():
                    problems.append(f"seq {seq}: snapshot differs from the replayed state")
                continue
            try:
                apply(state, {"type": kind, "ts": ts, **data})
            except (InvalidEvent, NewerVersion) as exc:
                problems.append(f"seq {seq}: cannot replay {kind}: {exc}")
        return count, problems
