"""Back-office backup (``kiosk backoffice backup``) and its tested restore.

``dump`` runs ``pg_dump -Fc`` (custom format: compressed, restorable table by table, in
parallel) on a snapshot it exported itself, so the row count of every table it records in the
sidecar manifest ``<dump>.json`` (with the dump's sha256) is exactly what the dump holds.
The dump is written under a temporary name, fsynced and renamed; the newest ``keep`` dumps in
the folder are kept.

``restore`` checks the sha256, creates a NEW database (never over the live one), runs
``pg_restore --exit-on-error`` into it and compares every table's row count with the
manifest; on any mismatch the new database is dropped and the error says why. The operator
then points ``kiosk backoffice serve`` at the restored database. Point-in-time recovery
(WAL archiving and base backups) is for production: docs/backup.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from kiosk.ops.digest import file_sha256

DUMP_PREFIX = "backoffice-"
DUMP_SUFFIX = ".dump"
TIMEOUT_S = 3600


class DumpError(Exception):
    """A dump or restore that failed; the message says why."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DumpError(f"{name} not found: install the Debian package postgresql-client")
    return found


def row_counts(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows of every ordinary table (partitions each on their own) outside the system
    schemas, as ``schema.table``, in the connection's current snapshot."""
    from psycopg import sql

    tables = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid ="
        " c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog',"
        " 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2").fetchall()
    return {f"{schema}.{table}": conn.execute(
        sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema),
                                                     sql.Identifier(table))).fetchone()[0]
            for schema, table in tables}


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """``url`` for a libpq tool's command line without its password (``ps`` shows argv to
    every user), and the environment that passes the password instead."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def _run(argv: list[str], what: str, url: str) -> None:
    conninfo, env = _libpq(url)
    try:
        done = subprocess.run([*argv, "-d", conninfo], capture_output=True, text=True,
                              timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise DumpError(f"{what} took longer than {TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise DumpError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def dump(url: str, to: Path, keep: int = 14, now: float | None = None) -> Path:
    """``pg_dump -Fc`` of the database at ``url`` into folder ``to``; returns the dump."""
    import psycopg

    if keep < 1:
        raise DumpError("keep at least one dump")
    to.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    final = to / f"{DUMP_PREFIX}{stamp}{DUMP_SUFFIX}"
    part = to / f".{final.name}.part"
    with psycopg.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = row_counts(conn)  # the snapshot pg_dump reads, held open until it is done
        _run([_tool("pg_dump"), "-Fc", f"--snapshot={snapshot}", "--no-password", "-f",
              str(part)], "pg_dump", url)
        conn.execute("COMMIT")
    with part.open("rb") as fh:
        os.fsync(fh.fileno())
    os.chmod(part, 0o600)
    manifest = {"dump": final.name, "sha256": file_sha256(part), "created": stamp, "rows": counts}
    side = final.with_name(final.name + ".json")
    side.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    part.replace(final)
    for old in sorted(to.glob(f"{DUMP_PREFIX}*{DUMP_SUFFIX}"))[:-keep]:
        old.unlink()
        old.with_name(old.name + ".json").unlink(missing_ok=True)
    return final


def restore(dump_file: Path, admin_url: str, database: str) -> dict[str, int]:
    """Restore ``dump_file`` into the new database ``database`` (created through
    ``admin_url``, a connection to the cluster's maintenance database); returns the row
    counts, checked against the dump's manifest. The new database is dropped on failure."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    side = dump_file.with_name(dump_file.name + ".json")
    try:
        manifest = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        raise DumpError(f"{side}: no readable manifest ({exc})") from None
    if file_sha256(dump_file) != manifest.get("sha256"):
        raise DumpError(f"{dump_file} does not match its checksum: damaged, not restored")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    target = make_conninfo(admin_url, dbname=database)
    try:
        _run([_tool("pg_restore"), "--exit-on-error", "--no-owner", "--no-password",
              str(dump_file)], "pg_restore", target)
        with psycopg.connect(target) as conn:
            counts = row_counts(conn)
        if counts != manifest["rows"]:
            differ = sorted(k for k in set(counts) | set(manifest["rows"])
                            if counts.get(k) != manifest["rows"].get(k))
            raise DumpError(f"restored row counts differ from the dump's: {', '.join(differ)}")
    except BaseException:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)))
        raise
    return counts
