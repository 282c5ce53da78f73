"""The dashboard's sales per store, UTC day and hour, payment method and card brand (table
``sale_daily``, migration 007): what the Today and Sales pages sum
(kiosk/backoffice/web/reports.py), so that a long range reads a few rows a day instead of
every payment event of it.

A sale is :data:`SALES`: an ``auth_approved`` with its ``auth_requested`` (same lane, txn
and stan) giving the amount and method, training sessions and rows the ingest flagged
``broken_chain`` left out; the one definition the reports and this summary share.

The summary is item_daily's: :func:`kiosk.backoffice.item_daily.refresh` (the back office's
maintenance job) calls :func:`sum_days` for the store-days it sums again, in its
transaction, under its watermark, and marks them in ``item_daily_days``. A report reads the
summary for the store-days marked there that nothing synced since touches
(:func:`stale_days`: the days a basket of a row or flag past the watermark was paid) and
the events for the rest, so its figures are the events' whether or not the job has run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from kiosk.backoffice.summary_marks import BEHIND_SQL, TOUCHED_SQL
from kiosk.domain.training import TXN_PREFIX

#: sales rows: one per approved, non-training, unflagged payment of [first, last] (and of
#: ``%(days)s`` only, unless NULL; ``%(evdays)s``: the days of events read, NULL: all of
#: [first - 1, last]). Only the types asked for (``%(types)s``) are read, each row's JSON
#: parsed once, and the flagged rows left out by a hashed anti-join (a year's store holds
#: millions of events)
SALES = """
WITH ev AS MATERIALIZED (
  SELECT e.store_id, e.lane_id, e.seq, e.day, e.ts, e.type, e.txn, e.data::jsonb AS d
  FROM events e
  WHERE e.day BETWEEN %(first)s::date - 1 AND %(last)s
    AND (%(evdays)s::date[] IS NULL OR e.day = ANY(%(evdays)s::date[]))
    AND e.type = ANY(%(types)s::text[])
    AND (%(stores)s::int[] IS NULL OR e.store_id = ANY(%(stores)s::int[]))
    AND e.txn IS NOT NULL AND NOT starts_with(e.txn, %(train)s)
    AND (e.lane_id, e.seq) NOT IN (SELECT f.lane_id, f.seq FROM flags f
                                   WHERE f.kind = 'broken_chain')
), req AS MATERIALIZED (
  SELECT lane_id, txn, (d->>'stan')::bigint AS stan,
         (d->>'amount')::bigint AS amount, d->>'method' AS method
  FROM ev WHERE type = 'auth_requested'
), sales AS MATERIALIZED (
  SELECT a.store_id, a.lane_id, a.txn, a.ts, a.day,
         r.amount, r.method, a.d->'card'->>'brand' AS brand
  FROM ev a JOIN req r ON r.lane_id = a.lane_id AND r.txn = a.txn
                      AND r.stan = (a.d->>'stan')::bigint
  WHERE a.type = 'auth_approved' AND a.day BETWEEN %(first)s AND %(last)s
    AND (%(days)s::date[] IS NULL OR a.day = ANY(%(days)s::date[]))
)
"""

#: the event types the sales rows are made of
SALE_TYPES = ["auth_requested", "auth_approved"]

#: :data:`SALES` summed as ``sale_daily`` holds them
BY_HOUR = SALES + """
SELECT store_id, day, extract(hour FROM to_timestamp(ts) AT TIME ZONE 'UTC')::int,
       method, COALESCE(brand, ''), count(*), sum(amount)
