"""The Items page's figures per store and UTC day (tables ``line_daily`` and
``promotion_daily``, migration 008): the items sold and what the basket promotions gave
away, so that a long range sums a few rows a day instead of replaying every basket of it
(kiosk/backoffice/web/reports.py: ``items``, ``promotions``).

A basket counts on the day of its sale (:data:`sale_daily.SALES`: its approved payment, the
day the reports already give it); its lines are :data:`LINES` (``item_added`` at its last
``quantity_changed`` quantity, minus ``line_removed``; training and flagged rows left out),
read from the events of its day and the day before (a basket paid after midnight). Its
promotions are those of the catalog version its lane had in place at the sale (its last
``catalog_applied`` before it; before any, version 1), priced again with the lane's own
:func:`kiosk.domain.pricing.promotion_discounts` (:func:`priced`).

The summary is item_daily's, as sale_daily's is: :func:`kiosk.backoffice.item_daily.refresh`
calls :func:`sum_days` for the store-days it sums again, in its transaction, under its
watermark; a report reads the store-days :func:`sale_daily.stale_days` does not name (and,
for promotions, :func:`unpriced_days` does not) and the events for the rest, with the same
queries and the same :func:`priced`, so its figures are the events' whether or not the job
has run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import psycopg

from kiosk.backoffice import sale_daily
from kiosk.domain.money import Currency, currency_for
from kiosk.domain.pricing import PricedLine, promotion_discounts
from kiosk.domain.rules import PromotionConfig

#: the basket lines' event types (the sales': :data:`sale_daily.SALE_TYPES`)
LINE_TYPES = ["item_added", "quantity_changed", "line_removed"]

#: the lines of the baskets of :data:`sale_daily.SALES`
LINES = sale_daily.SALES + """
, added AS (
  SELECT e.lane_id, e.txn, e.d->'line' AS line,
         row_number() OVER (PARTITION BY e.lane_id, e.txn ORDER BY e.seq) AS line_id
  FROM ev e JOIN (SELECT DISTINCT lane_id, txn FROM sales) p USING (lane_id, txn)
  WHERE e.type = 'item_added'
), qty AS MATERIALIZED (
  SELECT DISTINCT ON (lane_id, txn, (d->>'line_id')::bigint)
         lane_id, txn, (d->>'line_id')::bigint AS line_id,
         (d->>'qty')::bigint AS qty
  FROM ev WHERE type = 'quantity_changed'
  ORDER BY lane_id, txn, (d->>'line_id')::bigint, seq DESC
), removed AS MATERIALIZED (
  SELECT lane_id, txn, (d->>'line_id')::bigint AS line_id
  FROM ev WHERE type = 'line_removed'
), lines AS (
  SELECT a.lane_id, a.txn, a.line, a.line->>'key' AS key, a.line->'names' AS names,
         COALESCE(q.qty, 1) AS qty,
         COALESCE((a.line->>'price_minor')::bigint,
                  (a.line->>'unit_price_minor')::bigint * COALESCE(q.qty, 1)) AS amount
  FROM added a
  LEFT JOIN qty q USING (lane_id, txn, line_id)
  WHERE NOT EXISTS (SELECT 1 FROM removed r WHERE r.lane_id = a.lane_id
                    AND r.txn = a.txn AND r.line_id = a.line_id)
), basket AS MATERIALIZED (
  SELECT DISTINCT ON (lane_id, txn) lane_id, txn, store_id, day, ts FROM sales
  ORDER BY lane_id, txn, ts
)
"""

#: (store, day, item key, names as last sold that day, quantity, line takings): what
#: ``line_daily`` holds
BY_ITEM = LINES + """
SELECT b.store_id, b.day, l.key,
       (array_agg(l.names ORDER BY b.ts DESC, l.lane_id DESC, l.txn DESC))[1],
       sum(l.qty), sum(l.amount)
FROM lines l JOIN basket b USING (lane_id, txn) GROUP BY 1, 2, 3
"""

#: (lane, txn, store, day, sale time, item key, unit price, tax class, weight (g), price,
#: quantity) of every line sold, a basket's together: what pricing needs of the line (the
#: whole line, its names in every locale, costs more to send than to price)
BASKET_LINES = LINES + """
SELECT l.lane_id, l.txn, b.store_id, b.day, b.ts, l.key,
       (l.line->>'unit_price_minor')::bigint, l.line->>'tax_class',
       (l.line->>'weight_g')::bigint, (l.line->>'price_minor')::bigint, l.qty
