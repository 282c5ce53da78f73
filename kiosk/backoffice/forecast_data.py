"""What the demand forecast reads from the back office: each item's daily units sold in a
store, and its stock on hand (issue 18).

Units sold come from the lanes' synced journal rows, replayed per basket (a lane's txn) in
one SQL query the way the checkout applies them: ``item_added`` opens line N (N counts up
from 1 in a session), ``quantity_changed`` sets its quantity, ``line_removed`` drops it; a
basket's lines count as sold on the day (UTC) of its first ``auth_approved``. Training
sessions (txn prefix :data:`kiosk.domain.training.TXN_PREFIX`) never count, nor a basket
never paid, nor a basket with a row the ingest flagged ``broken_chain`` (an edited or
corrupted row: the whole basket is left out and counted in ``flagged_baskets``). A line
sold by weight counts its weight in kg.

Stock on hand is the latest count of the item (table ``stock_counts``, migration 005: from
the catalog feed's ``on_hand`` column, :func:`read_feed_stock`) less the units sold after
it was counted.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from kiosk.domain.training import TXN_PREFIX

#: units sold per item and day (and since each item's last count), replayed per basket in
#: SQL: a basket is a (lane, txn); its lines are its item_added rows in seq order (line ids
#: count up from 1), each line's quantity its last quantity_changed, a removed line 0, a
#: weighed line its kg; it sells on the day of its first auth_approved. Training txns and
#: baskets with a row flagged broken_chain are left out (the last row, key NULL, counts
#: the paid baskets left out for a flag).
_SOLD_SQL = """
WITH ev AS MATERIALIZED (
    SELECT lane_id, seq, ts, txn, type, day, data FROM events
    WHERE store_id = %(store)s AND day BETWEEN %(first)s AND %(until)s
      AND type IN ('item_added', 'quantity_changed', 'line_removed', 'auth_approved')
      AND txn IS NOT NULL AND NOT starts_with(txn, %(training)s)
), paid AS (
    SELECT DISTINCT ON (lane_id, txn) lane_id, txn, seq, ts, day FROM ev
    WHERE type = 'auth_approved' ORDER BY lane_id, txn, seq
), flagged AS (
    SELECT DISTINCT e.lane_id, e.txn FROM flags f
    JOIN events e ON e.lane_id = f.lane_id AND e.seq = f.seq
    WHERE f.kind = 'broken_chain' AND e.store_id = %(store)s AND e.txn IS NOT NULL
), ok AS (
    SELECT p.* FROM paid p
    WHERE NOT EXISTS (SELECT 1 FROM flagged g WHERE g.lane_id = p.lane_id AND g.txn = p.txn)
), lines AS (
    SELECT lane_id, txn, seq,
           row_number() OVER (PARTITION BY lane_id, txn ORDER BY seq) AS line_id,
           data::jsonb -> 'line' AS line
    FROM ev WHERE type = 'item_added'
), qty AS (
    SELECT DISTINCT ON (lane_id, txn, line_id) lane_id, txn, line_id, qty FROM (
        SELECT lane_id, txn, seq, (data::jsonb ->> 'line_id')::bigint AS line_id,
               (data::jsonb ->> 'qty')::numeric AS qty
        FROM ev WHERE type = 'quantity_changed') c
    ORDER BY lane_id, txn, line_id, seq DESC
), removed AS (
    SELECT DISTINCT lane_id, txn, (data::jsonb ->> 'line_id')::bigint AS line_id
    FROM ev WHERE type = 'line_removed'
), counted AS (
    SELECT * FROM unnest(%(ckeys)s::text[], %(cts)s::float8[]) AS c(key, ts)
), sold AS (
    SELECT l.line ->> 'key' AS key, o.day, o.ts,
           CASE WHEN r.line_id IS NOT NULL THEN 0
                WHEN (l.line ->> 'sold_by_weight')::boolean
                THEN COALESCE((l.line ->> 'weight_g')::numeric, 0) / 1000
                ELSE COALESCE(q.qty, 1) END AS units,
           l.line -> 'names' AS names
    FROM lines l
    JOIN ok o ON o.lane_id = l.lane_id AND o.txn = l.txn AND l.seq < o.seq
    LEFT JOIN qty q ON q.lane_id = l.lane_id AND q.txn = l.txn AND q.line_id = l.line_id
    LEFT JOIN removed r ON r.lane_id = l.lane_id AND r.txn = l.txn AND r.line_id = l.line_id
)
SELECT s.key, s.day, sum(s.units), sum(s.units) FILTER (WHERE s.ts > c.ts),
       min(COALESCE(s.names ->> 'en', (SELECT v FROM jsonb_each_text(s.names) AS j(k, v)
                                        LIMIT 1)))
