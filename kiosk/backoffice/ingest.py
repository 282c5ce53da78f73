"""Ingest of a lane's journal rows: validate a batch, re-check the hash chain with the
journal's own hash function, store the new rows exactly once, flag what is wrong.

Rules (the wire API: docs/backoffice.md):

* A batch is the lane's journal rows oldest first, seqs strictly increasing. Anything else,
  a field of the wrong type, or card data in a row, is malformed (400); more than
  ``max_events`` rows is too big (413). Neither changes anything.
* Every seq up to the lane's ``last_seq`` is settled; the answer's ``acked_seq`` is it.
  A batch that starts past ``last_seq + 1`` is out of order (409, nothing changes), unless
  the lane says the rows are gone from its journal: ``"after": N`` with N = the acked seq it
  read after (``entries(after=N)``); the missing seqs are then flagged as a gap.
* Rows at or below ``last_seq`` are already held: the same row again inserts nothing (a
  resent batch); a different row under a held seq is a ``conflict`` flag and is not stored.
* Each new row must chain: ``hash == chain_digest(previous hash, seq, ts, type, data)``. A row
  that does not (an edited amount, a corrupted row) is stored AND flagged ``broken_chain``
  (the evidence is kept, the lane keeps syncing, the flag is in the answer and in ``flags``);
  the chain goes on from that row's own hash, so one edited row is one flag. A row after a
  gap cannot be linked (its predecessor is missing); the gap flag covers it.
* Rows, chain state and flags are written in one transaction, under the lane's lock.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import psycopg

from kiosk.journal.store import FORBIDDEN_KEYS, canonical_data, card_data_problems, chain_digest

#: the most rows one batch may carry (a lane's sync sends at most its ``sync.batch_max``)
MAX_EVENTS = 1000
#: the largest request body read, in bytes (413 above)
MAX_BODY = 4 * 1024 * 1024

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_EVENT_KEYS = {"seq", "ts", "type", "txn", "data", "hash"}


class BatchError(ValueError):
    """A batch refused as a whole; ``status`` is the HTTP answer (nothing was changed)."""

    def __init__(self, status: int, reason: str, **detail: Any) -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


@dataclass(frozen=True)
class Row:
    seq: int
    ts: float
    type: str
    txn: str | None
    data: str  # the journal's canonical JSON text: what the hash covers
    hash: str


@dataclass(frozen=True)
class Flag:
    seq: int
    kind: str  # gap | broken_chain | conflict
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "detail": self.detail}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_batch(body: Any, max_events: int = MAX_EVENTS) -> tuple[list[Row], int | None]:
    """The rows of a request body and its optional ``after``; BatchError if refused."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BatchError(400, 'the body must be a JSON object {"events": [...]}')
    unknown = set(body) - {"events", "after"}
    if unknown:
        raise BatchError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    after = body.get("after")
    if after is not None and not (_is_int(after) and after >= 0):
        raise BatchError(400, "after must be a seq (an integer >= 0)")
    events = body["events"]
    if not events:
        raise BatchError(400, "no events")
    if len(events) > max_events:
        raise BatchError(413, f"{len(events)} events in one batch: at most {max_events}",
                         max_events=max_events)
    rows: list[Row] = []
    for i, event in enumerate(events):
        rows.append(_row(i, event))
        if i and rows[-1].seq <= rows[-2].seq:
            raise BatchError(400, f"events[{i}]: seq {rows[-1].seq} after {rows[-2].seq}:"
                                  " a batch is oldest first")
    return rows, after


def _row(i: int, event: Any) -> Row:
    where = f"events[{i}]"
    if not isinstance(event, dict) or set(event) != _EVENT_KEYS:
        raise BatchError(400, f"{where}: an event has exactly the fields"
                              f" {', '.join(sorted(_EVENT_KEYS))}")
    seq, ts, kind, txn, data, digest = (event[k] for k in
                                        ("seq", "ts", "type", "txn", "data", "hash"))
    if not (_is_int(seq) and 0 < seq < 2**63):
        raise BatchError(400, f"{where}: seq must be a positive integer")
    if not (isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts)):
        raise BatchError(400, f"{where}: ts must be a number")
    if not (isinstance(kind, str) and 0 < len(kind) <= 64):
        raise BatchError(400, f"{where}: type must be a short string")
    if txn is not None and not (isinstance(txn, str) and len(txn) <= 128):
        raise BatchError(400, f"{where}: txn must be a string or null")
    if not isinstance(data, dict):
        raise BatchError(400, f"{where}: data must be a JSON object")
    if not (isinstance(digest, str) and _HEX64.match(digest)):
        raise BatchError(400, f"{where}: hash must be 64 lowercase hex digits")
    text = canonical_data(data)
    problems = card_data_problems(data) if _may_hold_card_data(text) else []
    if problems:  # never stored: a journal cannot hold these, so this one is not a journal's
        raise BatchError(400, f"{where}: card data refused: {', '.join(problems)}")
    return Row(seq, float(ts), kind, txn, text, digest)


#: the keys card_data_problems looks at, as they appear in canonical JSON text (lowercased)
_CARD_KEYS = tuple(f'"{key}":' for key in (*FORBIDDEN_KEYS, "masked_pan"))


def _may_hold_card_data(text: str) -> bool:
    """False when no key card_data_problems checks occurs in the row at all (most rows): the
    full walk is then skipped (every key is written as ``"key":`` in the canonical text)."""
    lowered = text.lower()
    return any(key in lowered for key in _CARD_KEYS)


