"""The back office's catalog snapshots (issue 17): versioned per store in PostgreSQL.

``kiosk backoffice catalog import STORE FILE.csv`` checks the file with the lane's own CSV
import (:meth:`kiosk.catalog.Catalog.import_csv`, into a scratch SQLite file: the same
parser and row rules, no second validator) and refuses it whole if any row fails: a
snapshot is the store's whole catalog, and a skipped row would remove that item from
every lane. The promotions come from ``--promotions FILE.toml`` (``[[promotions]]`` tables,
the lane configuration's format) or are carried over from the previous version (a store's
first version: the configured promotions, as the lanes have them before any snapshot).

Tables: ``migrations/002_catalog.sql``. Each accepted file is a new version of the store
(monotonic, from 1, taken under a per-store lock), with the sha256 of its canonical JSON
(:func:`kiosk.catalog.canonical_json`), when and by whom; a file identical to the latest
version makes none. Lanes report what they applied (and the last snapshot they refused,
with the reason) into ``lane_catalog``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from kiosk.catalog import Catalog, CatalogError, Snapshot, make_snapshot
from kiosk.domain.money import Currency
from kiosk.domain.rules import PromotionConfig

#: the latest snapshot of a store (the tables: migrations/002_catalog.sql)
LATEST_SQL = ("SELECT store_code, version, sha256, body, created_at, created_by"
              " FROM catalog_snapshots WHERE store_code = %s ORDER BY version DESC LIMIT 1")
#: a lane's report: the version in place, the last snapshot refused
REPORT_SQL = (
    "INSERT INTO lane_catalog (lane_name, store_code, version, refused_version,"
    " refused_reason) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (lane_name) DO UPDATE SET store_code = EXCLUDED.store_code,"
    " version = EXCLUDED.version, reported_at = now(),"
    " refused_version = EXCLUDED.refused_version, refused_reason = EXCLUDED.refused_reason")


@dataclass(frozen=True)
class StoredSnapshot:
    store_id: str
    version: int
    sha256: str
    body: str
    created_at: datetime
    created_by: str

    @property
    def etag(self) -> str:
        return f'"{self.version}-{self.sha256[:16]}"'


def read_promotions(path: Path) -> list[PromotionConfig]:
    """``[[promotions]]`` tables of a TOML file, checked (ValueError naming the fault)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    unknown = set(data) - {"promotions"}
    if unknown:
        raise ValueError(f"{path}: only [[promotions]] tables, found {sorted(unknown)}")
    out = []
    for index, promo in enumerate(data.get("promotions", [])):
        try:
            out.append(PromotionConfig.model_validate(promo))
        except ValueError as exc:
            raise ValueError(f"{path}: promotion {index + 1}: {exc}") from None
    return out


def check_csv(path: Path, currency: Currency, tax_classes: Iterable[str]) -> list:
    """The products of a catalog CSV, checked by the lane's import; CatalogError with every
    bad row when any row fails (nothing is half-taken)."""
    with tempfile.TemporaryDirectory(prefix="kiosk-catalog-") as scratch:
        catalog = Catalog(Path(scratch) / "catalog.sqlite")
        try:
            report = catalog.import_csv(Path(path), currency, tax_classes)
            if report.errors:
                lines = "\n  ".join(str(e) for e in report.errors[:50])
                more = len(report.errors) - 50
                raise CatalogError(f"{path}: {len(report.errors)} bad row(s), nothing"
                                   f" imported:\n  {lines}"
                                   + (f"\n  ... and {more} more" if more > 0 else ""))
            if not report.loaded:
                raise CatalogError(f"{path}: no items (a snapshot is the whole catalog)")
            return catalog.products()
        finally:
            catalog.close()


def latest(conn: psycopg.Connection, store: str) -> StoredSnapshot | None:
    row = conn.execute(LATEST_SQL, (store,)).fetchone()
    return StoredSnapshot(*row) if row else None


def publish(conn: psycopg.Connection, store: str, products: list,
            promotions: list[PromotionConfig] | None, who: str,
            first_promotions: Iterable[PromotionConfig] = ()) -> tuple[StoredSnapshot, bool]:
    """Store the next version of ``store``'s catalog; (it, True), or (the latest, False)
    when the content is the latest's. ``promotions`` None: the latest's carry over, or
    ``first_promotions`` for a store's first version."""
    with conn.transaction():
        # one publisher per store at a time: versions stay contiguous and monotonic
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('catalog:' || %s))", (store,))
        last = latest(conn, store)
        if promotions is None:
            promotions = ([PromotionConfig.model_validate(p)
                           for p in json.loads(last.body)["promotions"]] if last
                          else list(first_promotions))
        snapshot: Snapshot = make_snapshot((last.version if last else 0) + 1, products,
                                           promotions)
        if last is not None and last.sha256 == snapshot.sha256:
            return last, False
        body = json.dumps(snapshot.body(), ensure_ascii=False)
        row = conn.execute(
            "INSERT INTO catalog_snapshots (store_code, version, sha256, body, items,"
            " created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING created_at",
            (store, snapshot.version, snapshot.sha256, body, len(products), who)).fetchone()
        return StoredSnapshot(store, snapshot.version, snapshot.sha256, body, row[0],
                              who), True


