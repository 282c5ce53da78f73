"""The Items page's figures from the daily summary (``line_daily`` and ``promotion_daily``,
migration 008, kiosk/backoffice/line_daily.py) are the figures over the raw events: the
shop's lane journals (tests/backoffice/web/shop.py: catalog version 2, with a second
promotion, applied mid-range) plus a basket scanned before midnight and paid after, shipped
through the real ingest API in small batches, a batch sent twice, an edited item row (its
``broken_chain`` flag comes in the batch after the summary summed its day), store S002's
catalog published only after its days were first summed (their baskets priced under a
version the back office did not hold), the summary refreshed between batches and not after
the last ones. At each step the items and promotions of several ranges, per store and for
the chain, equal the same reports with the summary hidden; after the last refresh the
summary holds every day."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
from starlette.testclient import TestClient

from kiosk.backoffice import item_daily, line_daily, sale_daily
from kiosk.backoffice.app import create_app
from kiosk.backoffice.catalog import publish
from kiosk.backoffice.web import reports
from kiosk.domain.money import currency_for
from kiosk.journal.store import Journal
from tests.backoffice.server.support import register, rows, sync_in_batches, tamper
from tests.backoffice.web.shop import (
    DAY,
    DAYS,
    ITEMS,
    LANES,
    MILK,
    RAMYUN,
    _line,
    catalog_versions,
    write_journals,
)

FIRST = DAY - dt.timedelta(days=DAYS - 1)
#: the day the basket paid after midnight is paid on (catalog version 1 in place)
MIDNIGHT = DAY - dt.timedelta(days=5)
#: (first, last): the whole range, its last week (compared with the week before), the
#: midnight basket's day alone (its lines are on the day before)
RANGES = [(FIRST, DAY), (DAY - dt.timedelta(days=6), DAY), (MIDNIGHT, MIDNIGHT)]
USD = currency_for("USD")


def _midnight_basket(journal) -> None:
    """Milk and ramyun scanned at 23:59:5x, the quantities changed and paid after
    midnight (MIDNIGHT): its lines are on the day before its sale."""
    t = dt.datetime.combine(MIDNIGHT, dt.time(), dt.UTC).timestamp()
    item = {k[0]: k for k in ITEMS}
    txn = "S001-L01-MIDNIGHT"
    lane = Journal(journal)
    try:
        lane.append([
            {"type": "session_started", "ts": t - 9, "txn": txn, "txn_seq": 999,
             "locale": "en"},
            {"type": "item_added", "ts": t - 7, "line": _line(item[MILK])},
            {"type": "item_added", "ts": t - 4, "line": _line(item[RAMYUN])},
            {"type": "quantity_changed", "ts": t + 2, "line_id": 1, "qty": 4},
            {"type": "quantity_changed", "ts": t + 3, "line_id": 2, "qty": 3},
            {"type": "auth_requested", "ts": t + 10, "method": "qr", "amount": 2045,
             "stan": 9001, "idem_key": f"{txn}-9001"},
            {"type": "auth_approved", "ts": t + 13, "stan": 9001, "auth_code": "A1B2C3",
             "card": None, "rrn": "000000009001", "response_code": "00"},
        ], txn=txn)
    finally:
        lane.close()


async def _figures(url: str, hide_summary: bool) -> dict:
    """Items and promotions of each range and scope; ``hide_summary``: with the summaries
    and the store-days summed emptied (rolled back after): the events alone."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        if hide_summary:
            for table in ("line_daily", "promotion_daily", "item_daily_days"):
                await conn.execute(f"DELETE FROM {table}")
        got = {}
        s001 = (await (await conn.execute("SELECT id FROM stores WHERE code = 'S001'")
                       ).fetchone())[0]
        for scope in (None, [s001]):  # the chain, a store
            for first, last in RANGES:
                got[str(scope), first, "items"] = await reports.items(conn, scope, first, last)
                got[str(scope), first, "promotions"] = await reports.promotions(
                    conn, scope, first, last, USD)
        stale = await sale_daily.stale_days(conn, None, FIRST, DAY)
        await conn.rollback()
    return {"figures": got, "stale": stale}


