"""The back office's catalog snapshots (issue 17): versioned per store in PostgreSQL.

``kiosk backoffice catalog import STORE FILE.csv`` checks the file with the lane's own CSV
import (:meth:`kiosk.catalog.Catalog.import_csv`, into a scratch SQLite file: the same
parser and row rules, no second validator) and refuses it whole if any row fails: a
snapshot is the store's whole catalog, and a skipped row would remove that item from
every lane. The promotions come from ``--promotions FILE.toml`` (``[[promotions]]`` tables,
the lane configuration's format) or are carried over from the previous version.

Each accepted file is a new version of the store (monotonic, from 1, taken under a per-store
lock), with the sha256 of its canonical JSON (:func:`kiosk.catalog.canonical_json`), when
and by whom; a file identical to the latest version makes none. Lanes report what they
applied (and the last snapshot they refused, with the reason) into ``lane_catalog``.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from kiosk.catalog import Catalog, CatalogError, Snapshot, make_snapshot
from kiosk.domain.money import Currency
from kiosk.domain.rules import PromotionConfig

#: applied by :func:`ensure_schema` (to become a numbered migration of kiosk/backoffice)
SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_snapshots (
    store_id   text        NOT NULL,
    version    integer     NOT NULL CHECK (version > 0),
    sha256     char(64)    NOT NULL,
    body       text        NOT NULL,   -- as served: {version, sha256, items, promotions}
    items      integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL,
    PRIMARY KEY (store_id, version)
);
CREATE TABLE IF NOT EXISTS lane_catalog (
    lane_id         text        PRIMARY KEY,
    store_id        text        NOT NULL,
    version         integer     NOT NULL,       -- the version the lane has in place
    reported_at     timestamptz NOT NULL DEFAULT now(),
    refused_version integer,                    -- the last snapshot it refused, and why
    refused_reason  text
);
"""


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


def ensure_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(SCHEMA)


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
    row = conn.execute(
        "SELECT store_id, version, sha256, body, created_at, created_by FROM catalog_snapshots"
        " WHERE store_id = %s ORDER BY version DESC LIMIT 1", (store,)).fetchone()
    return StoredSnapshot(*row) if row else None


def publish(conn: psycopg.Connection, store: str, products: list,
            promotions: list[PromotionConfig] | None, who: str) -> tuple[StoredSnapshot, bool]:
    """Store the next version of ``store``'s catalog; (it, True), or (the latest, False)
    when the content is the latest's. ``promotions`` None: the latest's carry over."""
    with conn.transaction():
        # one publisher per store at a time: versions stay contiguous and monotonic
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('catalog:' || %s))", (store,))
        last = latest(conn, store)
        if promotions is None:
            promotions = ([PromotionConfig.model_validate(p)
                           for p in json.loads(last.body)["promotions"]] if last else [])
        snapshot: Snapshot = make_snapshot((last.version if last else 0) + 1, products,
                                           promotions)
        if last is not None and last.sha256 == snapshot.sha256:
            return last, False
        body = json.dumps(snapshot.body(), ensure_ascii=False)
        row = conn.execute(
            "INSERT INTO catalog_snapshots (store_id, version, sha256, body, items, created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING created_at",
            (store, snapshot.version, snapshot.sha256, body, len(products), who)).fetchone()
        return StoredSnapshot(store, snapshot.version, snapshot.sha256, body, row[0],
                              who), True


def import_csv(conn: psycopg.Connection, store: str, path: Path, who: str,
               currency: Currency, tax_classes: Iterable[str],
               promotions_file: Path | None = None) -> tuple[StoredSnapshot, bool]:
    """Check ``path`` (and the promotions file) and publish it as ``store``'s next version
    (CatalogError / ValueError: refused, nothing stored)."""
    products = check_csv(path, currency, tax_classes)
    promotions = read_promotions(promotions_file) if promotions_file else None
    return publish(conn, store, products, promotions, who)


def record_report(conn: psycopg.Connection, lane: str, store: str, version: int,
                  refused: dict | None) -> None:
    """What ``lane`` says it has in place (and the last snapshot it refused)."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO lane_catalog (lane_id, store_id, version, refused_version,"
            " refused_reason) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (lane_id) DO UPDATE SET store_id = EXCLUDED.store_id,"
            " version = EXCLUDED.version, reported_at = now(),"
            " refused_version = EXCLUDED.refused_version,"
            " refused_reason = EXCLUDED.refused_reason",
            (lane, store, version, (refused or {}).get("version"),
             (refused or {}).get("reason")))


def lane_versions(conn: psycopg.Connection, store: str) -> list[tuple]:
    """(lane, version, reported_at, refused_version, refused_reason) of the store's lanes."""
    return conn.execute(
        "SELECT lane_id, version, reported_at, refused_version, refused_reason"
        " FROM lane_catalog WHERE store_id = %s ORDER BY lane_id", (store,)).fetchall()
