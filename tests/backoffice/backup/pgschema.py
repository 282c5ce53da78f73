"""A day-partitioned events table shaped like the back office's (store_id, lane_id, seq,
received_at), for the dump and retention tests until bo-server's migrations are merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_url.rsplit("/", 1)[0] + "/" + name


def make_events(url: str, days: int, stores: dict[str, int]) -> None:
    """``days`` daily partitions ending today; ``stores[store]`` events per lane per day,
    two lanes a store."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE events (store_id text NOT NULL, lane_id text NOT NULL,"
                     " seq bigint NOT NULL, type text NOT NULL, data jsonb NOT NULL,"
                     " received_at timestamptz NOT NULL) PARTITION BY RANGE (received_at)")
        conn.execute("CREATE TABLE lanes (lane_id text PRIMARY KEY, store_id text NOT NULL)")
        today = NOW.replace(hour=0)
        seq: dict[str, int] = {}
        for back in range(days - 1, -1, -1):
            low = today - timedelta(days=back)
            name = f"events_{low:%Y%m%d}"
            conn.execute(sql.SQL("CREATE TABLE {} PARTITION OF events FOR VALUES FROM ({})"
                                 " TO ({})").format(sql.Identifier(name), sql.Literal(low),
                                                    sql.Literal(low + timedelta(days=1))))
            for store, per_lane in stores.items():
                for lane in (f"{store}-L1", f"{store}-L2"):
                    for i in range(per_lane):
                        seq[lane] = seq.get(lane, 0) + 1
                        conn.execute("INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s)",
                                     (store, lane, seq[lane], "item_added",
                                      '{"v": 1, "amount": 150}',
                                      low + timedelta(hours=1, minutes=i)))
        for store in stores:
            conn.execute("INSERT INTO lanes VALUES (%s, %s), (%s, %s)",
                         (f"{store}-L1", store, f"{store}-L2", store))