async def _unpriced(url: str, money) -> set:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await line_daily.unpriced_days(conn, None, FIRST, DAY, money)


def _check(url: str) -> set:
    summary, events = (asyncio.run(_figures(url, hide)) for hide in (False, True))
    assert summary["figures"] == events["figures"]
    assert events["stale"] >= summary["stale"]
    return summary["stale"]


def test_items_from_the_summary_are_the_items_from_the_events(backoffice_url, tmp_path):
    journals, ledger = write_journals(tmp_path)  # its ledger: without the midnight basket
    _midnight_basket(journals["S001-L01"])
    wire = rows(journals["S001-L02"])
    # an edited milk line of a paid basket of S001-L02, its batch cut right after it: the
    # ingest flags it when the next row's chain does not match, in the batch after
    paid = {r["txn"] for r in wire if r["type"] == "auth_approved"}
    edited = next(r for r in wire[300:] if r["type"] == "item_added" and r["txn"] in paid
                  and not r["txn"].startswith("TRAIN-") and r["data"]["line"]["key"] == MILK
                  and dt.datetime.fromtimestamp(r["ts"], dt.UTC).date() > MIDNIGHT)
    tamper(journals["S001-L02"], "UPDATE events SET data = replace(data, '\"v\":1',"
           " '\"v\":1,\"edited\":1') WHERE seq = ?", edited["seq"])
    stale_seen = []
    with TestClient(create_app(backoffice_url, pool_max=2)) as http, \
            psycopg.connect(backoffice_url, autocommit=True) as conn:
        for products, promotions in catalog_versions():
            publish(conn, "S001", products, promotions, "test")
        for lane, store in LANES.items():
            client = register(backoffice_url, store, lane, tmp_path, http)
            cut = edited["seq"] if lane == "S001-L02" else None
            for n, batch in sync_in_batches(client, rows(journals[lane]), cut):
                if n % 3 == 0 or batch[-1]["seq"] == edited["seq"]:
                    item_daily.refresh(conn, USD)
                if n % 3 == 1:  # synced since the last refresh: the summary is behind
                    stale_seen.append(_check(backoffice_url))
                if store == "S002" and n == 4:  # its days summed with no version known
                    assert conn.execute("SELECT count(*) FROM promotion_daily"
                                        " WHERE promotion_id = ''").fetchone()[0]
                    for products, promotions in catalog_versions():
                        publish(conn, "S002", products, promotions, "test")
                    _check(backoffice_url)
        flagged = conn.execute("SELECT e.seq FROM flags f JOIN events e USING (lane_id, seq)"
                               " WHERE f.kind = 'broken_chain'").fetchall()
        assert flagged == [(edited["seq"],)]
        assert any(stale_seen)  # the reports did read events for what the summary lacked
        item_daily.refresh(conn, USD)
        stale = _check(backoffice_url)
        summed = set(conn.execute("SELECT DISTINCT store_id, day FROM line_daily"))
        priced = set(conn.execute("SELECT DISTINCT store_id, day FROM promotion_daily"))
        # the midnight basket's milk (4) and ramyun (3, the promotion's group) counted
        milk = conn.execute(
            "SELECT l.day, l.qty FROM line_daily l JOIN stores s ON s.id = l.store_id"
            " WHERE s.code = 'S001' AND l.day BETWEEN %s AND %s AND l.item_key = %s"
            " ORDER BY 1", (MIDNIGHT - dt.timedelta(days=1), MIDNIGHT, MILK)).fetchall()
    # every store-day sold on from the summary now
    assert {d for _, d in summed} == {FIRST + dt.timedelta(days=i) for i in range(DAYS)}
    assert not stale & summed
    # a page in another currency than the refresh's prices every day from the events
    assert asyncio.run(_unpriced(backoffice_url, USD)) == set()
    assert asyncio.run(_unpriced(backoffice_url, currency_for("EUR"))) == priced
    assert [(d, q - ledger.item_qty["S001", d, MILK]) for d, q in milk] == [
        (MIDNIGHT - dt.timedelta(days=1), 0), (MIDNIGHT, 4)]

