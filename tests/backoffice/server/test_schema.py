"""`kiosk backoffice migrate`: versioned SQL files applied once (idempotent, recorded in
schema_version), and the day partitions of events kept ready by the maintenance function."""

from __future__ import annotations

import datetime as dt

import psycopg

from kiosk.backoffice.db import DAYS_AHEAD, migrate, migrations


def _partitions(conn: psycopg.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'events'::regclass ORDER BY 1")]


def test_migrations_apply_once_and_make_the_day_partitions(pg_url):
    today = dt.date(2027, 3, 1)
    names = [f"{m.version:03d}_{m.name}" for m in migrations()]
    assert names and names[0] == "001_events"

    assert migrate(pg_url, today=today) == names
    assert migrate(pg_url, today=today) == []  # idempotent
    with psycopg.connect(pg_url) as conn:
        assert [tuple(r) for r in conn.execute(
            "SELECT version, name FROM schema_version ORDER BY version")] == [
            (m.version, m.name) for m in migrations()]
        days = [today + dt.timedelta(days=n) for n in range(-1, DAYS_AHEAD + 1)]
        assert _partitions(conn) == [f"events_{d:%Y%m%d}" for d in days] + ["events_default"]


def test_the_maintenance_job_moves_a_days_early_rows_into_its_new_partition(backoffice_url):
    with psycopg.connect(backoffice_url) as conn:
        conn.execute("INSERT INTO stores (code) VALUES ('S1')")
        conn.execute("INSERT INTO lanes (store_id, name, token_sha256)"
                     " VALUES (1, 'L1', repeat('a', 64))")
        for seq, day in ((1, "2031-05-04"), (2, "2031-05-04"), (3, "2031-05-05")):
            conn.execute("INSERT INTO events (store_id, lane_id, seq, day, ts, type, data,"
                         " hash) VALUES (1, 1, %s, %s, 0, 't', '{}', 'h')", (seq, day))
        conn.commit()
        assert conn.execute("SELECT count(*) FROM events_default").fetchone()[0] == 3

        made = conn.execute("SELECT ensure_event_partitions('2031-05-04', '2031-05-04')")
        assert made.fetchone()[0] == 1
        assert conn.execute("SELECT ensure_event_partitions('2031-05-04', '2031-05-04')"
                            ).fetchone()[0] == 0
        where = conn.execute("SELECT seq, tableoid::regclass::text FROM events ORDER BY seq")
        assert [tuple(r) for r in where] == [(1, "events_20310504"), (2, "events_20310504"),
                                            (3, "events_default")]
