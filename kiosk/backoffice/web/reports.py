"""The dashboard's figures, by SQL over the back office's ``events`` (UTC days and hours,
as the events' own ``day`` column).

A **sale** is what :mod:`kiosk.journal.figures` says it is on the lane: an ``auth_approved``
with its ``auth_requested`` (same lane, txn and stan) giving the amount and method. Left
out everywhere: training sessions (txn prefix :data:`kiosk.domain.training.TXN_PREFIX`)
and rows the ingest flagged ``broken_chain`` (docs/backoffice.md: reports exclude them).
Items sold are the ``item_added`` lines of sold baskets, at their last
``quantity_changed`` quantity, minus ``line_removed`` lines; a line's amount is its weighed
price or unit price x quantity (before basket promotions). Card data never leaves here
beyond the brand.

Every function takes the stores in scope (their ids; None: the whole chain) and returns
plain rows; :mod:`.pages` turns them into tables and charts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kiosk.backoffice import line_daily, sale_daily
from kiosk.domain.money import Currency


@dataclass(frozen=True)
class Glance:
    sales: int          # baskets paid
    amount: int         # minor units
    average: int        # amount / sales, rounded half up (0 when no sale)


async def _execute(conn: Any, sql: str, args: Any) -> Any:
    """A report's query (its cursor), with nested loops off: PostgreSQL estimates the CTEs'
    rows far too low (filters on JSON fields), and a nested loop over a store's year of
    events takes minutes where a hash join takes a second (docs/backoffice.md). JIT off:
    a plan that cannot avoid a nested loop (a set-returning function over a row) then costs
    more than ``jit_above_cost`` many times over, and compiling its expressions for each day
    partition of a long range took 10-30 s of a page that runs in under a second without."""
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_nestloop = off")
        await conn.execute("SET LOCAL jit = off")
        return await conn.execute(sql, args)


def average(amount: int, count: int) -> int:
    """An average basket in minor units, rounded half up (exact integers)."""
    return (2 * amount + count) // (2 * count) if count else 0


async def _sales(conn: Any, stores: list[int] | None, first: dt.date, last: dt.date
                 ) -> list[tuple[dt.date, int, str | None, str, int, int]]:
    """(day, hour, method, card brand or "", sales, amount) of [first, last]: from the daily
    summary (kiosk/backoffice/sale_daily.py) where it holds the events' figures, from the
    events for the store-days it does not (:func:`sale_daily.stale_days`)."""
    stale = await sale_daily.stale_days(conn, stores, first, last)
    rows = await _summary_rows(
        conn, "SELECT store_id, day, hour, method, brand, sales, amount FROM sale_daily",
        stores, first, last, stale)
    if stale:
        days = sorted({d for _, d in stale})
        cur = await _execute(conn, sale_daily.BY_HOUR, sale_daily.sales_args(
            sorted({s for s, _ in stale}), days[0], days[-1], days))
        rows += [r for r in await cur.fetchall() if (r[0], r[1]) in stale]
    return [(d, h, m, b, n, int(a)) for _, d, h, m, b, n, a in rows]


def _summed(rows: list[tuple[dt.date, int, str | None, str, int, int]],
            key: Any) -> dict[Any, tuple[int, int]]:
    """(sales, amount) of :func:`_sales` rows by ``key(day, hour, method, brand)``; rows
    whose key is None are left out."""
    out: dict[Any, tuple[int, int]] = {}
    for day, hour, method, brand, n, amount in rows:
        k = key(day, hour, method, brand)
        if k is not None:
            got = out.get(k, (0, 0))
            out[k] = (got[0] + n, got[1] + amount)
    return out


async def glance(conn: Any, stores: list[int] | None, first: dt.date,
                 last: dt.date) -> Glance:
    rows = await _sales(conn, stores, first, last)
    count, amount = sum(r[4] for r in rows), sum(r[5] for r in rows)
    return Glance(count, amount, average(amount, count))


async def payment_mix(conn: Any, stores: list[int] | None, first: dt.date,
                      last: dt.date) -> list[tuple[str, str, int, int]]:
    """(method, card brand or "", sales, amount), largest amount first."""
    mix = _summed(await _sales(conn, stores, first, last), lambda _d, _h, m, b: (m, b))
    return sorted(((m, b, n, a) for (m, b), (n, a) in mix.items()),
                  key=lambda r: (-r[3], r[0] is None, r[0] or "", r[1]))


#: the longest range a page or CSV covers (a quarter): longer ones are refused (400)
MAX_DAYS = 92


def before(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The period a range is compared with: as long, on the same weekdays, as many whole
    weeks earlier as it takes not to overlap (a day or a week: the week before)."""
    weeks = -(-((last - first).days + 1) // 7)
    shift = dt.timedelta(days=7 * weeks)
    return first - shift, last - shift


async def by_hour(conn: Any, stores: list[int] | None, first: dt.date,
                  last: dt.date) -> list[tuple[int, int, int, int, int]]:
    """(hour 0-23, sales, amount, sales in the period before, amount in the period before)
    over the days of [first, last] (:func:`before`)."""
    first0, last0 = before(first, last)
    table = _summed(await _sales(conn, stores, first0, last),
                    lambda d, h, _m, _b: (d >= first, h) if d <= last0 or d >= first else None)
    return [(h, *table.get((True, h), (0, 0)), *table.get((False, h), (0, 0)))
            for h in range(24)]


async def by_day(conn: Any, stores: list[int] | None, first: dt.date,
                 last: dt.date) -> list[tuple[dt.date, int, int, int, int]]:
    """(day, sales, amount, sales and amount of the same weekday in the period before
    (:func:`before`)) for each day of [first, last]."""
    first0, _ = before(first, last)
    shift = first - first0
    table = _summed(await _sales(conn, stores, first0, last), lambda d, _h, _m, _b: d)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [(d, *table.get(d, (0, 0)), *table.get(d - shift, (0, 0))) for d in days]


async def _summary_rows(conn: Any, select: str, stores: list[int] | None, first: dt.date,
                        last: dt.date, stale: set[tuple[int, dt.date]]) -> list[Any]:
    """The rows of ``select`` (``SELECT store_id, day, … FROM`` a daily summary) of
    [first, last] and ``stores`` (None: all), but those of the store-days ``stale`` (read
    from the events instead)."""
    cur = await conn.execute(
        select + " WHERE day BETWEEN %(first)s AND %(last)s"
        " AND (%(stores)s::int[] IS NULL OR store_id = ANY(%(stores)s::int[]))",
        {"stores": stores, "first": first, "last": last})
    return [r for r in await cur.fetchall() if (r[0], r[1]) not in stale]


async def _stale_rows(conn: Any, stale: set[tuple[int, dt.date]], sql: str) -> list[Any]:
    """The rows of ``sql`` (a :data:`line_daily.LINES` query) for the store-days ``stale``,
    read from their events (and their days before)."""
    if not stale:
        return []
    days = sorted({d for _, d in stale})
    cur = await _execute(conn, sql, line_daily.args(sorted({s for s, _ in stale}), days[0],
                                                    days[-1], days))
    return list(await cur.fetchall())


async def items(conn: Any, stores: list[int] | None, first: dt.date,
                last: dt.date) -> list[tuple[str, dict[str, str], int, int]]:
    """(item key, names by locale as last sold, quantity, amount) of every item sold, best
    first (amount, then quantity, then key): from the daily summary
    (kiosk/backoffice/line_daily.py) where it holds the events' figures, from the events for
    the store-days it does not (:func:`sale_daily.stale_days`)."""
    stale = await sale_daily.stale_days(conn, stores, first, last)
    rows = await _summary_rows(
        conn, "SELECT store_id, day, item_key, names, qty, amount FROM line_daily",
        stores, first, last, stale)
    rows += [r for r in await _stale_rows(conn, stale, line_daily.BY_ITEM)
             if (r[0], r[1]) in stale]
    sold: dict[str, list[Any]] = {}
    for _, _, key, names, qty, amount in sorted(rows, key=lambda r: (r[1], r[0])):
        got = sold.setdefault(key, [None, 0, 0])
        got[0] = names  # the latest day's (then store's)
        got[1] += int(qty)
        got[2] += int(amount)
    return sorted(((k, n or {}, q, a) for k, (n, q, a) in sold.items()),
                  key=lambda r: (-r[3], -r[2], r[0]))


@dataclass
class PromotionEffect:
    """One promotion over a period and the period before (:func:`before`): the baskets it
    discounted, the units of its items sold while it was in effect, what it gave away."""

    id: str
    names: dict[str, str]
    baskets: int = 0
    units: int = 0
    given: int = 0          # minor units
    baskets_before: int = 0
    units_before: int = 0
    given_before: int = 0


async def promotions(conn: Any, stores: list[int] | None, first: dt.date, last: dt.date,
                     currency: Currency) -> list[PromotionEffect]:
    """What each basket promotion gave away over [first, last] and the period before.

    The journal keeps a sold basket's lines, not its discounts: each basket is priced again
    with the lane's own function (:func:`kiosk.domain.pricing.promotion_discounts`) and the
    promotions the lane had in place then: those of the catalog version its last
    ``catalog_applied`` before the sale named (before any, the store's first version, which
    holds the promotions the lanes are configured with; kiosk/backoffice/catalog.py):
    :func:`line_daily.priced`, summed per day by the refresh (``promotion_daily``) and read
    from there for the store-days it holds as the events would give them, priced from the
    events for the rest. Largest amount given away first."""
    first0, last0 = before(first, last)
    scope = {"stores": stores, "first": first0, "last": last}
    cur = await _execute(conn,
        "SELECT EXISTS (SELECT 1 FROM catalog_snapshots c JOIN stores s ON s.code = c.store_code"
        " WHERE %(stores)s::int[] IS NULL OR s.id = ANY(%(stores)s::int[]))", scope)
    if not (await cur.fetchone())[0]:  # no catalog published: no promotion known
        return []
    stale = (await sale_daily.stale_days(conn, stores, first0, last)
             | await line_daily.unpriced_days(conn, stores, first0, last, currency))
    rows = [(s, d, v, p, [int(b), int(u), int(g)]) for s, d, v, p, b, u, g
            in await _summary_rows(
                conn, "SELECT store_id, day, version, promotion_id, baskets, units, given"
                " FROM promotion_daily", stores, first0, last, stale)]
    sold = line_daily.baskets(await _stale_rows(conn, stale, line_daily.BASKET_LINES))
    sold = {k: b for k, b in sold.items() if (b[0], b[1]) in stale}
    if sold:
        cur = await _execute(conn, line_daily.APPLIED, {**scope, "stores": sorted(
            {b[0] for b in sold.values()}), "last": max(b[1] for b in sold.values())})
        applied = line_daily.by_lane(await cur.fetchall())
        cur = await conn.execute(line_daily.SNAPSHOTS, line_daily.snapshot_args(sold, applied))
        priced = line_daily.priced(sold, applied,
                                   line_daily.promotions_of(await cur.fetchall()), currency)
        rows += [(*k, got) for k, got in priced.items()]
    rows = [r for r in rows if r[3] != line_daily.UNKNOWN]
    wanted = sorted({(s, v) for s, _, v, _, _ in rows})
    cur = await conn.execute(line_daily.SNAPSHOTS, ([s for s, _ in wanted],
                                                    [v for _, v in wanted]))
    promos = line_daily.promotions_of(await cur.fetchall())
    effects: dict[str, PromotionEffect] = {}
    for _, ps in sorted(promos.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        for p in ps:  # the latest version's names win
            effects[p.id] = PromotionEffect(p.id, dict(p.name))
    for _, day, _, pid, (baskets, units, given) in rows:
        if last0 < day < first:  # between the two periods
            continue
        e = effects[pid]
        if day >= first:
            e.baskets += baskets
            e.units += units
            e.given += given
        else:
            e.baskets_before += baskets
            e.units_before += units
            e.given_before += given
    return sorted(effects.values(), key=lambda e: (-e.given, -e.given_before, e.id))


async def lanes(conn: Any, stores: list[int] | None) -> list[tuple[str, str, int, Any, Any]]:
    """(store, lane, acked seq, last event time (epoch s) or None, last sync) per lane."""
    cur = await conn.execute(
        "SELECT s.code, l.name, c.last_seq,"
        " (SELECT max(e.ts) FROM events e WHERE e.lane_id = l.id AND e.seq = c.last_seq),"
        " c.updated_at FROM lanes l JOIN stores s ON s.id = l.store_id"
        " JOIN lane_chain c ON c.lane_id = l.id"
        " WHERE %(stores)s::int[] IS NULL OR l.store_id = ANY(%(stores)s::int[])"
        " ORDER BY 1, 2", {"stores": stores})
    return list(await cur.fetchall())


async def store_ids(conn: Any, code: str | None) -> list[int] | None:
    """The ids in scope of a store code (None: the whole chain); [] for an unknown code."""
    if code is None:
        return None
    row = await (await conn.execute("SELECT id FROM stores WHERE code = %s", (code,))).fetchone()
    return [row[0]] if row else []


async def store_codes(conn: Any) -> list[str]:
    return [r[0] for r in await (await conn.execute(
        "SELECT code FROM stores ORDER BY code")).fetchall()]


#: the events of [first, last] in scope, training and broken-chain rows left out
_EVENTS = """
WITH ev AS MATERIALIZED (
  SELECT e.lane_id, e.txn, e.seq, e.ts, e.type, e.data::jsonb AS d FROM events e
  WHERE e.day BETWEEN %(first)s AND %(last)s AND e.type = ANY(%(types)s::text[])
    AND (%(stores)s::int[] IS NULL OR e.store_id = ANY(%(stores)s::int[]))
    AND e.txn IS NOT NULL AND NOT starts_with(e.txn, %(train)s)
    AND (e.lane_id, e.seq) NOT IN (SELECT f.lane_id, f.seq FROM flags f
                                   WHERE f.kind = 'broken_chain')
)
"""


def _of(stores: list[int] | None, first: dt.date, last: dt.date,
        types: list[str]) -> dict[str, Any]:
    return {**sale_daily.sales_args(stores, first, last), "types": types}


async def problems(conn: Any, stores: list[int] | None, first: dt.date,
                   last: dt.date) -> list[tuple[str, str, int]]:
    """(kind, reason, count): payments declined (by the message the shopper saw), failed
    (no answer from the host, by reason), reversals (ok / failed)."""
    cur = await _execute(conn, _EVENTS + """
        SELECT 'declined', d->>'message_key', count(*) FROM ev WHERE type = 'auth_declined'
        GROUP BY 2
        UNION ALL SELECT 'failed', d->>'reason', count(*) FROM ev WHERE type = 'auth_failed'
        GROUP BY 2
        UNION ALL SELECT 'reversal', CASE WHEN (d->>'ok')::boolean THEN 'ok' ELSE 'failed' END,
               count(*) FROM ev WHERE type = 'reversal_result' GROUP BY 2
        ORDER BY 1, 3 DESC, 2""",
        _of(stores, first, last, ["auth_declined", "auth_failed", "reversal_result"]))
    return [(k, r or "", n) for k, r, n in await cur.fetchall()]


async def interventions(conn: Any, stores: list[int] | None, first: dt.date,
                        last: dt.date) -> list[tuple[str, int, float | None]]:
    """(cause, count, median seconds to serve) of the times a shopper needed a person: help
    asked, an age check approved, a bagging alert (by kind), a line voided by staff, an
    unknown barcode. Time to serve, in the same basket: help, from the call to the first
    staff sign-in, clear or station command after it; an age check, from the last scan
    before its approval (the restricted item: the lane takes no scan while it waits); a
    bagging alert, from the alert to the staff override that ended it (alerts the shopper
    put right are not served). None where nobody was timed."""
    cur = await _execute(conn, _EVENTS + """
        , c AS (
          SELECT CASE type WHEN 'help_requested' THEN 'help'
                           WHEN 'age_approved' THEN 'age_check'
                           WHEN 'item_unknown' THEN 'unknown_item'
                           WHEN 'bagging_alert' THEN d->>'kind'
                           ELSE 'void' END AS cause, lane_id, txn, seq, ts, type, d
          FROM ev WHERE type IN ('help_requested', 'age_approved', 'item_unknown',
                                 'bagging_alert')
             OR (type = 'line_removed' AND d->>'by' <> 'shopper')),
        served AS (
          SELECT c.cause, CASE c.type
            WHEN 'help_requested' THEN (
              SELECT min(r.ts) FROM ev r WHERE r.lane_id = c.lane_id AND r.txn = c.txn
                AND r.seq > c.seq
                AND r.type IN ('staff_signed_in', 'attendant_cleared', 'remote_command')
              ) - c.ts
            WHEN 'age_approved' THEN c.ts - (
              SELECT max(i.ts) FROM ev i WHERE i.lane_id = c.lane_id AND i.txn = c.txn
                AND i.seq < c.seq AND i.type = 'item_added')
            WHEN 'bagging_alert' THEN (
              SELECT CASE WHEN x.d->>'how' = 'override' THEN x.ts END FROM ev x
              WHERE x.lane_id = c.lane_id AND x.txn = c.txn AND x.seq > c.seq
                AND x.type = 'bagging_cleared' ORDER BY x.seq LIMIT 1) - c.ts
            END AS wait
          FROM c)
        SELECT cause, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY wait)
        FROM served GROUP BY 1 ORDER BY 2 DESC, 1""", _of(stores, first, last, [
            "help_requested", "age_approved", "item_unknown", "bagging_alert", "line_removed",
            "staff_signed_in", "attendant_cleared", "remote_command", "item_added",
            "bagging_cleared"]))
    return [(c, n, None if w is None else float(w)) for c, n, w in await cur.fetchall()]


async def abandoned(conn: Any, stores: list[int] | None, first: dt.date,
                    last: dt.date) -> list[tuple[str, str, int]]:
    """(reason, step, count) of baskets voided: reason as journaled (cancel, staff, idle),
    step ``payment`` when the shopper had gone to pay, else ``basket``."""
    cur = await _execute(conn, _EVENTS + """
        SELECT v.d->>'reason',
               CASE WHEN EXISTS (SELECT 1 FROM ev c WHERE c.lane_id = v.lane_id
                                 AND c.txn = v.txn AND c.type = 'checkout_started'
                                 AND c.seq < v.seq) THEN 'payment' ELSE 'basket' END,
               count(*)
        FROM ev v WHERE v.type = 'basket_voided' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2""",
        _of(stores, first, last, ["basket_voided", "checkout_started"]))
    return [(r, s, n) for r, s, n in await cur.fetchall()]


async def ratings(conn: Any, stores: list[int] | None, first: dt.date,
                  last: dt.date) -> tuple[list[tuple[int, int, float | None]],
                                          list[tuple[str, int]]]:
    """The shoppers' ratings after the receipt (``shopper_rating``, issue 18): (rating 1-3,
    count, median seconds from first scan to receipt as the lane timed that basket) worst
    first, and (reason, count) of what went wrong, most often first. Training sessions left
    out (their txn, and the event's own ``training`` mark)."""
    sql = _EVENTS + """, r AS (SELECT d FROM ev WHERE type = 'shopper_rating'
                               AND NOT COALESCE((d->>'training')::boolean, false)) """
    args = _of(stores, first, last, ["shopper_rating"])
    cur = await _execute(
        conn, sql + "SELECT (d->>'rating')::int, count(*), percentile_cont(0.5) WITHIN GROUP"
        " (ORDER BY (d->>'scan_to_receipt_ms')::bigint) / 1000.0 FROM r GROUP BY 1 ORDER BY 1",
        args)
    given = [(int(g), n, None if s is None else float(s)) for g, n, s in await cur.fetchall()]
    cur = await _execute(conn, sql + "SELECT why, count(*) FROM r,"
                             " jsonb_array_elements_text(r.d->'reasons') AS why"
                             " GROUP BY 1 ORDER BY 2 DESC, 1", args)
    return given, [(w, n) for w, n in await cur.fetchall()]


async def channels(conn: Any, stores: list[int] | None, first: dt.date,
                   last: dt.date) -> tuple[int, int, int, int, int]:
    """How shoppers drove the baskets they finished (``session_finished``'s ``channels``,
    issue 18: kiosk.domain.vocabulary.CHANNELS): (baskets finished, used voice, used the
    tactile keys (accessible mode), touch only, channels not recorded (journaled before
    issue 18)). A basket may count under both voice and keys."""
    cur = await _execute(conn, _EVENTS + """
        SELECT count(*),
               count(*) FILTER (WHERE d->'channels' ? 'voice'),
               count(*) FILTER (WHERE d->'channels' ? 'keys'),
               count(*) FILTER (WHERE d->'channels' = '["touch"]'::jsonb),
               count(*) FILTER (WHERE jsonb_typeof(d->'channels') IS DISTINCT FROM 'array')
        FROM ev WHERE type = 'session_finished'""",
        _of(stores, first, last, ["session_finished"]))
    return tuple(await cur.fetchone())  # type: ignore[return-value]


async def checkout_times(conn: Any, stores: list[int] | None, first: dt.date,
                         last: dt.date) -> tuple[int, float | None, float | None]:
    """(baskets paid, median, 90th percentile) of the seconds from a basket's first scan
    to its approved payment."""
    cur = await _execute(conn, _EVENTS + """
        , t AS (SELECT a.ts - min(i.ts) AS s FROM ev a JOIN ev i ON i.lane_id = a.lane_id
                AND i.txn = a.txn AND i.type = 'item_added'
                WHERE a.type = 'auth_approved' GROUP BY a.lane_id, a.txn, a.ts)
        SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY s) FROM t""",
        _of(stores, first, last, ["auth_approved", "item_added"]))
    return tuple(await cur.fetchone())  # type: ignore[return-value]