def chain(last_seq: int, last_hash: str, rows: list[Row], after: int | None
          ) -> tuple[list[Row], list[Flag], int, str]:
    """Check the new rows (seq > last_seq) against the chain state. Returns the rows to
    insert, the gap and broken-chain flags, and the new (last_seq, last_hash).
    BatchError 409 when the batch starts past the chain without the lane saying why."""
    new = [row for row in rows if row.seq > last_seq]
    flags: list[Flag] = []
    if new and new[0].seq > last_seq + 1 and new[0] is rows[0] and after != last_seq:
        raise BatchError(409, f"out of order: the back office holds up to seq {last_seq},"
                              f" this batch starts at {rows[0].seq}", acked_seq=last_seq)
    seq, prev = last_seq, last_hash
    for row in new:
        if row.seq != seq + 1:
            missing = f"{seq + 1}" if row.seq == seq + 2 else f"{seq + 1}-{row.seq - 1}"
            flags.append(Flag(seq + 1, "gap", f"seq {missing} missing from the lane's journal"
                                              f" (the next row is {row.seq})"))
        elif chain_digest(prev, row.seq, row.ts, row.type, row.data) != row.hash:
            flags.append(Flag(row.seq, "broken_chain",
                              f"seq {row.seq} ({row.type}): its hash does not match its content"
                              " and the previous row (an edited or corrupted journal row)"))
        seq, prev = row.seq, row.hash
    return new, flags, seq, prev


_INSERT = """
INSERT INTO events (store_id, lane_id, seq, day, ts, type, txn, data, hash)
SELECT %(store)s, %(lane)s, r.seq, (to_timestamp(r.ts) AT TIME ZONE 'UTC')::date, r.ts,
       r.type, r.txn, r.data, r.hash
FROM unnest(%(seq)b::bigint[], %(ts)b::float8[], %(type)b::text[], %(txn)b::text[],
            %(data)b::text[], %(hash)b::text[]) AS r(seq, ts, type, txn, data, hash)
ON CONFLICT DO NOTHING
"""


async def ingest(conn: psycopg.AsyncConnection, lane_id: int, store_id: int, rows: list[Row],
                 after: int | None) -> tuple[int, list[Flag]]:
    """Apply a parsed batch for one lane in one transaction; (acked_seq, flags)."""
    async with conn.transaction():
        cur = await conn.execute("SELECT last_seq, last_hash FROM lane_chain"
                                 " WHERE lane_id = %s FOR UPDATE", (lane_id,))
        last_seq, last_hash = await cur.fetchone()
        held = [row for row in rows if row.seq <= last_seq]
        flags = await _conflicts(conn, lane_id, held) if held else []
        new, chain_flags, seq, digest = chain(last_seq, last_hash, rows, after)
        flags += chain_flags
        if new:
            await conn.execute(_INSERT, {
                "store": store_id, "lane": lane_id, "seq": [r.seq for r in new],
                "ts": [r.ts for r in new], "type": [r.type for r in new],
                "txn": [r.txn for r in new], "data": [r.data for r in new],
                "hash": [r.hash for r in new]})
            await conn.execute("UPDATE lane_chain SET last_seq = %s, last_hash = %s,"
                               " updated_at = now() WHERE lane_id = %s", (seq, digest, lane_id))
        if flags:
            async with conn.cursor() as fcur:
                await fcur.executemany(
                    "INSERT INTO flags (lane_id, seq, kind, detail) VALUES (%s, %s, %s, %s)",
                    [(lane_id, f.seq, f.kind, f.detail) for f in flags])
    return seq, flags


async def _conflicts(conn: psycopg.AsyncConnection, lane_id: int, held: list[Row]
                     ) -> list[Flag]:
    """Rows sent again under seqs already held: flag those that differ from the held row
    (already flagged ones are not flagged twice)."""
    cur = await conn.execute(
        "SELECT e.seq, e.ts, e.type, e.txn, e.data, e.hash, EXISTS (SELECT 1 FROM flags f"
        " WHERE f.lane_id = e.lane_id AND f.seq = e.seq AND f.kind = 'conflict') FROM events e"
        " WHERE e.lane_id = %s AND e.seq = ANY(%s)", (lane_id, [r.seq for r in held]))
    stored = {seq: (Row(seq, ts, kind, txn, data, digest), flagged)
              for seq, ts, kind, txn, data, digest, flagged in await cur.fetchall()}
    flags = []
    for row in held:
        kept, flagged = stored.get(row.seq, (None, False))
        if kept is not None and kept != row and not flagged:  # every field, not the hash only
            flags.append(Flag(row.seq, "conflict",
                              f"seq {row.seq} sent again with a different content than the row"
                              " held (a forked or restored journal): the held row is kept"))
    return flags


async def events_after(conn: psycopg.AsyncConnection, lane_id: int, after: int, limit: int
                       ) -> list[dict[str, Any]]:
    """The lane's rows with seq > after, oldest first, as the wire carries them."""
    cur = await conn.execute("SELECT seq, ts, type, txn, data, hash FROM events"
                             " WHERE lane_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                             (lane_id, after, limit))
    return [{"seq": seq, "ts": ts, "type": kind, "txn": txn, "data": json.loads(data),
             "hash": digest} for seq, ts, kind, txn, data, digest in await cur.fetchall()]
