"""The dashboard's sales figures from the daily summary (``sale_daily``, migration 007,
kiosk/backoffice/sale_daily.py) are the figures over the raw events: the shop's lane
journals (tests/backoffice/web/shop.py) shipped through the real ingest API in small
batches, a batch sent twice, an edited payment row (its ``broken_chain`` flag comes in the
batch after the summary summed its day), the summary refreshed between batches and not
after the last ones. At each step every sales figure (glance, payment mix, by hour, by day
over the shop's whole range) equals the same report with the summary hidden; after the
last refresh the summary holds every day, equal to the events summed directly."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
from starlette.testclient import TestClient

from kiosk.backoffice import item_daily, sale_daily
from kiosk.backoffice.app import create_app
from kiosk.backoffice.web import reports
from tests.backoffice.server.support import register, rows, sync_in_batches, tamper
from tests.backoffice.web.shop import DAY, DAYS, LANES, write_journals

FIRST = DAY - dt.timedelta(days=DAYS + 1)


async def _figures(url: str, hide_summary: bool) -> dict:
    """Every sales figure of each scope; ``hide_summary``: with ``sale_daily`` and the
    store-days summed emptied (rolled back after): the events alone."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        if hide_summary:
            await conn.execute("DELETE FROM sale_daily")
            await conn.execute("DELETE FROM item_daily_days")
        got = {}
        ids = [r[0] for r in await (await conn.execute("SELECT id FROM stores")).fetchall()]
        for scope in (None, *([i] for i in ids)):
            for name in ("glance", "payment_mix", "by_hour", "by_day"):
                got[str(scope), name] = await getattr(reports, name)(conn, scope, FIRST, DAY)
        used = await sale_daily.stale_days(conn, None, FIRST, DAY)
        await conn.rollback()
    return {"figures": got, "stale": used}


def _check(url: str) -> set:
    summary, events = (asyncio.run(_figures(url, hide)) for hide in (False, True))
    assert summary["figures"] == events["figures"]
    assert events["stale"] >= summary["stale"]
    return summary["stale"]


def _direct(conn) -> dict:
    """The sales summed from the events by the reports' own query, every day at once."""
    return {r[:5]: r[5:] for r in conn.execute(
        sale_daily.BY_HOUR, sale_daily.sales_args(None, FIRST, DAY))}


def test_sales_from_the_summary_are_the_sales_from_the_events(backoffice_url, tmp_path):
    journals, _ = write_journals(tmp_path)
    wire = rows(journals["S001-L02"])
    # an edited approved payment of S001-L02, its batch cut right after it: the ingest
    # flags it when the next row's chain does not match, in the batch after
    edited = next(r for r in wire[300:] if r["type"] == "auth_approved"
                  and not r["txn"].startswith("TRAIN-"))
    tamper(journals["S001-L02"], "UPDATE events SET data = replace(data, '\"v\":1',"
           " '\"v\":1,\"edited\":1') WHERE seq = ?", edited["seq"])
    stale_seen = []
    with TestClient(create_app(backoffice_url, pool_max=2)) as http, \
            psycopg.connect(backoffice_url, autocommit=True) as conn:
        for lane, store in LANES.items():
            client = register(backoffice_url, store, lane, tmp_path, http)
            cut = edited["seq"] if lane == "S001-L02" else None
            for n, batch in sync_in_batches(client, rows(journals[lane]), cut):
                if n % 3 == 0 or batch[-1]["seq"] == edited["seq"]:
                    item_daily.refresh(conn)
                if n % 3 == 1:  # synced since the last refresh: the summary is behind
                    stale_seen.append(_check(backoffice_url))
        flagged = conn.execute("SELECT e.seq FROM flags f JOIN events e USING (lane_id, seq)"
                               " WHERE f.kind = 'broken_chain'").fetchall()
        assert flagged == [(edited["seq"],)]
        assert any(stale_seen)  # the reports did read events for what the summary lacked
        item_daily.refresh(conn)
        stale = _check(backoffice_url)
        summed = {r[:5]: r[5:] for r in conn.execute(
            "SELECT store_id, day, hour, method, brand, sales, amount FROM sale_daily")}
        direct = _direct(conn)
    assert summed == direct and summed
    # now every day with a sale from the summary (the events only for days without one)
    assert not stale & {(store, day) for store, day, *_ in direct}
