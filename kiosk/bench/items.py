"""``kiosk bench items``: the dashboard's Items figures over a long range, from the daily
summary (kiosk/backoffice/line_daily.py) and from the events alone, and what the summary
costs the refresh.

Runs on a back office holding a synthetic year (``kiosk sim salesyear --stores 1 --db URL``,
then this with ``--items-db URL``; migrated here). When the store has no catalog yet it
publishes a version 1 of the items its lane sold on the last day with three promotions
(2 for 1 on the two most sold, 3 for the price of 2 on the third): without one the page
prices no basket. Figures (server side, the report functions as the page calls them, median
of ``--runs``): ``items`` and ``promotions`` over the ``--items-days`` ending on the last
day with a sale (and, for promotions, the period before): from the summary, and with the
summary hidden (its store-days deleted in a transaction rolled back: every day from the
events); the refresh's sum of the whole year (once) and of one day (median of up to 3),
with and without the Items summary (line_daily.sum_days), rolled back.

The last line is JSON: ``items_summary_s``, ``items_events_s``, ``promotions_summary_s``,
``promotions_events_s``, ``refresh_year_s``, ``refresh_year_without_s``, ``refresh_day_s``,
``refresh_day_without_s``, ``days``, ``events``, ``baskets_discounted``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from kiosk.backoffice import item_daily, line_daily
from kiosk.backoffice.db import migrate
from kiosk.domain.catalog import Product
from kiosk.domain.money import currency_for
from kiosk.domain.rules import PromotionConfig


def _catalog(conn: psycopg.Connection, store: str, day: dt.date) -> None:
    from kiosk.backoffice.catalog import publish

    if conn.execute("SELECT 1 FROM catalog_snapshots WHERE store_code = %s",
                    (store,)).fetchone():
        return
    lines = [r[0] for r in conn.execute(
        "SELECT data::jsonb->'line' FROM events e JOIN stores s ON s.id = e.store_id"
        " WHERE s.code = %s AND e.day = %s AND e.type = 'item_added'", (store, day))]
    sold = Counter(ln["key"] for ln in lines)
    first = {ln["key"]: ln for ln in lines}
    products = [Product(k, None, ln.get("names") or {"en": k}, ln["unit_price_minor"],
                        ln["tax_class"], False, False) for k, ln in sorted(first.items())]
    top = [k for k, _ in sold.most_common(3)]
    promos = [PromotionConfig(id=f"two-for-one-{i}", name={"en": f"2 for 1 ({k})"},
                              kind="buy_n_pay_m", gtins=[k], n=2, m=1)
              for i, k in enumerate(top[:2])]
    promos.append(PromotionConfig(id="three-for-two", name={"en": "3 for 2"},
                                  kind="buy_n_pay_m", gtins=top[2:], n=3, m=2))
    publish(conn, store, products, promos, "bench")


def _median(runs: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


async def _report(url: str, name: str, store: int, first: dt.date, last: dt.date,
                  hide: bool) -> Any:
    from kiosk.backoffice.web import reports

    async with await psycopg.AsyncConnection.connect(url) as conn:
        if hide:
            await conn.execute("DELETE FROM item_daily_days")
        extra = (currency_for("USD"),) if name == "promotions" else ()
        got = await getattr(reports, name)(conn, [store], first, last, *extra)
        await conn.rollback()
    return got


def _refresh(url: str, with_items: bool, day: dt.date | None) -> float:
    """One refresh's time, rolled back: the whole year (no watermark) or ``day`` alone."""
    keep = line_daily.sum_days
    if not with_items:
        line_daily.sum_days = lambda *a, **k: None  # type: ignore[assignment]
    try:
        with psycopg.connect(url) as conn, conn.transaction(force_rollback=True):
            store = conn.execute("SELECT min(id) FROM stores").fetchone()[0]
            t = time.perf_counter()
            if day is None:
                conn.execute("DELETE FROM item_daily_watermark")
                item_daily.refresh(conn, currency_for("USD"))
            else:
                item_daily._sum_days(conn, store, [day], currency_for("USD"))
            return time.perf_counter() - t
    finally:
        line_daily.sum_days = keep


def bench_items(url: str, days: int = 92, runs: int = 5, store_code: str = "S001") -> int:
    migrate(url)
    with psycopg.connect(url) as conn:
        store, last = conn.execute(
            "SELECT s.id, max(e.day) FROM stores s JOIN events e ON e.store_id = s.id"
            " WHERE s.code = %s AND e.type = 'auth_approved' GROUP BY 1",
            (store_code,)).fetchone()
        _catalog(conn, store_code, last)
        conn.commit()
        events = conn.execute("SELECT count(*) FROM events WHERE store_id = %s",
                              (store,)).fetchone()[0]
        t = time.perf_counter()
        item_daily.refresh(conn, currency_for("USD"))
        conn.commit()
        print(f"refresh to date: {time.perf_counter() - t:.1f} s")
    first = last - dt.timedelta(days=days - 1)
    out: dict[str, Any] = {"days": days, "events": events}
    for name in ("items", "promotions"):
        for label, hide in (("summary", False), ("events", True)):
            def once(name: str = name, hide: bool = hide) -> Any:
                return asyncio.run(_report(url, name, store, first, last, hide))
            once()  # warm
            out[f"{name}_{label}_s"] = round(_median(runs, once), 3)
        summary = asyncio.run(_report(url, name, store, first, last, False))
        events_only = asyncio.run(_report(url, name, store, first, last, True))
        assert summary == events_only, f"{name}: the summary's figures are not the events'"
        if name == "promotions":
            out["baskets_discounted"] = sum(e.baskets for e in summary)
    for label, day, times in (("year", None, 1), ("day", last, min(runs, 3))):
        for items_too, key in ((True, f"refresh_{label}_s"),
                               (False, f"refresh_{label}_without_s")):
            out[key] = round(_median(times, lambda d=day, i=items_too: _refresh(url, i, d)), 3)
    print(f"Items over {days} days to {last} ({events} events of store {store_code}),"
          f" median of {runs}:")
    for name in ("items", "promotions"):
        print(f"  {name:<11} summary {out[f'{name}_summary_s']:7.3f} s"
              f"   events only {out[f'{name}_events_s']:7.3f} s")
    print(f"refresh, the year's first sum: {out['refresh_year_s']:.2f} s"
          f" ({out['refresh_year_without_s']:.2f} s without the Items summary);"
          f" one day: {out['refresh_day_s']:.3f} s ({out['refresh_day_without_s']:.3f} s)")
    print(json.dumps(out))
    return 0
