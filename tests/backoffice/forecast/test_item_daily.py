"""The per-item daily sales summary (migration 006, kiosk/backoffice/item_daily.py) against
a direct SQL over ``events``: the shop's real lane journals (tests/backoffice/web/shop.py:
quantity changes, lines taken off, declines, abandoned and training baskets) shipped through
the real ingest API in small batches (a basket's rows split between batches), the summary
refreshed between batches, one batch sent twice, and an edited journal row (a
``broken_chain`` flag) whose whole basket must drop out."""

from __future__ import annotations

from collections import Counter

import psycopg
from starlette.testclient import TestClient

from kiosk.backoffice import item_daily
from kiosk.backoffice.app import create_app
from tests.backoffice.server.support import register, rows, tamper
from tests.backoffice.web.shop import LANES, write_journals

#: units sold per (store, paid day, item), written apart from the summary's replay: a
#: basket is paid at its first approval; its lines are its item_added rows before it, each
#: at its last quantity_changed, 0 when taken off, its kg when weighed
DIRECT = """
WITH paid AS (
    SELECT DISTINCT ON (lane_id, txn) lane_id, txn, seq AS paid_seq, day, store_id
    FROM events WHERE type = 'auth_approved' AND txn NOT LIKE 'TRAIN-%'
    ORDER BY lane_id, txn, seq
), line AS (
    SELECT lane_id, txn, seq,
           rank() OVER (PARTITION BY lane_id, txn ORDER BY seq) AS n,
           data::jsonb -> 'line' AS l
    FROM events WHERE type = 'item_added'
)
SELECT p.store_id, p.day, l.l ->> 'key', sum(
    CASE WHEN EXISTS (SELECT 1 FROM events r WHERE r.lane_id = l.lane_id AND r.txn = l.txn
                      AND r.type = 'line_removed'
                      AND (r.data::jsonb ->> 'line_id')::bigint = l.n) THEN 0
         WHEN (l.l ->> 'sold_by_weight')::boolean
         THEN (l.l ->> 'weight_g')::numeric / 1000
         ELSE COALESCE((SELECT (q.data::jsonb ->> 'qty')::numeric FROM events q
                        WHERE q.lane_id = l.lane_id AND q.txn = l.txn
                          AND q.type = 'quantity_changed'
                          AND (q.data::jsonb ->> 'line_id')::bigint = l.n
                        ORDER BY q.seq DESC LIMIT 1), 1) END)
FROM paid p JOIN line l ON l.lane_id = p.lane_id AND l.txn = p.txn AND l.seq < p.paid_seq
WHERE NOT EXISTS (SELECT 1 FROM flags f JOIN events b ON b.lane_id = f.lane_id
                  AND b.seq = f.seq WHERE f.kind = 'broken_chain'
                  AND b.lane_id = p.lane_id AND b.txn = p.txn)
GROUP BY 1, 2, 3
"""


def _summary(conn) -> dict:
    return {(s, d, k): float(u) for s, d, k, u in conn.execute(
        "SELECT store_id, day, item_key, units FROM item_daily")}


def _direct(conn) -> dict:
    return {(s, d, k): float(u) for s, d, k, u in conn.execute(DIRECT)}


