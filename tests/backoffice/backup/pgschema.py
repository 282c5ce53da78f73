"""The back office's events table as bo-server's migration 001 makes it (stores, lanes,
events partitioned by ``day``), for the dump and retention tests until that migration is
merged (then the integrator swaps ``make_events``'s DDL for ``kiosk backoffice migrate``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

_DDL = """
CREATE TABLE stores (id serial PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE lanes (id serial PRIMARY KEY, store_id int NOT NULL REFERENCES stores (id),
    name text NOT NULL UNIQUE, token_sha256 text NOT NULL UNIQUE);
CREATE TABLE events (store_id int NOT NULL, lane_id int NOT NULL, seq bigint NOT NULL,
    day date NOT NULL, ts double precision NOT NULL, type text NOT NULL, txn text,
    data text NOT NULL, hash text NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lane_id, seq, day)) PARTITION BY RANGE (day);
CREATE TABLE events_default PARTITION OF events DEFAULT;
"""


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_url.rsplit("/", 1)[0] + "/" + name


def make_events(url: str, days: int, stores: dict[str, int]) -> None:
    """``days`` daily partitions ending today; ``stores[code]`` events per lane per day,
    two lanes a store."""
    with psycopg.connect(url) as conn:
        conn.execute(_DDL)
        lanes: dict[int, int] = {}  # lane id -> its store id
        for code in stores:
            store = conn.execute("INSERT INTO stores (code) VALUES (%s) RETURNING id",
                                 (code,)).fetchone()[0]
            for n in (1, 2):
                name = f"{code}-L{n}"
                lane = conn.execute(
                    "INSERT INTO lanes (store_id, name, token_sha256) VALUES (%s, %s, %s)"
                    " RETURNING id", (store, name, hashlib.sha256(name.encode()).hexdigest())
                ).fetchone()[0]
                lanes[lane] = store
        per_lane = {lane: stores[code] for code in stores
                    for lane, store in lanes.items()
                    if store == conn.execute("SELECT id FROM stores WHERE code = %s",
                                             (code,)).fetchone()[0]}
        seq = dict.fromkeys(lanes, 0)
        for back in range(days - 1, -1, -1):
            day = (NOW - timedelta(days=back)).date()
            conn.execute(sql.SQL("CREATE TABLE {} PARTITION OF events FOR VALUES FROM ({})"
                                 " TO ({})").format(sql.Identifier(f"events_{day:%Y%m%d}"),
                                                    sql.Literal(day),
                                                    sql.Literal(day + timedelta(days=1))))
            for lane, store in lanes.items():
                for i in range(per_lane[lane]):
                    seq[lane] += 1
                    ts = datetime(day.year, day.month, day.day, 1, i, tzinfo=UTC).timestamp()
                    conn.execute("INSERT INTO events (store_id, lane_id, seq, day, ts, type,"
                                 " txn, data, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                                 " %s)", (store, lane, seq[lane], day, ts, "item_added",
                                          f"T{seq[lane]}", '{"amount":150,"v":1}',
                                          "0" * 64))
