"""The back office's database: schema migrations (plain versioned SQL files applied in order
and recorded in ``schema_version``), the day partitions of ``events``, and connections.

Migrations are ``kiosk/backoffice/migrations/NNN_name.sql`` (read through kiosk.resources);
each runs in one transaction with its ``schema_version`` row, under an advisory lock, so
``kiosk backoffice migrate`` is idempotent and safe to run from two places at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from kiosk.resources import backoffice_migrations

#: advisory lock key taken while migrating (any constant; "kiosk" in ASCII)
MIGRATE_LOCK = 0x6B696F736B
#: the day partitions kept ready: from yesterday to this many days ahead
DAYS_AHEAD = 7

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def migrations(folder: Path | None = None) -> list[Migration]:
    """The migration files, by version (a version used twice is an error)."""
    found: dict[int, Migration] = {}
    for path in sorted((folder or backoffice_migrations()).iterdir()):
        match = _NAME.match(path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"migration version {version} used twice: {path.name}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def migrate(url: str, folder: Path | None = None, today: dt.date | None = None) -> list[str]:
    """Apply the migrations not yet applied, then make sure the day partitions exist.
    Returns the names of the migrations applied now (empty: the schema was current)."""
    applied: list[str] = []
    with psycopg.connect(url) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                         " version int PRIMARY KEY, name text NOT NULL,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            for migration in migrations(folder):
                if migration.version in done:
                    continue
                conn.execute(migration.path.read_text())
                conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                             (migration.version, migration.name))
                applied.append(f"{migration.version:03d}_{migration.name}")
        ensure_partitions(conn, today)
    return applied


def schema_version(conn: psycopg.Connection) -> int:
    """The highest migration applied (0: none)."""
    row = conn.execute("SELECT COALESCE(max(version), 0) FROM schema_version").fetchone()
    return row[0] if row else 0


def partition_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The days whose partitions are kept ready: yesterday .. DAYS_AHEAD days ahead (UTC)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=1), today + dt.timedelta(days=DAYS_AHEAD)


def ensure_partitions(conn: psycopg.Connection, today: dt.date | None = None) -> int:
    """Create the missing day partitions of the window (the maintenance job); how many."""
    first, last = partition_window(today)
    with conn.transaction():
        row = conn.execute("SELECT ensure_event_partitions(%s, %s)", (first, last)).fetchone()
    return row[0] if row else 0
