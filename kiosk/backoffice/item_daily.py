"""Units sold per store, UTC day and item (table ``item_daily``, migration 006): the sales
summary the demand forecast reads (kiosk/backoffice/forecast_data.py), kept up to date from
the synced ``events`` by :func:`refresh`.

A sale is a lane's basket (a txn) replayed the way the checkout applies its rows, in one SQL
query (:data:`REPLAY_SQL`): ``item_added`` opens line N (N counts up from 1 in a session),
``quantity_changed`` sets its quantity, ``line_removed`` drops it; the basket's lines sell on
the UTC day of its first ``auth_approved``. Training sessions (txn prefix
:data:`kiosk.domain.training.TXN_PREFIX`) never count, nor a basket never paid, nor a basket
with a row the ingest flagged ``broken_chain`` (an edited or corrupted row: the whole basket
is left out and counted per day in ``item_daily_days.flagged_baskets``). A line sold by
weight counts its weight in kg.

Why a maintenance step and not the ingest: a basket's rows come in several batches (its
lines before, its payment after), and a flag may come later still; :func:`refresh` re-sums
whole store-days (and their sales by hour and payment method, table ``sale_daily``:
kiosk/backoffice/sale_daily.py, what the dashboard's sales figures read; their items and
promotions, ``line_daily``: kiosk/backoffice/line_daily.py, what the Items page reads).
Each lane has a watermark (its last seq and flag id summed): the rows and flags past it
name the baskets they belong to, the days those baskets were paid are summed again from
``events``, and the watermark moves on, in one transaction. So the ingest stays
as it was, a batch sent twice (its rows inserted once) or a refresh run twice changes
nothing, and the summary never holds half a basket. The back office service's maintenance
job calls :func:`refresh` (at start, then hourly: kiosk/backoffice/app.py); the forecast
(page and command) only reads the summary, and :func:`behind` says how much synced since.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from kiosk.backoffice import line_daily, sale_daily
from kiosk.backoffice.summary_marks import BEHIND_SQL, TOUCHED_SQL
from kiosk.domain.money import Currency
from kiosk.domain.training import TXN_PREFIX

#: advisory lock key held while refreshing (one refresh at a time; "itemday" in ASCII)
REFRESH_LOCK = 0x6974656D646179

#: units sold per item and paid day of the store's baskets paid on ``days`` (replayed from
#: the events of the day before the first of them to the last: a basket open at midnight),
#: and per item the units sold after its stock count (``ckeys``/``cts``: epoch seconds).
#: The rows with key NULL: per day, the paid baskets left out for a broken_chain flag.
REPLAY_SQL = """
WITH ev AS MATERIALIZED (
    SELECT lane_id, seq, ts, txn, type, day, data FROM events
    WHERE store_id = %(store)s AND day BETWEEN %(first)s::date - 1 AND %(until)s
      AND type IN ('item_added', 'quantity_changed', 'line_removed', 'auth_approved')
      AND txn IS NOT NULL AND NOT starts_with(txn, %(training)s)
), paid AS (
    SELECT * FROM (
        SELECT DISTINCT ON (lane_id, txn) lane_id, txn, seq, ts, day FROM ev
        WHERE type = 'auth_approved' ORDER BY lane_id, txn, seq) first_approval
    WHERE day = ANY(%(days)s::date[])
), flagged AS (
    SELECT DISTINCT e.lane_id, e.txn FROM flags f
    JOIN events e ON e.lane_id = f.lane_id AND e.seq = f.seq
    WHERE f.kind = 'broken_chain' AND e.store_id = %(store)s AND e.txn IS NOT NULL
      -- a basket's rows are minutes apart: its flagged row is within a day of its payment
      AND e.day BETWEEN %(first)s::date - 1 AND %(until)s::date + 1
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
SELECT s.key, s.day, sum(s.units), COALESCE(sum(s.units) FILTER (WHERE s.ts > c.ts), 0),
       (array_agg(s.names ORDER BY s.ts DESC))[1]
FROM sold s LEFT JOIN counted c ON c.key = s.key
GROUP BY s.key, s.day
UNION ALL
SELECT NULL, p.day, count(*), 0, NULL FROM paid p
WHERE EXISTS (SELECT 1 FROM flagged g WHERE g.lane_id = p.lane_id AND g.txn = p.txn)
GROUP BY p.day
"""


def replay(conn: psycopg.Connection, store_id: int, days: list[dt.date],
           counted: dict[str, float] | None = None
           ) -> list[tuple[str | None, dt.date, float, float, dict | None]]:
    """:data:`REPLAY_SQL` for the baskets of ``store_id`` paid on ``days``: rows (key or
    None, day, units, units sold after the key's count in ``counted`` (epoch s), names by
    locale as the lane sold it)."""
    counted = counted or {}
    keys = sorted(counted)
    with conn.transaction():
        # every join here is whole baskets against whole baskets: hash or merge joins. With
        # no statistics yet (a day's partition just filled) the planner guesses 1 row and
        # picks nested loops, quadratic in the baskets (40 s instead of 1 s for 120 days)
        conn.execute("SET LOCAL enable_nestloop = off")
        rows = conn.execute(REPLAY_SQL, {
            "store": store_id, "first": min(days), "until": max(days), "days": days,
            "training": TXN_PREFIX, "ckeys": keys,
            "cts": [counted[k] for k in keys]}).fetchall()
    return [(key, day, float(units), float(since), names)
            for key, day, units, since, names in rows]


@dataclass(frozen=True)
class Refreshed:
    rows: int                          # new event rows summed
    days: dict[int, list[dt.date]]     # store id -> the days summed again


_TOUCHED = "INSERT INTO item_daily_touched " + TOUCHED_SQL


def behind(conn: psycopg.Connection, store_id: int | None = None) -> int:
    """How many synced event rows (of ``store_id``'s lanes, default all) the summary does
    not hold yet, a lane with only new broken_chain flags counting 1: 0 when it is up to
    date. Reads only."""
    lanes = conn.execute(BEHIND_SQL, {"store": store_id}).fetchall()
    return sum(max(last - seq, 1) for _lane, seq, last, _f0, _f1 in lanes)


def refresh(conn: psycopg.Connection, currency: Currency | None = None) -> Refreshed:
    """Sum again the store-days of the baskets whose rows or broken_chain flags came in
    since the last refresh (see the module docstring), and those whose promotions
    :func:`line_daily.unpriced` names; one transaction. ``currency``: the store currency
    the Items page's promotions are priced in (default: the one the summary holds, else
    USD)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK,))
        lanes = conn.execute(BEHIND_SQL, {"store": None}).fetchall()
        money = currency or line_daily.summary_currency(conn)
        # days whose promotions were priced in another currency or before their version
        # was published: summed again though nothing synced touches them
        unpriced = line_daily.unpriced(conn, money)
        if not lanes and not unpriced:
            return Refreshed(0, {})
        # (inside a caller's open transaction an earlier refresh's table is still there)
        conn.execute("DROP TABLE IF EXISTS item_daily_touched")
        conn.execute("CREATE TEMP TABLE item_daily_touched (lane_id int, txn text,"
                     " first date, last date, rows bigint) ON COMMIT DROP")
        for lane in lanes:
            conn.execute(_TOUCHED, dict(zip(("lane", "seq0", "seq1", "flag0", "flag1"), lane,
                                            strict=True)))
        new_rows, first, last = conn.execute(
            "SELECT COALESCE(sum(rows), 0), min(first) - 1, max(last) + 1"
            " FROM item_daily_touched").fetchone()
        dirty: dict[int, list[dt.date]] = {}
        if first is not None:
            # the days those baskets were paid (a basket pays within minutes of its rows:
            # a day either side of them is searched; the bounds prune the day partitions)
            for store_id, day in conn.execute(
                    "SELECT DISTINCT a.store_id, a.day FROM events a"
                    " JOIN item_daily_touched t ON t.lane_id = a.lane_id AND t.txn = a.txn"
                    " WHERE a.type = 'auth_approved' AND a.day BETWEEN %s AND %s"
                    " ORDER BY 1, 2", (first, last)):
                dirty.setdefault(store_id, []).append(day)
        for store_id, day in unpriced:
            if day not in dirty.setdefault(store_id, []):
                dirty[store_id].append(day)
        for store_id, days in dirty.items():
            days.sort()
            _sum_days(conn, store_id, days, money)
        conn.execute(
            "INSERT INTO item_daily_watermark (lane_id, seq, flag_id)"
            " SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bigint[])"
            " ON CONFLICT (lane_id) DO UPDATE SET seq = EXCLUDED.seq,"
            " flag_id = EXCLUDED.flag_id",
            ([r[0] for r in lanes], [r[2] for r in lanes], [r[4] for r in lanes]))
    return Refreshed(int(new_rows), dirty)


