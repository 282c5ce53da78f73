"""``kiosk backoffice ...``: the back office's commands (migrate, serve, lane add; backup,
restore and retention from kiosk/backoffice/maintenance.py).

The database is ``--db URL`` or the environment's ``KIOSK_BACKOFFICE_DB`` (a libpq URL or
connection string; prefer the environment or a libpq passfile to a password on the command
line, which other users can read in the process list)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from kiosk.backoffice.catalog import add_arguments as add_catalog
from kiosk.backoffice.forecast_cmd import add_commands as add_forecast
from kiosk.backoffice.maintenance import add_commands as add_upkeep
from kiosk.domain.money import ISO_4217_NUMERIC

DB_ENV = "KIOSK_BACKOFFICE_DB"
#: the store's (or chain's) Prometheus the dashboard's lane-health page reads
PROMETHEUS_ENV = "KIOSK_BACKOFFICE_PROMETHEUS"


def _db(args: argparse.Namespace) -> str:
    url = args.db or os.environ.get(DB_ENV)
    if not url:
        raise SystemExit(f"kiosk backoffice: no database: give --db URL or set {DB_ENV}")
    return url


def cmd_migrate(args: argparse.Namespace) -> int:
    from kiosk.backoffice.db import migrate

    applied = migrate(_db(args))
    print("applied: " + ", ".join(applied) if applied else "schema is current")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from kiosk.backoffice.app import serve

    prometheus = args.prometheus_url or os.environ.get(PROMETHEUS_ENV) or None
    if prometheus is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", prometheus):
        raise SystemExit(f"kiosk backoffice serve: the Prometheus URL must be http(s)://HOST"
                         f"[:PORT][/PATH], not {prometheus!r}")
    return serve(_db(args), args.host, args.port, args.cert, args.key, pool_max=args.pool,
                 currency=args.currency, prometheus_url=prometheus)


def cmd_lane_add(args: argparse.Namespace) -> int:
    import psycopg

    from kiosk.backoffice.auth import LaneExists, add_lane

    try:
        with psycopg.connect(_db(args)) as conn:
            lane = add_lane(conn, args.store, args.lane, args.token_file)
    except (LaneExists, FileExistsError) as exc:
        print(f"kiosk backoffice lane add: {exc}", file=sys.stderr)
        return 1
    print(f"lane {lane.name} of store {args.store}: token written to {args.token_file} (0600);"
          " copy it to the lane's sync.token_file")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    import psycopg

    from kiosk.backoffice.web.accounts import add_user

    password = args.password_file.read_text().rstrip("\n")
    try:
        with psycopg.connect(_db(args)) as conn:
            add_user(conn, args.username, password, args.role, args.store)
    except (ValueError, psycopg.errors.UniqueViolation) as exc:
        print(f"kiosk backoffice user add: {exc}", file=sys.stderr)
        return 1
    print(f"dashboard user {args.username} ({args.role}"
          f"{' of ' + args.store if args.store else ''}) added")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help=f"database URL (default: ${DB_ENV})")
    sub = parser.add_subparsers(dest="sub", required=True)
    sub.add_parser("migrate", help="apply the schema migrations not yet applied; make the"
                   " next day partitions").set_defaults(fn=cmd_migrate)
    serve = sub.add_parser("serve", help="the ingest API (HTTPS; plain HTTP on loopback only)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8443, help="port (0: the OS chooses)")
    serve.add_argument("--cert", type=Path, help="TLS certificate chain (PEM)")
    serve.add_argument("--key", type=Path, help="TLS private key (PEM)")
    serve.add_argument("--pool", type=int, default=10, help="most database connections")
    serve.add_argument("--currency", default="USD", choices=sorted(ISO_4217_NUMERIC),
                       metavar="CODE", help="ISO 4217 code the dashboard shows amounts in"
                       " (USD, KRW, CNY, EUR…)")
    serve.add_argument("--prometheus-url", metavar="URL",
                       help="the Prometheus server scraping the lanes, for the dashboard's"
                       f" lane-health page, e.g. http://127.0.0.1:9090 (default:"
                       f" ${PROMETHEUS_ENV}; unset: the page says it is not set)")
    serve.set_defaults(fn=cmd_serve)
    lane = sub.add_parser("lane", help="lanes").add_subparsers(dest="lane_sub", required=True)
    add = lane.add_parser("add", help="register a lane and issue its token")
    add.add_argument("store", help="store code (created if new)")
    add.add_argument("lane", help="lane name, unique in the chain (the lane's store.lane_id)")
    add.add_argument("--token-file", type=Path, required=True,
                     help="where to write the lane's token (0600; must not exist)")
    add.set_defaults(fn=cmd_lane_add)
    user = sub.add_parser("user", help="the dashboard's accounts").add_subparsers(
        dest="user_sub", required=True)
    uadd = user.add_parser("add", help="add a dashboard account (a store's manager or a"
                           " chain admin)")
    uadd.add_argument("username", help="the name the person signs in with")
    uadd.add_argument("--role", choices=("manager", "chain_admin"), required=True,
                      help="manager: one store's pages; chain_admin: every store and the chain")
    uadd.add_argument("--store", help="the manager's store code")
    uadd.add_argument("--password-file", type=Path, required=True,
                      help="a file holding the password (never on the command line)")
    uadd.set_defaults(fn=cmd_user_add)
    add_catalog(sub, _db)
    add_upkeep(sub, _db)
    add_forecast(sub, _db)