FROM sales GROUP BY 1, 2, 3, 4, 5
"""


def sales_args(stores: list[int] | None, first: dt.date, last: dt.date,
               days: list[dt.date] | None = None) -> dict[str, Any]:
    """:data:`SALES`'s parameters: the sales of ``stores`` (None: all) paid on [first, last]
    (and on ``days`` only, when given: then only their events and the day before's are
    read)."""
    evdays = None if days is None else sorted(
        {d for day in days for d in (day, day - dt.timedelta(days=1))})
    return {"stores": stores, "first": first, "last": last, "train": TXN_PREFIX,
            "types": SALE_TYPES, "days": days, "evdays": evdays}


def sum_days(conn: psycopg.Connection, store_id: int, days: list[dt.date]) -> None:
    """Sum again ``store_id``'s sales paid on ``days`` (consecutive days: one read of their
    events) into ``sale_daily``; in the caller's transaction (item_daily's refresh)."""
    conn.execute("DELETE FROM sale_daily WHERE store_id = %s AND day = ANY(%s)",
                 (store_id, days))
    with conn.transaction():
        conn.execute("SET LOCAL enable_nestloop = off")  # as the reports (reports._execute)
        conn.execute("SET LOCAL jit = off")
        conn.execute("INSERT INTO sale_daily (store_id, day, hour, method, brand, sales,"
                     " amount) " + BY_HOUR,
                     sales_args([store_id], min(days), max(days), days))


async def stale_days(conn: Any, stores: list[int] | None, first: dt.date,
                     last: dt.date) -> set[tuple[int, dt.date]]:
    """The store-days of [first, last] (of ``stores``, None: all) whose sales ``sale_daily``
    does not hold as the events do: not summed yet, or a basket paid on it has a row or a
    broken_chain flag synced since (the days :func:`item_daily.refresh` would sum again).
    Reads only; ``conn`` is an async connection."""
    if stores == []:
        return set()
    scope = {"stores": stores, "first": first, "last": last}
    cur = await conn.execute(
        "SELECT s.id, %(first)s::date + i FROM stores s,"
        " generate_series(0, %(last)s::date - %(first)s::date) i"
        " WHERE %(stores)s::int[] IS NULL OR s.id = ANY(%(stores)s::int[])"
        " EXCEPT SELECT store_id, day FROM item_daily_days"
        " WHERE day BETWEEN %(first)s AND %(last)s", scope)
    stale = {(s, d) for s, d in await cur.fetchall()}
    if not await _summed_stores(conn, stores, first, last):
        return stale  # nothing summed in range (before the first refresh): all from events
    one = stores[0] if stores is not None and len(stores) == 1 else None
    cur = await conn.execute(BEHIND_SQL, {"store": one})
    touched: list[tuple[int, str, dt.date, dt.date, int]] = []
    for lane in await cur.fetchall():
        params = dict(zip(("lane", "seq0", "seq1", "flag0", "flag1"), lane, strict=True))
        # every row past the watermark, those synced since this read began included
        params["seq1"] = 2 ** 62
        params["flag1"] = 2 ** 62
        touched += await (await conn.execute(TOUCHED_SQL, params)).fetchall()
    if touched:
        cur = await conn.execute(
            "SELECT DISTINCT a.store_id, a.day FROM events a"
            " JOIN unnest(%(lanes)s::int[], %(txns)s::text[]) t(lane_id, txn)"
            "  ON t.lane_id = a.lane_id AND t.txn = a.txn"
            " WHERE a.type = 'auth_approved' AND a.day BETWEEN %(lo)s AND %(hi)s"
            "  AND a.day BETWEEN %(first)s AND %(last)s"
            "  AND (%(stores)s::int[] IS NULL OR a.store_id = ANY(%(stores)s::int[]))",
            {**scope, "lanes": [t[0] for t in touched], "txns": [t[1] for t in touched],
             "lo": min(t[2] for t in touched) - dt.timedelta(days=1),
             "hi": max(t[3] for t in touched) + dt.timedelta(days=1)})
        stale |= {(s, d) for s, d in await cur.fetchall()}
    return stale


async def _summed_stores(conn: Any, stores: list[int] | None, first: dt.date,
                         last: dt.date) -> set[int]:
    """The stores in scope with a store-day of [first, last] summed."""
    cur = await conn.execute(
        "SELECT DISTINCT store_id FROM item_daily_days WHERE day BETWEEN %(first)s AND %(last)s"
        " AND (%(stores)s::int[] IS NULL OR store_id = ANY(%(stores)s::int[]))",
        {"stores": stores, "first": first, "last": last})
    return {r[0] for r in await cur.fetchall()}
