"""Durable acquirer request log and persisted counters (SQLite, WAL, synchronous=FULL).

One row per host attempt, written BEFORE the request is sent, holding only what recovery
needs: MTI, STAN, field 7, 41, 42, amount, currency, masked PAN, basket (txn) id, idem key
and state. Never track 2, ICC data, PIN block or a full PAN in clear: when the dialect needs
field 2 in a reversal the PAN is kept AES-GCM encrypted under a key file (0600) that lives
apart from this log, and erased once the attempt is final.

States: sent → approved | declined | reversal_queued; approved → completed |
completion_queued (dual message, 0220 pending) | reversal_queued; reversal_queued → reversed.
At start-up (:meth:`HostLog.recover`) every attempt that was sent and is neither final
(completed, completion_queued, declined, reversed) nor already queued gets a reversal queued.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FINAL = ("completed", "completion_queued", "declined", "reversed", "not_sent")
# States after which no message needs the PAN again (a queued completion may carry field 2).
DONE_WITH_PAN = ("completed", "declined", "reversed", "not_sent")
COUNTER_WRAP = {"stan": 999_999, "tsc": 99_999_999}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,
    txn TEXT NOT NULL,
    mti TEXT NOT NULL,
    stan TEXT NOT NULL,
    f7 TEXT NOT NULL,
    tid TEXT NOT NULL,
    mid TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency INTEGER NOT NULL,
    pan_masked TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    response_code TEXT NOT NULL DEFAULT '',
    auth_code TEXT NOT NULL DEFAULT '',
    rrn TEXT NOT NULL DEFAULT '',
    message_key TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    reversal_attempts INTEGER NOT NULL DEFAULT 0,
    batch INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_state ON requests(state);
CREATE TABLE IF NOT EXISTS pan_vault (
    request_id INTEGER PRIMARY KEY, nonce BLOB NOT NULL, ct BLOB NOT NULL);
"""


class HostLogError(Exception):
    """The request log cannot do what was asked (unknown attempt, missing key)."""


@dataclass(frozen=True)
class Attempt:
    id: int
    idem_key: str
    txn: str
    mti: str
    stan: str
    f7: str
    tid: str
    mid: str
    amount: int
    currency: int
    pan_masked: str
    state: str
    response_code: str
    auth_code: str
    rrn: str
    message_key: str
    reason: str
    reversal_attempts: int
    batch: int
    created: float
    updated: float


@dataclass(frozen=True)
class Totals:
    """Net captured sales: approved (or completed) and not reversed."""

    count: int
    amount: int


