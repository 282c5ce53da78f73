"""Product catalog in SQLite: CSV import with row-level validation, and lookups.

CSV columns: ``gtin, name_<lang>..., price, tax_class, age_restricted,
sold_by_weight, plu``. Prices are major units of the store currency (per kg for
items sold by weight). An import is one transaction: bad rows are reported with
their line and column and skipped, good rows load, and a crash part-way leaves the
catalog exactly as it was. A file that cannot be read as CSV at all (not UTF-8, a
field beyond what the csv module parses, no required columns) is rejected whole,
naming file, line and column, and changes nothing. Text holding control characters
or bidi overrides (:mod:`kiosk.domain.text`) is refused: a name reaches the screen and the
receipt printer; tabs and line breaks inside a name become one space.

Product pictures: an optional ``picture`` column names a PNG or JPEG file, relative to
the CSV's folder. Each is checked (inside that folder, at most 2 MB and 2048 x 2048
pixels, really a PNG or JPEG) and copied to the catalog's ``pictures/`` folder as
``<key>.png|.jpg`` (:func:`pictures_dir`, :func:`picture_index`), where the screen
finds it by the product's key. A bad picture is a warning: the product loads without
it (a missing picture never keeps an item from being sold).

Snapshots (issue 17, the back office's catalog flowing down to the lanes): a whole catalog as
JSON ``{"version", "sha256", "items": [...], "promotions": [...]}``, ``items`` the products
in :func:`item_of`'s form, ``sha256`` over :func:`canonical_json` of items and promotions.
:func:`check_snapshot` validates one item by item with the CSV import's own rules (each
item is turned back into its CSV row and parsed by the same code), so the back office and
the lane refuse exactly what ``kiosk catalog import`` refuses; :meth:`Catalog.replace_all`
puts a checked snapshot in place in one transaction and records its version (``meta``).
Pictures do not travel in a snapshot.
Bagging area (kiosk/domain/bagging.py): optional columns ``bag_weight_g`` (what one unit
weighs on the bagging scale, grams), ``bag_tolerance_g`` and ``bag_check`` (0: not checked:
heavy, light or bulky items) go to the ``bag_weights`` table by product key, beside the
weights learned from attended sales (:meth:`Catalog.bag_sample`).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kiosk.domain.catalog import Product
from kiosk.domain.gtin import GtinError, validate_gtin
from kiosk.domain.money import Currency, MoneyError
from kiosk.domain.rules import PromotionConfig
from kiosk.domain.text import NotUtf8, decode_utf8, describe, first_unsafe
from kiosk.resources import sample_catalog

#: the shipped demo catalog (206 items named in en, zh and ko)
SAMPLE_CATALOG = sample_catalog()  # package data, through kiosk.resources
REQUIRED_COLUMNS = ("gtin", "price", "tax_class", "age_restricted", "sold_by_weight", "plu")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}
#: no catalog field needs more (a name is a shelf label); longer is a row error
MAX_FIELD_CHARS = 512
#: a catalog of a big store is a few MB; anything far larger is not a catalog
MAX_FILE_BYTES = 64 << 20
_WHITESPACE = "\t\n\r"  # inside a field: stripped, or one space inside a name
_BREAKS = re.compile(r"\s*[\t\n\r\u2028\u2029]+\s*")
_CSV_TOKENS = re.compile(r'[^",]+|["]|,')
PICTURE_COLUMN = "picture"
#: a picture file's first bytes → the extension it is kept under
PICTURE_MAGIC = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}
MAX_PICTURE_BYTES = 2 << 20
MAX_PICTURE_SIDE = 2048

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
-- the snapshot the products came from: version, sha256, promotions (JSON); none for a CSV
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bag_weights (
    key TEXT PRIMARY KEY,          -- the product's key (gtin, or PLU<plu>)
    weight_g INTEGER CHECK (weight_g > 0),
    tolerance_g INTEGER CHECK (tolerance_g > 0),
    bag_check INTEGER NOT NULL DEFAULT 1 CHECK (bag_check IN (0, 1)),
    samples TEXT NOT NULL DEFAULT '[]'  -- JSON grams of attended weighings (learning)
);
"""
#: a snapshot item's fields: a Product's, in its order
ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(Product))
_NAME_KEY = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
BAG_COLUMNS = ("bag_weight_g", "bag_tolerance_g", "bag_check")