FROM lines l JOIN basket b USING (lane_id, txn) ORDER BY l.lane_id, l.txn
"""

#: (lane, time, version) of the lanes' catalog_applied up to %(last)s (index
#: events_catalog_applied), flagged rows left out, by lane and time
APPLIED = """
SELECT e.lane_id, e.ts, (e.data::jsonb->>'version')::int FROM events e
WHERE e.type = 'catalog_applied' AND e.day <= %(last)s
  AND (%(stores)s::int[] IS NULL OR e.store_id = ANY(%(stores)s::int[]))
  AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.lane_id = e.lane_id
                  AND f.seq = e.seq AND f.kind = 'broken_chain')
ORDER BY e.lane_id, e.ts
"""

#: the promotions of (store id, version) pairs held (``%s``: the ids, the versions)
SNAPSHOTS = """
SELECT s.id, c.version, c.body::jsonb->'promotions' FROM catalog_snapshots c
JOIN stores s ON s.code = c.store_code
WHERE (s.id, c.version) IN (SELECT * FROM unnest(%s::int[], %s::int[]))
"""

#: promotion_daily's promotion id for baskets under a version without a snapshot
UNKNOWN = ""

#: (store id, day, version, promotion id) -> [baskets discounted, units, given away]
Priced = dict[tuple[int, dt.date, int, str], list[int]]


def args(stores: list[int] | None, first: dt.date, last: dt.date,
         days: list[dt.date] | None = None) -> dict[str, Any]:
    """:data:`LINES`'s parameters (:func:`sale_daily.sales_args`, the line types too)."""
    got = sale_daily.sales_args(stores, first, last, days)
    return {**got, "types": got["types"] + LINE_TYPES}


def baskets(rows: Iterable[tuple]) -> dict[tuple[int, str], tuple[int, dt.date, float,
                                                                 list[PricedLine]]]:
    """:data:`BASKET_LINES` rows as (lane, txn) -> (store, day, sale time, priced lines)."""
    out: dict[tuple[int, str], tuple[int, dt.date, float, list[PricedLine]]] = {}
    for lane, txn, store, day, ts, key, unit, tax, weight, price, qty in rows:
        got = out.setdefault((lane, txn), (store, day, ts, []))
        got[3].append(PricedLine(key, unit, tax, qty, weight, price))
    return out


def version_at(applied: dict[int, list[tuple[float, int]]], lane: int, ts: float) -> int:
    """The catalog version ``lane`` had in place at ``ts``: its last catalog_applied by then
    (``applied``: :data:`APPLIED` rows by lane), before any 1."""
    got = 1
    for t, v in applied.get(lane, []):  # by time
        if t > ts:
            break
        got = v
    return got


def priced(sold: dict[tuple[int, str], tuple[int, dt.date, float, list[PricedLine]]],
           applied: dict[int, list[tuple[float, int]]],
           promos: dict[tuple[int, int], list[PromotionConfig]],
           money: Currency) -> Priced:
    """Each basket of ``sold`` priced again with the promotions of the version its lane had
    then (``promos`` by (store, version); a version missing from it counts its baskets under
    :data:`UNKNOWN`): summed per store, day, version and promotion, every promotion in
    effect counted (a promotion that gave nothing still had its units sold)."""
    out: Priced = {}
    for (lane, _), (store, day, ts, lines) in sold.items():
        version = version_at(applied, lane, ts)
        in_effect = promos.get((store, version))
        if in_effect is None:
            out.setdefault((store, day, version, UNKNOWN), [0, 0, 0])[0] += 1
            continue
        given = {d.promotion_id: d.amount
                 for d in promotion_discounts(lines, in_effect, money)}
        for p in in_effect:
            got = out.setdefault((store, day, version, p.id), [0, 0, 0])
            amount = given.get(p.id, 0)
            got[0] += amount > 0
            got[1] += sum(ln.qty for ln in lines if ln.countable and ln.key in p.gtins)
            got[2] += amount
    return out


def by_lane(rows: Iterable[tuple[int, float, int]]) -> dict[int, list[tuple[float, int]]]:
    out: dict[int, list[tuple[float, int]]] = {}
    for lane, ts, version in rows:
        out.setdefault(lane, []).append((ts, version))
    return out