def test_the_summary_is_the_direct_sum_over_events(backoffice_url, tmp_path):
    journals, ledger = write_journals(tmp_path)
    # an edited row in the middle of S001-L02's journal: its basket is flagged and left out
    wire = rows(journals["S001-L02"])
    paid = {r["txn"] for r in wire if r["type"] == "auth_approved"}
    edited = next(r for r in wire[200:] if r["type"] == "item_added" and r["txn"] in paid
                  and not r["txn"].startswith("TRAIN-"))
    tamper(journals["S001-L02"], "UPDATE events SET data = replace(data, '\"v\":1',"
           " '\"v\":1,\"edited\":1') WHERE seq = ?", edited["seq"])
    with TestClient(create_app(backoffice_url, pool_max=2)) as http, \
            psycopg.connect(backoffice_url, autocommit=True) as conn:
        refreshes = 0
        for lane, store in LANES.items():
            client = register(backoffice_url, store, lane, tmp_path, http)
            wire = rows(journals[lane])
            batches = [wire[i:i + 37] for i in range(0, len(wire), 37)]
            for n, batch in enumerate(batches):
                answer = client.post(batch, after=client.acked())
                assert answer.status_code == 200, answer.text
                if n == 5:  # the batch before sent again, whole (a lost answer)
                    again = client.post(batches[4])
                    assert again.status_code == 200 and again.json()["flags"] == []
                if n % 4 == 1 and n < len(batches) - 1:  # the last batch: the catch-up's
                    item_daily.refresh(conn)
                    refreshes += 1
        assert refreshes > 10
        # both passes: the catch-up, then one with nothing new (nothing moves)
        done = item_daily.refresh(conn)
        assert done.rows > 0
        summary = _summary(conn)
        assert item_daily.refresh(conn) == item_daily.Refreshed(0, {})
        assert _summary(conn) == summary
        direct = _direct(conn)
        stores = dict(conn.execute("SELECT id, code FROM stores").fetchall())
        flagged_txn = conn.execute(
            "SELECT e.txn FROM flags f JOIN events e USING (lane_id, seq)"
            " WHERE f.kind = 'broken_chain'").fetchall()
        flagged_days = conn.execute("SELECT sum(flagged_baskets) FROM item_daily_days"
                                    ).fetchone()[0]
    assert flagged_txn == [(edited["txn"],)] and flagged_days == 1
    assert summary == direct
    # and both are what the shop sold, the flagged basket apart
    sold = Counter({(stores[s], d, k): u for (s, d, k), u in summary.items() if u})
    truth = Counter({k: v for k, v in ledger.item_qty.items() if v})
    missing = truth - sold
    assert missing and {s for s, _, _ in missing} == {"S001"}
    assert sum(missing.values()) <= 20 and not sold - truth


def test_the_back_office_service_fills_the_summary_at_start(backoffice_url):
    """The service's maintenance job refreshes the summary (now, then hourly): a year
    loaded before the summary existed is summed without a forecast being asked for."""
    import datetime as dt
    import time

    from kiosk.sim.salesyear import generate, write_events

    year = generate(stores=1, items=6, days=30, start=dt.date(2025, 3, 1), seed=5, volume=0.3)
    with psycopg.connect(backoffice_url) as conn:
        write_events(conn, year)
    with TestClient(create_app(backoffice_url, pool_max=2)), \
            psycopg.connect(backoffice_url, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        # the job's transaction commits the summary and the watermark together
        while not conn.execute("SELECT count(*) FROM item_daily_watermark").fetchone()[0]:
            assert time.monotonic() < deadline, "the maintenance job never refreshed"
            conn.execute("SELECT pg_sleep(0.05)")
        assert _summary(conn) == _direct(conn)
        units = {(d, k): u for (_, d, k), u in _summary(conn).items()}
    assert units == {(year.day(d), item.key): float(year.units[0, i, d])
                     for i, item in enumerate(year.items) for d in range(year.days)
                     if year.units[0, i, d]}


def test_two_refreshes_in_one_open_transaction(backoffice_url):
    """A caller refreshing and reading twice without committing (each refresh a savepoint
    of its transaction) gets the rows synced in between."""
    import datetime as dt
    from dataclasses import replace

    from kiosk.backoffice.forecast_data import sales_history
    from kiosk.sim.salesyear import generate, write_events

    year = generate(stores=2, items=4, days=30, start=dt.date(2025, 3, 1), seed=6, volume=0.3)

    def store(s: int):  # the year of one of its stores
        return replace(year, stores=[year.stores[s]], units=year.units[s:s + 1],
                       promo=year.promo[s:s + 1], expected=year.expected[s:s + 1],
                       stock=year.stock[s:s + 1])

    with psycopg.connect(backoffice_url) as conn:
        write_events(conn, store(0))
    with psycopg.connect(backoffice_url) as conn:  # one transaction until the end
        item_daily.refresh(conn)
        first = sales_history(conn, "S001", days=30)
        with psycopg.connect(backoffice_url) as other:  # the second store syncs meanwhile
            write_events(other, store(1))
        item_daily.refresh(conn)
        second = sales_history(conn, "S002", days=30)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert (first.units == year.units[0]).all() and (second.units == year.units[1]).all()
