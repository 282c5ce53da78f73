"""``kiosk backoffice backup | restore | retention``: the back office's upkeep commands
(kiosk/backoffice/backup.py, kiosk/backoffice/retention.py), added to the ``kiosk backoffice``
parser of kiosk/backoffice/commands.py; the database is its ``--db`` / ``KIOSK_BACKOFFICE_DB``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cmd_backup(args: argparse.Namespace, url: str) -> int:
    from kiosk.backoffice.backup import DumpError, dump

    try:
        path = dump(url, Path(args.to), keep=args.keep)
    except (DumpError, OSError) as exc:
        print(f"back-office backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"back-office dump written: {path} (+ {path.name}.json: sha256, row counts)")
    return 0


def cmd_restore(args: argparse.Namespace, url: str) -> int:
    import psycopg

    from kiosk.backoffice.backup import DumpError, restore

    try:
        counts = restore(Path(args.dump), url, args.into)
    except (DumpError, OSError, psycopg.Error) as exc:
        print(f"back-office restore failed: {exc}", file=sys.stderr)
        return 2
    print(f"restored into database {args.into}: {len(counts)} tables,"
          f" {sum(counts.values())} rows, row counts match the dump")
    return 0


def cmd_retention(args: argparse.Namespace, url: str) -> int:
    import tomllib

    import psycopg
    from pydantic import ValidationError

    from kiosk.backoffice.retention import RetentionPolicy, apply

    try:
        raw = tomllib.loads(Path(args.policy).read_text()) if args.policy else {}
        policy = RetentionPolicy.model_validate(raw.get("retention", {}))
    except (OSError, ValueError, ValidationError) as exc:
        print(f"retention: bad policy {args.policy}: {exc}", file=sys.stderr)
        return 2
    with psycopg.connect(url) as conn:
        report = apply(conn, policy)
    print("\n".join(report.lines()))
    return 0


def add_commands(sub: Any, db: Callable[[argparse.Namespace], str]) -> None:
    """Add backup, restore and retention to ``kiosk backoffice``'s subparsers (``db``: the
    database URL of the args)."""
    bak = sub.add_parser("backup", help="pg_dump -Fc of the back office, checksummed, rotated")
    bak.add_argument("--to", required=True, help="folder for the dumps")
    bak.add_argument("--keep", type=int, default=14, help="dumps to keep (default: %(default)s)")
    bak.set_defaults(fn=lambda args: cmd_backup(args, db(args)))
    res = sub.add_parser("restore", help="restore a dump into a NEW database on the same"
                         " cluster and check its row counts")
    res.add_argument("dump", help="a backoffice-*.dump (its .json beside it)")
    res.add_argument("--into", required=True, help="name of the new database")
    res.set_defaults(fn=lambda args: cmd_restore(args, db(args)))
    ret = sub.add_parser("retention", help="sum up and drop events older than each store's"
                         " retention (a daily timer runs it)")
    ret.add_argument("--policy", help="TOML with [retention.default] and"
                     " [retention.stores.<store code>] events_days")
    ret.set_defaults(fn=lambda args: cmd_retention(args, db(args)))