class RowError(NamedTuple):
    """A row that was skipped: its (last) physical line, the column at fault if one is."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        column = f"column {self.column}: " if self.column else ""
        return f"line {self.line}: {column}{self.message}"


@dataclass
class ImportReport:
    loaded: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: rows loaded without their picture (the picture was refused)
    warnings: list[RowError] = field(default_factory=list)
    pictures: int = 0

    def lines(self) -> list[str]:
        return [str(e) for e in self.errors] + [
            f"{w} (loaded without its picture)" for w in self.warnings]


def pictures_dir(catalog_path: Path) -> Path:
    """Where the catalog at ``catalog_path`` keeps its products' pictures."""
    return Path(catalog_path).parent / "pictures"


def picture_index(folder: Path) -> dict[str, Path]:
    """Product key → its picture, for every picture in ``folder`` (empty when there is
    none); read once where blocking does not matter (not on the screen's thread)."""
    try:
        files = list(Path(folder).iterdir())
    except OSError:
        return {}
    return {p.stem: p for p in sorted(files)
            if p.suffix in PICTURE_MAGIC.values() and p.is_file()}


def check_picture(base: Path, name: str) -> tuple[Path, str]:
    """The picture file ``name`` (relative to ``base``) and its extension, or FieldError."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not name:
        raise FieldError(PICTURE_COLUMN, f"{name!r}: a file name inside the CSV's folder")
    path = base / rel
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise FieldError(PICTURE_COLUMN, f"{name}: {exc.strerror}") from None
    if size > MAX_PICTURE_BYTES:
        raise FieldError(PICTURE_COLUMN, f"{name}: {size} bytes (at most"
                         f" {MAX_PICTURE_BYTES >> 20} MB)")
    ext = next((e for magic, e in PICTURE_MAGIC.items() if head.startswith(magic)), None)
    if ext is None:
        raise FieldError(PICTURE_COLUMN, f"{name}: not a PNG or JPEG file")
    from PIL import Image, UnidentifiedImageError  # Pillow only when pictures are imported

    try:
        with Image.open(path) as img:
            img.verify()
            width, height = img.size
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise FieldError(PICTURE_COLUMN, f"{name}: damaged image ({exc})") from None
    if max(width, height) > MAX_PICTURE_SIDE:
        raise FieldError(PICTURE_COLUMN, f"{name}: {width} x {height} pixels (at most"
                         f" {MAX_PICTURE_SIDE} on a side)")
    return path, ext


class CatalogError(ValueError):
    """A CSV file that cannot be imported at all (missing columns, unreadable)."""


class FieldError(ValueError):
    """A bad value in one column of a row."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


class _LineTooLong(Exception):
    """A physical line the csv module would refuse (see :func:`_physical_lines`)."""

    def __init__(self, line: int, column: str) -> None:
        super().__init__(line, column)
        self.line, self.column = line, column