FROM sold s LEFT JOIN counted c ON c.key = s.key
GROUP BY s.key, s.day
UNION ALL
SELECT NULL, NULL, count(*), NULL, NULL FROM paid p
WHERE EXISTS (SELECT 1 FROM flagged g WHERE g.lane_id = p.lane_id AND g.txn = p.txn)
"""


@dataclass
class StockCount:
    on_hand: float
    counted_at: dt.datetime
    lead_time_days: int | None
    sold_since: float = 0.0

    @property
    def now(self) -> float:
        """On hand now: the count less what sold since (never below 0)."""
        return max(0.0, self.on_hand - self.sold_since)


@dataclass
class SalesHistory:
    store: str
    first: dt.date
    keys: list[str]          # the items, in the matrix's row order
    units: np.ndarray        # [item, day] units sold each day, ``first`` onwards
    names: dict[str, str] = field(default_factory=dict)
    stock: dict[str, StockCount] = field(default_factory=dict)
    flagged_baskets: int = 0  # paid baskets left out: a row of theirs is flagged broken_chain

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=self.units.shape[1] - 1)


def latest_counts(conn: psycopg.Connection, store: str) -> dict[str, StockCount]:
    rows = conn.execute(
        "SELECT DISTINCT ON (item_key) item_key, on_hand, counted_at, lead_time_days"
        " FROM stock_counts WHERE store_code = %s ORDER BY item_key, counted_at DESC",
        (store,)).fetchall()
    return {key: StockCount(float(on_hand), at, lead) for key, on_hand, at, lead in rows}


def sales_history(conn: psycopg.Connection, store: str, until: dt.date | None = None,
                  days: int = 365) -> SalesHistory:
    """The store's daily units per item for the ``days`` days up to ``until`` (default:
    the last day with a sale), and each item's stock on hand. LookupError: no such store."""
    row = conn.execute("SELECT id FROM stores WHERE code = %s", (store,)).fetchone()
    if row is None:
        raise LookupError(f"no store {store!r} in the back office")
    store_id = row[0]
    if until is None:
        last = conn.execute("SELECT max(day) FROM events WHERE store_id = %s"
                            " AND type = 'auth_approved'", (store_id,)).fetchone()[0]
        until = last or dt.datetime.now(dt.UTC).date()
    first = until - dt.timedelta(days=days - 1)
    counts = latest_counts(conn, store)
    keys_counted = sorted(counts)
    with conn.transaction():
        # every join here is whole baskets against whole baskets: hash or merge joins. With
        # no statistics yet (a day's partition just filled) the planner guesses 1 row and
        # picks nested loops, quadratic in the baskets (40 s instead of 1 s for 120 days)
        conn.execute("SET LOCAL enable_nestloop = off")
        rows = conn.execute(_SOLD_SQL, {
            "store": store_id, "first": first, "until": until, "training": TXN_PREFIX,
            "ckeys": keys_counted,
            "cts": [counts[k].counted_at.timestamp() for k in keys_counted]}).fetchall()
    sold: dict[tuple[str, int], float] = {}
    names: dict[str, str] = {}
    left_out = 0
    for key, day, units, since, name in rows:
        if key is None:  # the count of paid baskets left out
            left_out = int(units)
            continue
        sold[(key, (day - first).days)] = float(units)
        if since:
            counts[key].sold_since += float(since)
        if name:
            names.setdefault(key, name)
    keys = sorted({key for key, _ in sold} | set(counts))
    index = {k: i for i, k in enumerate(keys)}
    units_by_day = np.zeros((len(keys), days))
    for (key, offset), amount in sold.items():
        units_by_day[index[key], offset] += amount
    return SalesHistory(store, first, keys, units_by_day, names, counts, left_out)


def read_feed_stock(path: Path) -> list[tuple[str, float, int | None]]:
    """The (item key, on_hand, lead_time_days or None) of a catalog CSV's ``on_hand`` and
    optional ``lead_time_days`` columns (the key: the GTIN, else ``PLU<plu>``, as the
    catalog keys an item); rows without ``on_hand`` are skipped. ValueError names a bad
    value."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    try:
        return _stock_rows(path, csv.DictReader(text.splitlines()), [])
    except csv.Error as exc:
        raise ValueError(f"{path}: not valid CSV: {exc}") from None


def _stock_rows(path: Path, reader: csv.DictReader, rows: list
                ) -> list[tuple[str, float, int | None]]:
    for number, row in enumerate(reader, start=2):
        text = (row.get("on_hand") or "").strip()
        if not text:
            continue
        gtin, plu = (row.get("gtin") or "").strip(), (row.get("plu") or "").strip()
        key = gtin or (f"PLU{plu}" if plu else "")
        lead = (row.get("lead_time_days") or "").strip()
        try:
            on_hand = float(text)
            lead_days = int(lead) if lead else None
        except ValueError:
            raise ValueError(f"{path}: line {number}: on_hand {text!r} or lead_time_days"
                             f" {lead!r} is not a number") from None
        if (not key or not on_hand >= 0 or on_hand == float("inf")
                or (lead_days is not None and lead_days < 0)):
            raise ValueError(f"{path}: line {number}: an on_hand count needs the item's"
                             " gtin or plu, and a finite number not below 0")
        rows.append((key, on_hand, lead_days))
    return rows


def record_stock(conn: psycopg.Connection, store: str,
                 counts: list[tuple[str, float, int | None]],
                 counted_at: dt.datetime | None = None, source: str = "catalog") -> int:
    """Record stock counts (:func:`read_feed_stock`'s rows) of ``store``; how many."""
    counted_at = counted_at or dt.datetime.now(dt.UTC)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("INSERT INTO stock_counts (store_code, item_key, on_hand, counted_at,"
                        " lead_time_days, source) VALUES (%s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT (store_code, item_key, counted_at) DO UPDATE SET"
                        " on_hand = EXCLUDED.on_hand,"
                        " lead_time_days = EXCLUDED.lead_time_days",
                        [(store, key, on_hand, counted_at, lead, source)
                         for key, on_hand, lead in counts])
    return len(counts)
