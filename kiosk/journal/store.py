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
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.domain.checkout import CheckoutState, InvalidEvent, apply

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    txn TEXT,
    data TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_type ON events(type);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    basket INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    reason TEXT NOT NULL,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS commands_basket ON commands(basket);
"""
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

GENESIS = "0" * 64
FORBIDDEN_KEYS = {"pan", "track1", "track2", "cvv", "cvc", "pin", "pin_block", "icc", "emv"}
_MASKED_PAN = re.compile(r"^\d{0,6}\*{2,}\d{4}$")


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


def _digest(prev: str, seq: int, ts: float, kind: str, data: str) -> str:
    return hashlib.sha256(f"{prev}|{seq}|{ts!r}|{kind}|{data}".encode()).hexdigest()


def _canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def card_data_problems(data: object, path: str = "") -> list[str]:
    """Names of fields that look like card data a journal must never hold."""
    problems: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() in FORBIDDEN_KEYS:
                problems.append(f"forbidden field {here}")
            if key == "masked_pan" and value is not None and not _MASKED_PAN.match(str(value)):
                problems.append(f"{here} is not masked")
            problems += card_data_problems(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            problems += card_data_problems(value, f"{path}[{i}]")
    return problems


class Journal:
    """Append-only event log. One writer (kiosk-core's main loop)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        had_commands = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'commands'").fetchone()
        self.db.executescript(SCHEMA)
        if not had_commands:
            self.db.execute(_SEED_COMMANDS)
        row = self.db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        self.last_seq, self.last_hash = row if row else (0, GENESIS)

    def close(self) -> None:
        self.db.close()

    def append(self, events: list[dict], txn: str | None,
               command: tuple[str, int] | None = None) -> list[Entry]:
        """Durably append events (each with ``type`` and ``ts``) in one transaction.

        ``command`` (id, basket): the command these events accept, remembered in the same
        transaction as accepted with the seq of the last event; the ids of baskets before
        the previous one are dropped with it."""
        problems = card_data_problems(events)
        if problems:
            raise ValueError(f"refusing to journal card data: {', '.join(problems)}")
        entries, rows = [], []
        seq, prev = self.last_seq, self.last_hash
        for event in events:
            data = {k: v for k, v in event.items() if k not in ("type", "ts")}
            text = _canonical(data)
            ts = float(event["ts"])  # hashed as SQLite's REAL column gives it back
            seq += 1
            prev = _digest(prev, seq, ts, event["type"], text)
            rows.append((seq, ts, event["type"], txn, text, prev))
            entries.append(Entry(seq, ts, event["type"], txn, data))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO events (seq, ts, type, txn, data, hash) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            if command is not None:
                self.db.execute("INSERT INTO commands (id, basket, ok, reason, seq)"
                                " VALUES (?, ?, 1, '', ?)", (command[0], command[1], seq))
                self.db.execute("DELETE FROM commands WHERE basket < ?", (command[1] - 1,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.last_seq, self.last_hash = seq, prev
        return entries

    def entries(self, after: int = 0) -> Iterator[Entry]:
        cur = self.db.execute(
            "SELECT seq, ts, type, txn, data FROM events WHERE seq > ? ORDER BY seq", (after,)
        )
        for seq, ts, kind, txn, data in cur:
            yield Entry(seq, ts, kind, txn, json.loads(data))

    def recover(self) -> CheckoutState:
        """State as of the last event: the last snapshot plus the events after it."""
        row = self.db.execute(
            "SELECT seq, data FROM events WHERE type = 'snapshot' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        state, after = CheckoutState(), 0
        if row:
            after = row[0]
            state = CheckoutState.from_dict(json.loads(row[1])["state"])
        for entry in self.entries(after):
            apply(state, entry.event())
        return state

    def remember_command(self, cmd_id: str, basket: int, result: CommandResult) -> None:
        """Durably remember the answer to a command that journaled no event (rejected, or
        accepted with nothing to change)."""
        self.db.execute("INSERT OR IGNORE INTO commands (id, basket, ok, reason, seq)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (cmd_id, basket, int(result.ok), result.reason, result.seq))

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
            if _digest(prev, seq, ts, kind, text) != digest:
                problems.append(f"seq {seq}: hash chain broken")
            prev = digest
            try:
                data = json.loads(text)
            except ValueError:
                problems.append(f"seq {seq}: data is not JSON")
                continue
            problems += [f"seq {seq}: {p}" for p in card_data_problems(data)]
            if kind == "snapshot":
                if data.get("state") != state.as_dict():
                    problems.append(f"seq {seq}: snapshot differs from the replayed state")
                continue
            try:
                apply(state, {"type": kind, "ts": ts, **data})
            except (InvalidEvent, KeyError, TypeError) as exc:
                problems.append(f"seq {seq}: cannot replay {kind}: {exc}")
        return count, problems