def _runs(days: list[dt.date]) -> list[list[dt.date]]:
    """Sorted days cut into runs of consecutive days (each run replayed on its own: days
    far apart do not read the events between them)."""
    runs: list[list[dt.date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][-1]).days <= 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _sum_days(conn: psycopg.Connection, store_id: int, days: list[dt.date],
              money: Currency) -> None:
    runs = _runs(days)
    rows = [row for run in runs for row in replay(conn, store_id, run)]
    for run in runs:
        sale_daily.sum_days(conn, store_id, run)
        line_daily.sum_days(conn, store_id, run, money)
    conn.execute("DELETE FROM item_daily WHERE store_id = %s AND day = ANY(%s)",
                 (store_id, days))
    flagged = {day: int(units) for key, day, units, _, _ in rows if key is None}
    with conn.cursor() as cur:
        with cur.copy("COPY item_daily (store_id, day, item_key, units, names)"
                      " FROM STDIN") as copy:
            for key, day, units, _, names in rows:
                if key is not None:
                    copy.write_row((store_id, day, key, units, Jsonb(names)))
        cur.executemany(
            "INSERT INTO item_daily_days (store_id, day, flagged_baskets) VALUES (%s, %s, %s)"
            " ON CONFLICT (store_id, day) DO UPDATE SET"
            " flagged_baskets = EXCLUDED.flagged_baskets, refreshed_at = now()",
            [(store_id, day, flagged.get(day, 0)) for day in days])
