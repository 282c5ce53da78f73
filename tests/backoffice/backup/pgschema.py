"""A back-office database made by the real migrations (``kiosk.backoffice.db.migrate``) with
lanes registered by ``kiosk.backoffice.auth.add_lane`` and day partitions full of events,
for the dump and retention tests. The events are inserted directly (their hashes are not a
chain): these tests are about keeping and dropping rows, the ingest's own tests check chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from kiosk.backoffice.auth import add_lane
from kiosk.backoffice.db import migrate

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_url.rsplit("/", 1)[0] + "/" + name


def make_events(url: str, days: int, stores: dict[str, int], tokens: Path) -> None:
    """Migrate, then ``days`` days of events ending on NOW's day: ``stores[code]`` events
    per lane per day, two lanes a store."""
    migrate(url, today=NOW.date())
    tokens.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(url) as conn:
        lanes = {}
        for code, per_lane in stores.items():
            for n in (1, 2):
                lane = add_lane(conn, code, f"{code}-L{n}", tokens / f"{code}-L{n}.token")
                lanes[lane.id] = (lane.store_id, per_lane)
        first = (NOW - timedelta(days=days - 1)).date()
        conn.execute("SELECT ensure_event_partitions(%s, %s)", (first, NOW.date()))
        seq = dict.fromkeys(lanes, 0)
        for back in range(days - 1, -1, -1):
            day = (NOW - timedelta(days=back)).date()
            for lane, (store, per_lane) in lanes.items():
                for i in range(per_lane):
                    seq[lane] += 1
                    ts = datetime(day.year, day.month, day.day, 1, i, tzinfo=UTC).timestamp()
                    conn.execute("INSERT INTO events (store_id, lane_id, seq, day, ts, type,"
                                 " txn, data, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                                 " %s)", (store, lane, seq[lane], day, ts, "item_added",
                                          f"T{seq[lane]}", '{"amount":150,"v":1}',
                                          "0" * 64))