def snapshot_args(sold: dict[tuple[int, str], tuple[int, dt.date, float, list[PricedLine]]],
                  applied: dict[int, list[tuple[float, int]]]) -> tuple[list[int], list[int]]:
    """:data:`SNAPSHOTS`'s parameters: the (store, version) pairs of ``sold``'s baskets."""
    wanted = sorted({(store, version_at(applied, lane, ts))
                     for (lane, _), (store, _, ts, _) in sold.items()})
    return [s for s, _ in wanted], [v for _, v in wanted]


def promotions_of(rows: Iterable[tuple[int, int, list]]) -> dict[tuple[int, int],
                                                                 list[PromotionConfig]]:
    """:data:`SNAPSHOTS` rows as (store, version) -> its promotions."""
    return {(s, v): [PromotionConfig.model_validate(p) for p in body or []]
            for s, v, body in rows}


def _fast(conn: psycopg.Connection) -> None:
    conn.execute("SET LOCAL enable_nestloop = off")  # as the reports (reports._execute)
    conn.execute("SET LOCAL jit = off")


def sum_days(conn: psycopg.Connection, store_id: int, days: list[dt.date],
             money: Currency) -> None:
    """Sum again ``store_id``'s items and promotions of the baskets paid on ``days``
    (consecutive days: one read of their events) into ``line_daily`` and
    ``promotion_daily``; in the caller's transaction (item_daily's refresh)."""
    for table in ("line_daily", "promotion_daily"):
        conn.execute(f"DELETE FROM {table} WHERE store_id = %s AND day = ANY(%s)",
                     (store_id, days))
    scope = args([store_id], min(days), max(days), days)
    with conn.transaction():
        _fast(conn)
        conn.execute("INSERT INTO line_daily (store_id, day, item_key, names, qty, amount) "
                     + BY_ITEM, scope)
        sold = baskets(conn.execute(BASKET_LINES, scope).fetchall())
        if not sold:
            return
        applied = by_lane(conn.execute(APPLIED, scope).fetchall())
        promos = promotions_of(conn.execute(SNAPSHOTS, snapshot_args(sold, applied)))
    rows = priced(sold, applied, promos, money)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO promotion_daily (store_id, day, version, promotion_id, currency,"
            " baskets, units, given) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(*key, money.code, *got) for key, got in rows.items()])


def summary_currency(conn: psycopg.Connection, default: str = "USD") -> Currency:
    """The currency the summary's promotions were priced in (the latest day's), else
    ``default``: what a refresh not told the store currency prices in."""
    row = conn.execute("SELECT currency FROM promotion_daily ORDER BY day DESC"
                       " LIMIT 1").fetchone()
    return currency_for(row[0] if row else default)


#: the store-days of [first, last] (of ``stores``, NULL: all) whose ``promotion_daily``
#: rows are not the events' figures in currency ``code``: priced in another currency, or
#: under a version the back office has published since
UNPRICED = """
SELECT DISTINCT p.store_id, p.day FROM promotion_daily p
WHERE p.day BETWEEN %(first)s AND %(last)s
  AND (%(stores)s::int[] IS NULL OR p.store_id = ANY(%(stores)s::int[]))
  AND (p.currency <> %(code)s OR (p.promotion_id = '' AND EXISTS (
       SELECT 1 FROM catalog_snapshots c JOIN stores s ON s.code = c.store_code
       WHERE s.id = p.store_id AND c.version = p.version)))
"""


def unpriced(conn: psycopg.Connection, money: Currency) -> list[tuple[int, dt.date]]:
    """:data:`UNPRICED` over every store and day: what the refresh sums again."""
    return conn.execute(UNPRICED, {"stores": None, "first": dt.date.min,
                                   "last": dt.date.max, "code": money.code}).fetchall()


async def unpriced_days(conn: Any, stores: list[int] | None, first: dt.date, last: dt.date,
                        money: Currency) -> set[tuple[int, dt.date]]:
    """:data:`UNPRICED`: the days a page in ``money`` prices from the events until the
    refresh sums them again. Reads only; ``conn`` is an async connection."""
    cur = await conn.execute(UNPRICED, {"stores": stores, "first": first, "last": last,
                                        "code": money.code})
    return {(s, d) for s, d in await cur.fetchall()}
