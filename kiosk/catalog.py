"""Product catalog in SQLite: CSV import with row-level validation, and lookups.

CSV columns: ``gtin, name_<lang>..., price, tax_class, age_restricted,
sold_by_weight, plu``. Prices are major units of the store currency (per kg for
items sold by weight). An import is one transaction: bad rows are reported with
their line numbers and skipped, good rows load, and a crash part-way leaves the
catalog exactly as it was.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import PACKAGE_CONFIG_DIR
from kiosk.gtin import GtinError, validate_gtin
from kiosk.money import Currency, MoneyError

#: the shipped demo catalog (206 items named in en, zh and ko)
SAMPLE_CATALOG = PACKAGE_CONFIG_DIR / "catalog" / "sample.csv"
REQUIRED_COLUMNS = ("gtin", "price", "tax_class", "age_restricted", "sold_by_weight", "plu")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY,
    gtin TEXT UNIQUE,              -- normalised to 14 digits; NULL for PLU-only items
    plu TEXT UNIQUE,
    names TEXT NOT NULL,           -- JSON {"en": ..., "zh": ..., "ko": ...}
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    tax_class TEXT NOT NULL,
    age_restricted INTEGER NOT NULL CHECK (age_restricted IN (0, 1)),
    sold_by_weight INTEGER NOT NULL CHECK (sold_by_weight IN (0, 1)),
    CHECK (gtin IS NOT NULL OR plu IS NOT NULL)
);
"""


@dataclass(frozen=True)
class Product:
    """One catalog item. ``price_minor`` is per kg when ``sold_by_weight``."""

    gtin: str | None
    plu: str | None
    names: dict[str, str]
    price_minor: int
    tax_class: str
    age_restricted: bool
    sold_by_weight: bool

    @property
    def key(self) -> str:
        """Stable identity used in the cart and for promotions."""
        return self.gtin or f"PLU{self.plu}"

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or next(iter(self.names.values()))


@dataclass
class ImportReport:
    loaded: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"line {n}: {msg}" for n, msg in self.errors]


class CatalogError(ValueError):
    """A CSV file that cannot be imported at all (missing columns, unreadable)."""


def _flag(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{column} must be 0 or 1, got {text!r}")


class Catalog:
    """The SQLite catalog. One connection per thread that uses it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- import ---------------------------------------------------------------

    def import_csv(
        self, path: Path, currency: Currency, tax_classes: Iterable[str]
    ) -> ImportReport:
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                return self.import_rows(csv.DictReader(fh), currency, tax_classes)
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{path}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None

    def import_rows(
        self, reader: csv.DictReader, currency: Currency, tax_classes: Iterable[str]
    ) -> ImportReport:
        """Validate and upsert rows in one transaction; see the module docstring."""
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        name_cols = [c for c in columns if c.startswith("name_")]
        if missing or not name_cols:
            need = missing + ([] if name_cols else ["name_<lang>"])
            raise CatalogError(f"missing column(s): {', '.join(need)}")
        classes = set(tax_classes)
        report = ImportReport()
        seen: dict[str, int] = {}
        with self.db:  # one transaction: commit at the end, roll back on any exception
            for row in self._rows(reader, report):
                try:
                    product = self._parse(row, name_cols, currency, classes)
                    for ident in filter(None, (product.gtin, product.plu and "P" + product.plu)):
                        if ident in seen:
                            raise ValueError(f"duplicate of line {seen[ident]}")
                    self._upsert(product)
                except (ValueError, GtinError, MoneyError) as exc:
                    report.errors.append((reader.line_num, str(exc)))
                    continue
                for ident in filter(None, (product.gtin, product.plu and "P" + product.plu)):
                    seen[ident] = reader.line_num
                report.loaded += 1
        return report

    @staticmethod
    def _rows(reader: csv.DictReader, report: ImportReport) -> Iterator[dict]:
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                report.errors.append((reader.line_num, "wrong number of fields"))
                continue
            yield row

    @staticmethod
    def _parse(row: dict, name_cols: list[str], currency: Currency, classes: set[str]) -> Product:
        gtin_text, plu = row["gtin"].strip(), row["plu"].strip()
        gtin = validate_gtin(gtin_text) if gtin_text else None
        if plu and (not plu.isdigit() or not 4 <= len(plu) <= 5):
            raise ValueError(f"plu must be 4 or 5 digits, got {plu!r}")
        if not gtin and not plu:
            raise ValueError("needs a gtin or a plu")
        names = {c[5:]: row[c].strip() for c in name_cols if row[c].strip()}
        if not names:
            raise ValueError("has no name")
        tax_class = row["tax_class"].strip()
        if tax_class not in classes:
            raise ValueError(f"unknown tax_class {tax_class!r} (configured: {sorted(classes)})")
        return Product(
            gtin=gtin,
            plu=plu.zfill(5) if plu else None,
            names=names,
            price_minor=currency.parse(row["price"]),
            tax_class=tax_class,
            age_restricted=_flag(row["age_restricted"], "age_restricted"),
            sold_by_weight=_flag(row["sold_by_weight"], "sold_by_weight"),
        )

    def _upsert(self, p: Product) -> None:
        # A re-import replaces the product with the same gtin or plu.
        self.db.execute(
            "DELETE FROM products WHERE gtin = ? OR plu = ?", (p.gtin, p.plu)
        )
        self.db.execute(
            "INSERT INTO products (gtin, plu, names, price_minor, tax_class, age_restricted,"
            " sold_by_weight) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (p.gtin, p.plu, json.dumps(p.names, ensure_ascii=False), p.price_minor,
             p.tax_class, int(p.age_restricted), int(p.sold_by_weight)),
        )

    # -- lookups --------------------------------------------------------------

    _COLS = "gtin, plu, names, price_minor, tax_class, age_restricted, sold_by_weight"

    @staticmethod
    def _product(row: tuple | None) -> Product | None:
        if row is None:
            return None
        gtin, plu, names, price, tax_class, age, weight = row
        return Product(gtin, plu, json.loads(names), price, tax_class, bool(age), bool(weight))

    def by_gtin(self, gtin14: str) -> Product | None:
        cur = self.db.execute(f"SELECT {self._COLS} FROM products WHERE gtin = ?", (gtin14,))
        return self._product(cur.fetchone())

    def by_plu(self, plu: str) -> Product | None:
        cur = self.db.execute(
            f"SELECT {self._COLS} FROM products WHERE plu = ?", (plu.zfill(5),)
        )
        return self._product(cur.fetchone())

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM products").fetchone()[0]

    def sample(self, limit: int = 12) -> list[Product]:
        """A stable selection of products for the demo panel."""
        cur = self.db.execute(f"SELECT {self._COLS} FROM products ORDER BY id LIMIT ?", (limit,))
        return [p for p in map(self._product, cur.fetchall()) if p]