def import_csv(conn: psycopg.Connection, store: str, path: Path, who: str,
               currency: Currency, tax_classes: Iterable[str],
               promotions_file: Path | None = None,
               first_promotions: Iterable[PromotionConfig] = ()) -> tuple[StoredSnapshot, bool]:
    """Check ``path`` (and the promotions file) and publish it as ``store``'s next version
    (CatalogError / ValueError: refused, nothing stored). Without a promotions file the
    latest version's carry over (``first_promotions`` for the first version)."""
    products = check_csv(path, currency, tax_classes)
    promotions = read_promotions(promotions_file) if promotions_file else None
    return publish(conn, store, products, promotions, who, first_promotions)


def record_report(conn: psycopg.Connection, lane: str, store: str, version: int,
                  refused: dict | None) -> None:
    """What ``lane`` says it has in place (and the last snapshot it refused)."""
    with conn.transaction():
        conn.execute(REPORT_SQL, report_params(lane, store, version, refused))


def report_params(lane: str, store: str, version: int, refused: dict | None) -> tuple:
    return (lane, store, version, (refused or {}).get("version"),
            (refused or {}).get("reason"))


def lane_versions(conn: psycopg.Connection, store: str) -> list[tuple]:
    """(lane, version, reported_at, refused_version, refused_reason) of the store's lanes."""
    return conn.execute(
        "SELECT lane_name, version, reported_at, refused_version, refused_reason"
        " FROM lane_catalog WHERE store_code = %s ORDER BY lane_name", (store,)).fetchall()


# -- kiosk backoffice catalog ... ----------------------------------------------------------

def add_arguments(sub: argparse._SubParsersAction, db: Callable[[argparse.Namespace], str]
                  ) -> None:
    """``kiosk backoffice catalog import|lanes`` (``db``: the database URL of the args)."""
    cat = sub.add_parser("catalog", help="the stores' catalog snapshots")
    acts = cat.add_subparsers(dest="action", required=True)
    imp = acts.add_parser("import", help="publish a store's catalog CSV as its next version"
                          " (checked as the lanes check it; refused whole on any bad row)")
    imp.add_argument("store", help="store code (its lanes' store.store_id)")
    imp.add_argument("file", type=Path, help="the store's whole catalog, the lane's CSV format")
    imp.add_argument("--promotions", type=Path, help="TOML file of [[promotions]] (default:"
                     " the previous version's; for the first, the configured ones)")
    imp.add_argument("--by", help="who publishes it (default: the login name)")
    imp.set_defaults(fn=lambda args: cmd_import(args, db(args)))
    lanes = acts.add_parser("lanes", help="the catalog version each lane of a store reports")
    lanes.add_argument("store", help="store code")
    lanes.set_defaults(fn=lambda args: cmd_lanes(args, db(args)))


def cmd_import(args: argparse.Namespace, url: str) -> int:
    from kiosk.config import load_config  # the store's currency and tax classes

    config = load_config()
    from kiosk.backoffice.forecast_data import read_feed_stock, record_stock  # on_hand column

    with psycopg.connect(url) as conn:
        try:
            counts = read_feed_stock(args.file)
            snap, new = import_csv(conn, args.store, args.file, args.by or getpass.getuser(),
                                   config.currency, config.tax.rates, args.promotions,
                                   config.promotions)
        except (CatalogError, ValueError) as exc:
            print(f"catalog import refused: {exc}", file=sys.stderr)
            return 1
        counted = record_stock(conn, args.store, counts)
    state = "published" if new else "unchanged, still"
    print(f"store {args.store}: {state} catalog version {snap.version} sha256 {snap.sha256}"
          + (f"; {counted} stock counts recorded" if counted else ""))
    return 0


def cmd_lanes(args: argparse.Namespace, url: str) -> int:
    with psycopg.connect(url) as conn:
        for lane, version, at, refused, reason in lane_versions(conn, args.store):
            note = f"  refused v{refused}: {reason}" if refused else ""
            print(f"{lane}\tv{version}\t{at:%Y-%m-%d %H:%M:%S%z}{note}")
    return 0