class HostLog:
    """The acquirer's durable request log; thread-safe."""

    def __init__(self, path: Path, key_path: Path | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.key_path = Path(key_path) if key_path else self.path.with_suffix(".key")
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- counters -------------------------------------------------------------------
    def next(self, name: str) -> int:
        """Increment counter ``name`` durably and return the new value (1 after the wrap)."""
        wrap = COUNTER_WRAP.get(name, 2**31 - 1)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM counters WHERE name=?",
                                       (name,)).fetchone()
                value = 1 if row is None or row[0] >= wrap else row[0] + 1
                self._db.execute("INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT"
                                 "(name) DO UPDATE SET value=excluded.value", (name, value))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return value

    def peek(self, name: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        return row[0] if row else 0

    def set_counter(self, name: str, value: int) -> None:
        """For tests and migration: set a counter (the next call to next() returns value+1)."""
        with self._lock:
            self._db.execute("INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name)"
                             " DO UPDATE SET value=excluded.value", (name, value))

    def batch(self) -> int:
        return self.peek("batch") or 1

    # -- attempts -------------------------------------------------------------------
    def record(self, *, idem_key: str, txn: str, mti: str, stan: str, f7: str, tid: str,
               mid: str, amount: int, currency: int, pan_masked: str = "",
               state: str = "sent") -> Attempt:
        """Journal an attempt before it is sent; HostLogError if the idem key exists."""
        now = time.time()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO requests(idem_key, txn, mti, stan, f7, tid, mid, amount,"
                    " currency, pan_masked, state, batch, created, updated)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (idem_key, txn, mti, stan, f7, tid, mid, int(amount), int(currency),
                     pan_masked, state, self.batch(), now, now))
            except sqlite3.IntegrityError:
                raise HostLogError(f"an attempt with idem key {idem_key!r} exists") from None
        return self.get(idem_key)  # type: ignore[return-value]

    def update(self, idem_key: str, **fields: object) -> Attempt:
        allowed = {"state", "response_code", "auth_code", "rrn", "message_key", "reason",
                   "reversal_attempts", "mti"}
        bad = set(fields) - allowed
        if bad:
            raise HostLogError(f"cannot update {sorted(bad)}")
        sets = ", ".join(f"{k}=?" for k in fields)
        with self._lock:
            cur = self._db.execute(f"UPDATE requests SET {sets}, updated=? WHERE idem_key=?",
                                   (*fields.values(), time.time(), idem_key))
            if cur.rowcount != 1:
                raise HostLogError(f"no attempt with idem key {idem_key!r}")
            attempt = self.get(idem_key)
            if attempt is not None and attempt.state in DONE_WITH_PAN:
                self._db.execute("DELETE FROM pan_vault WHERE request_id=?", (attempt.id,))
        return attempt  # type: ignore[return-value]

    def get(self, idem_key: str) -> Attempt | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM requests WHERE idem_key=?",
                                   (idem_key,)).fetchone()
        return Attempt(**dict(row)) if row else None

    def attempts(self, txn: str | None = None, states: tuple[str, ...] | None = None
                 ) -> list[Attempt]:
        sql, args = "SELECT * FROM requests WHERE 1=1", []
        if txn is not None:
            sql += " AND txn=?"
            args.append(txn)
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [Attempt(**dict(r)) for r in rows]

    def queue_reversal(self, idem_key: str, reason: str) -> bool:
        """Queue a reversal of the attempt unless it is declined or already reversed/queued.

        True if a reversal is (now) pending for it.
        """
        with self._lock:
            attempt = self.get(idem_key)
            if attempt is None:
                raise HostLogError(f"no attempt with idem key {idem_key!r}")
            if attempt.state == "reversal_queued":
                return True
            if attempt.state in ("declined", "reversed", "not_sent"):
                return False
            self.update(idem_key, state="reversal_queued", reason=reason)
        return True

    def pending(self) -> list[Attempt]:
        """Reversals and completions still to be delivered, oldest first."""
        return self.attempts(states=("reversal_queued", "completion_queued"))

    def recover(self) -> list[str]:
        """Start-up: queue a reversal for every sent attempt that is not final. Idem keys."""
        queued = []
        for attempt in self.attempts(states=("sent", "approved")):
            self.queue_reversal(attempt.idem_key, "recovery")
            queued.append(attempt.idem_key)
        return queued

    def totals(self, batch: int | None = None) -> Totals:
        """Net captured sales of a batch (default: the open one) as this log knows them."""
        b = self.batch() if batch is None else batch
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM requests WHERE batch=? AND"
                " state IN ('completed', 'completion_queued') AND mti IN ('0200', '0100',"
                " '0220')", (b,)).fetchone()
        return Totals(int(row[0]), int(row[1]))

    def close_batch(self) -> int:
        """Start a new batch (after a balanced end of day); returns its number."""
        self.set_counter("batch", self.batch() + 1)
        return self.batch()

    # -- PAN vault (only when the dialect needs field 2 after the authorization) ----------
    def keep_pan(self, idem_key: str, pan: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        attempt = self.get(idem_key)
        if attempt is None:
            raise HostLogError(f"no attempt with idem key {idem_key!r}")
        nonce = os.urandom(12)
        ct = AESGCM(self._key()).encrypt(nonce, pan.encode("ascii"), idem_key.encode())
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO pan_vault(request_id, nonce, ct)"
                             " VALUES (?,?,?)", (attempt.id, nonce, ct))

    def pan(self, idem_key: str) -> str | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        attempt = self.get(idem_key)
        if attempt is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT nonce, ct FROM pan_vault WHERE request_id=?",
                                   (attempt.id,)).fetchone()
        if row is None or not self.key_path.exists():
            return None
        try:
            return AESGCM(self._key()).decrypt(row[0], row[1], idem_key.encode()).decode()
        except InvalidTag:
            return None

    def _key(self) -> bytes:
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = self.key_path.read_bytes()
            if len(key) != 32:
                raise HostLogError(f"{self.key_path}: not a 256-bit key") from None
            return key
        key = os.urandom(32)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key