def _flag(text: str, column: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise FieldError(column, f"{column} must be 0 or 1, got {text!r}")


def _check_text(column: str, text: str) -> None:
    """Refuse control characters, bidi overrides and absurd lengths in any field."""
    if len(text) > MAX_FIELD_CHARS:
        raise FieldError(column, f"{len(text)} characters (at most {MAX_FIELD_CHARS})")
    at = first_unsafe(text, allow=_WHITESPACE)
    if at is not None:
        raise FieldError(column, f"{describe(text[at])} at character {at + 1}: control"
                         " characters and bidi overrides are not allowed")


def _field_at(line: str, limit: int) -> int | None:
    """Index (0-based) of the CSV field of ``line`` that runs past ``limit`` characters."""
    index, length, quoted = 0, 0, False
    for token in _CSV_TOKENS.findall(line):  # runs of plain text count in one step
        if token == '"':
            quoted = not quoted
            continue
        if token == "," and not quoted:
            index, length = index + 1, 0
            continue
        length += len(token)
        if length > limit:
            return index
    return None


def _physical_lines(text: str, header: list[str]) -> Iterator[str]:
    """The lines of ``text`` for csv, refusing a line longer than the csv field limit.

    The csv module raises on such a field, mid-row and with no column; here it is
    caught before csv reads it, naming the line and the column.
    """
    limit = csv.field_size_limit()
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        index = _field_at(line, limit) if len(line) > limit else None
        if index is not None:
            raise _LineTooLong(number, "(header)" if number == 1 else header[index]
                               if index < len(header) else f"{index + 1} (beyond the header)")
        if number == 1:
            header[:] = next(csv.reader([line]), [])
        yield line


class SnapshotError(ValueError):
    """A catalog snapshot that fails validation; the message is the reason (which item or
    promotion, which field)."""


@dataclass(frozen=True)
class Snapshot:
    """A validated catalog snapshot: what :meth:`Catalog.replace_all` puts in place."""

    version: int
    sha256: str
    products: list[Product]
    promotions: list[PromotionConfig]

    def body(self) -> dict:
        """The snapshot as it travels (JSON)."""
        return {"version": self.version, "sha256": self.sha256,
                "items": [item_of(p) for p in self.products],
                "promotions": [promotion_of(p) for p in self.promotions]}


def item_of(product: Product) -> dict:
    """A product as a snapshot item."""
    return dataclasses.asdict(product)


def promotion_of(promotion: PromotionConfig) -> dict:
    """A promotion as a snapshot holds it (its config fields, gtins normalised)."""
    return promotion.model_dump(mode="json")


def canonical_json(items: list[dict], promotions: list[dict]) -> bytes:
    """The one byte form of a snapshot's content its sha256 is taken over."""
    return json.dumps({"items": items, "promotions": promotions}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


def snapshot_sha256(items: list[dict], promotions: list[dict]) -> str:
    return hashlib.sha256(canonical_json(items, promotions)).hexdigest()


def make_snapshot(version: int, products: list[Product],
                  promotions: list[PromotionConfig]) -> Snapshot:
    """A snapshot of checked products and promotions, its sha256 computed."""
    digest = snapshot_sha256([item_of(p) for p in products],
                             [promotion_of(p) for p in promotions])
    return Snapshot(version, digest, list(products), list(promotions))


def _item_row(item: object, currency: Currency) -> dict[str, str]:
    """A snapshot item as the CSV row it stands for (SnapshotError if it has not the
    item's shape: exactly its fields, each of its JSON type)."""
    if not isinstance(item, dict) or set(item) != set(ITEM_FIELDS):
        got = sorted(item) if isinstance(item, dict) else type(item).__name__
        raise SnapshotError(f"fields {got}, expected {list(ITEM_FIELDS)}")
    for key in ("gtin", "plu"):
        if item[key] is not None and not isinstance(item[key], str):
            raise SnapshotError(f"{key}: a string or null")
    names = item["names"]
    if not isinstance(names, dict) or not all(
            isinstance(k, str) and _NAME_KEY.match(k) and isinstance(v, str)
            for k, v in names.items()):
        raise SnapshotError("names: an object of language tag → text")
    price = item["price_minor"]
    if type(price) is not int:
        raise SnapshotError(f"price_minor: an integer, got {price!r}")
    for key in ("age_restricted", "sold_by_weight"):
        if not isinstance(item[key], bool):
            raise SnapshotError(f"{key}: true or false")
    if not isinstance(item["tax_class"], str):
        raise SnapshotError("tax_class: a string")
    return {"gtin": item["gtin"] or "", "plu": item["plu"] or "",
            **{f"name_{lang}": text for lang, text in names.items()},
            "price": currency.plain(price) if price >= 0 else str(price),
            "tax_class": item["tax_class"],
            "age_restricted": str(int(item["age_restricted"])),
            "sold_by_weight": str(int(item["sold_by_weight"]))}


def check_item(item: object, currency: Currency, tax_classes: Iterable[str]) -> Product:
    """The product a snapshot item holds, checked by the CSV import's rules (its row is
    parsed by the same code); SnapshotError if it fails them or is not in canonical form
    (a gtin not normalised, a name with a line break)."""
    row = _item_row(item, currency)
    name_cols = [c for c in row if c.startswith("name_")]
    if not name_cols:
        raise SnapshotError("names: has no name")
    try:
        product = Catalog._parse(row, name_cols, currency, set(tax_classes))
    except FieldError as exc:
        column = "names" if exc.column.startswith("name_") else exc.column
        column = "price_minor" if column == "price" else column
        raise SnapshotError(f"{column}: {exc}") from None
    except (ValueError, GtinError, MoneyError) as exc:
        raise SnapshotError(str(exc)) from None
    if item_of(product) != item:
        raise SnapshotError("not in canonical form (normalised gtin/plu, names without"
                            " line breaks or surrounding spaces)")
    return product


def check_snapshot(body: object, currency: Currency, tax_classes: Iterable[str]) -> Snapshot:
    """A snapshot as it travels, validated whole: its shape, its sha256 against its content,
    every item (:func:`check_item`) and promotion, no gtin or plu twice, at least one item.
    SnapshotError names the first fault; nothing is half-taken."""
    if not isinstance(body, dict):
        raise SnapshotError("not a JSON object")
    if set(body) != {"version", "sha256", "items", "promotions"}:
        raise SnapshotError(f"fields {sorted(body)}, expected"
                            " ['items', 'promotions', 'sha256', 'version']")
    version, digest = body["version"], body["sha256"]
    if type(version) is not int or version < 1:
        raise SnapshotError(f"version: a positive integer, got {version!r}")
    items, promos = body["items"], body["promotions"]
    if not isinstance(items, list) or not isinstance(promos, list):
        raise SnapshotError("items and promotions: lists")
    if not isinstance(digest, str) or snapshot_sha256(items, promos) != digest:
        raise SnapshotError("sha256 does not match the content (damaged or altered)")
    if not items:
        raise SnapshotError("no items (a snapshot is the whole catalog)")
    classes = set(tax_classes)
    products, seen = [], {}
    for index, item in enumerate(items):
        try:
            product = check_item(item, currency, classes)
        except SnapshotError as exc:
            raise SnapshotError(f"item {index + 1}: {exc}") from None
        for ident in filter(None, (product.gtin, product.plu and "PLU" + product.plu)):
            if ident in seen:
                raise SnapshotError(f"item {index + 1}: {ident} also in item {seen[ident]}")
            seen[ident] = index + 1
        products.append(product)
    promotions = []
    for index, promo in enumerate(promos):
        try:
            checked = PromotionConfig.model_validate(promo)
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else {"msg": str(exc)}
            raise SnapshotError(f"promotion {index + 1}: {first['msg']}") from None
        if promotion_of(checked) != promo:
            raise SnapshotError(f"promotion {index + 1}: not in canonical form")
        promotions.append(checked)
    return Snapshot(version, digest, products, promotions)


def stage(path: Path, snapshot: Snapshot) -> Path:
    """Leave ``snapshot`` at ``path`` (the config's ``catalog_staged_path``) for kiosk-core,
    atomically: a reader sees all of it or none."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(json.dumps(snapshot.body(), ensure_ascii=False).encode())
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def read_staged(path: Path, currency: Currency, tax_classes: Iterable[str]) -> Snapshot:
    """The staged snapshot, checked again (OSError, SnapshotError)."""
    try:
        body = json.loads(path.read_bytes())
    except ValueError as exc:
        raise SnapshotError(f"{path}: not JSON: {exc}") from None
    return check_snapshot(body, currency, tax_classes)


def applied_version(catalog_path: Path) -> tuple[int, str]:
    """(version, sha256) of the snapshot in place in the catalog at ``catalog_path``, read
    without writing ((0, "") when none was applied or there is no catalog yet)."""
    try:
        db = sqlite3.connect(f"file:{Path(catalog_path)}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0, ""
    try:
        rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('version', 'sha256')"))
    except sqlite3.Error:
        return 0, ""
    finally:
        db.close()
    return (int(rows["version"]), rows.get("sha256", "")) if "version" in rows else (0, "")


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
        """Import a CSV file; CatalogError (file, line, column) leaves the catalog as it was."""
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise CatalogError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MB")
        try:
            text = decode_utf8(raw)
        except NotUtf8 as exc:
            raise CatalogError(f"{path}: {exc}") from None
        header: list[str] = []
        reader = csv.DictReader(_physical_lines(text, header))
        try:
            return self.import_rows(reader, currency, tax_classes, pictures_from=path.parent)
        except _LineTooLong as exc:
            raise CatalogError(f"{path}: line {exc.line}, column {exc.column}: a field longer"
                               f" than {csv.field_size_limit()} characters") from None
        except csv.Error as exc:
            raise CatalogError(f"{path}: line {reader.line_num}: not valid CSV: {exc}") from None
        except CatalogError as exc:
            raise CatalogError(f"{path}: {exc}") from None

    def import_rows(
        self, reader: csv.DictReader, currency: Currency, tax_classes: Iterable[str],
        pictures_from: Path | None = None,
    ) -> ImportReport:
        """Validate and upsert rows in one transaction; see the module docstring.
        ``pictures_from``: the folder the ``picture`` column's names are relative to."""
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        name_cols = [c for c in columns if c.startswith("name_")]
        if missing or not name_cols:
            need = missing + ([] if name_cols else ["name_<lang>"])
            raise CatalogError(f"line 1: missing column(s): {', '.join(need)}")
        for column in columns:
            try:
                _check_text("(header)", column)
            except FieldError as exc:
                raise CatalogError(f"line 1, column {column!r}: {exc}") from None
        classes = set(tax_classes)
        report = ImportReport()
        seen: dict[str, int] = {}
        with self.db:  # one transaction: commit at the end, roll back on any exception
            for row in self._rows(reader, report):
                try:
                    product = self._parse(row, name_cols, currency, classes)
                    for ident in filter(None, (product.gtin, product.plu and "P" + product.plu)):
                        if ident in seen:
                            column = "gtin" if ident == product.gtin else "plu"
                            raise FieldError(column, f"duplicate of line {seen[ident]}")
                    bag = self._bag_columns(row)  # checked before anything is written
                    self._upsert(product)
                    if bag is not None:
                        self._keep_bag(product.key, *bag)
                except FieldError as exc:
                    report.errors.append(RowError(reader.line_num, exc.column, str(exc)))
                    continue
                except (ValueError, GtinError, MoneyError) as exc:
                    report.errors.append(RowError(reader.line_num, None, str(exc)))
                    continue
                for ident in filter(None, (product.gtin, product.plu and "P" + product.plu)):
                    seen[ident] = reader.line_num
                report.loaded += 1
                picture = (row.get(PICTURE_COLUMN) or "").strip()
                if picture and pictures_from is not None:
                    try:
                        self._keep_picture(product.key, *check_picture(pictures_from, picture))
                        report.pictures += 1
                    except FieldError as exc:
                        report.warnings.append(RowError(reader.line_num, exc.column, str(exc)))
        return report

    # -- snapshots ------------------------------------------------------------

    def replace_all(self, snapshot: Snapshot) -> None:
        """Put a checked snapshot in place of every product, with its version, in one
        transaction: a reader sees the old catalog or the new one, never a mix."""
        with self.db:
            self.db.execute("DELETE FROM products")
            for product in snapshot.products:
                self._upsert(product)
            self.db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("version", str(snapshot.version)), ("sha256", snapshot.sha256),
                 ("promotions", json.dumps([promotion_of(p) for p in snapshot.promotions],
                                           ensure_ascii=False))])

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def version(self) -> tuple[int, str]:
        """(version, sha256) of the snapshot in place; (0, "") for a CSV-loaded catalog."""
        version = self._meta("version")
        return (int(version), self._meta("sha256") or "") if version else (0, "")

    def promotions(self) -> list[PromotionConfig] | None:
        """The promotions of the snapshot in place; None when none was applied (the
        configuration's promotions hold)."""
        text = self._meta("promotions")
        return None if text is None else [PromotionConfig.model_validate(p)
                                          for p in json.loads(text)]

    def products(self) -> list[Product]:
        """Every product, in the order they were loaded."""
        cur = self.db.execute(f"SELECT {self._COLS} FROM products ORDER BY id")
        return [p for p in map(self._product, cur.fetchall()) if p]

    def _keep_picture(self, key: str, source: Path, ext: str) -> None:
        """Copy a checked picture to ``pictures/<key><ext>`` (atomically), replacing the
        product's earlier picture whatever its type."""
        folder = pictures_dir(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        for old in PICTURE_MAGIC.values():
            if old != ext:
                (folder / f"{key}{old}").unlink(missing_ok=True)
        target = folder / f"{key}{ext}"
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(source.read_bytes())
        tmp.replace(target)

    @staticmethod
    def _rows(reader: csv.DictReader, report: ImportReport) -> Iterator[dict]:
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                fields = len(reader.fieldnames or []) + len(row.get(None) or []) - sum(
                    v is None for v in row.values())
                report.errors.append(RowError(
                    reader.line_num, None,
                    f"wrong number of fields ({fields}, the header has"
                    f" {len(reader.fieldnames or [])})"))
                continue
            yield row

    @staticmethod
    def _parse(row: dict, name_cols: list[str], currency: Currency, classes: set[str]) -> Product:
        for column, value in row.items():
            _check_text(column, value)
        gtin_text, plu = row["gtin"].strip(), row["plu"].strip()
        try:
            gtin = validate_gtin(gtin_text) if gtin_text else None
        except GtinError as exc:
            raise FieldError("gtin", str(exc)) from None
        if plu and (not plu.isdigit() or not 4 <= len(plu) <= 5):
            raise FieldError("plu", f"plu must be 4 or 5 digits, got {plu!r}")
        if not gtin and not plu:
            raise FieldError("gtin", "needs a gtin or a plu")
        # a line break or tab typed into a spreadsheet cell is one space on a label
        names = {c[5:]: _BREAKS.sub(" ", row[c]).strip() for c in name_cols if row[c].strip()}
        if not names:
            raise FieldError(name_cols[0], "has no name")
        tax_class = row["tax_class"].strip()
        if tax_class not in classes:
            raise FieldError("tax_class", f"unknown tax_class {tax_class!r}"
                             f" (configured: {sorted(classes)})")
        try:
            price_minor = currency.parse(row["price"])
        except MoneyError as exc:
            raise FieldError("price", str(exc)) from None
        return Product(
            gtin=gtin,
            plu=plu.zfill(5) if plu else None,
            names=names,
            price_minor=price_minor,
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

    @staticmethod
    def _bag_columns(row: dict) -> tuple[int | None, int | None, bool] | None:
        """The optional bagging columns of a row (None: none given, the earlier ones stay);
        FieldError for a bad one."""
        given = {c: (row.get(c) or "").strip() for c in BAG_COLUMNS}
        if not any(given.values()):
            return None
        grams: list[int | None] = []
        for column in BAG_COLUMNS[:2]:
            text = given[column]
            if text and (not text.isdigit() or not 0 < int(text) <= 100_000):
                raise FieldError(column, f"{column} must be whole grams 1..100000, got {text!r}")
            grams.append(int(text) if text else None)
        return grams[0], grams[1], _flag(given["bag_check"] or "1", "bag_check")

    def _keep_bag(self, key: str, weight_g: int | None, tolerance_g: int | None,
                  check: bool) -> None:
        self.db.execute(
            "INSERT INTO bag_weights (key, weight_g, tolerance_g, bag_check) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET weight_g = excluded.weight_g,"
            " tolerance_g = excluded.tolerance_g, bag_check = excluded.bag_check",
            (key, weight_g, tolerance_g, int(check)))

    def bag_weight(self, key: str) -> tuple[int | None, int | None, bool, list[int]]:
        """(weight_g, tolerance_g, checked, learned samples) of a product on the bagging
        scale; (None, None, True, []) when the catalog says nothing."""
        row = self.db.execute("SELECT weight_g, tolerance_g, bag_check, samples FROM"
                              " bag_weights WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None, None, True, []
        return row[0], row[1], bool(row[2]), json.loads(row[3])

    def bag_sample(self, key: str, grams: int, keep: int = 20) -> list[int]:
        """Keep one attended weighing of ``key`` (the last ``keep``); all kept so far."""
        samples = [*self.bag_weight(key)[3], int(grams)][-keep:]
        with self.db:
            self.db.execute(
                "INSERT INTO bag_weights (key, samples) VALUES (?, ?) ON CONFLICT(key)"
                " DO UPDATE SET samples = excluded.samples", (key, json.dumps(samples)))
        return samples

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
