"""What the demand forecast reads from the back office: each item's daily units sold in a
store, and its stock on hand (issue 18).

Units sold come from the ``item_daily`` summary (migration 006, kept by
:mod:`kiosk.backoffice.item_daily`, which says what counts as sold: paid baskets replayed as
the checkout applies their rows, on the UTC day of their payment; training sessions, unpaid
baskets and baskets with a row flagged ``broken_chain`` never count, the latter counted in
``flagged_baskets``; a weighed line counts its kg). It is read as the back office service's
maintenance job left it (kept up to date at start and hourly): a read never writes. A year
of a big store reads in about a second instead of 40 s (docs/forecast.md).

Stock on hand is the latest count of the item (table ``stock_counts``, migration 005: from
the catalog feed's ``on_hand`` column, :func:`read_feed_stock`) less the units sold after
it was counted (the summary's later days, and the baskets of the count's own day paid
after it).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from kiosk.backoffice import item_daily


@dataclass
class StockCount:
    on_hand: float
    counted_at: dt.datetime
    lead_time_days: int | None
    sold_since: float = 0.0

    @property
    def now(self) -> float:
        """On hand now: the count less what sold since (never below 0)."""
        return max(0.0, self.on_hand - self.sold_since)


@dataclass
class SalesHistory:
    store: str
    first: dt.date
    keys: list[str]          # the items, in the matrix's row order
    units: np.ndarray        # [item, day] units sold each day, ``first`` onwards
    names: dict[str, str] = field(default_factory=dict)  # in English (else any language)
    stock: dict[str, StockCount] = field(default_factory=dict)
    flagged_baskets: int = 0  # paid baskets left out: a row of theirs is flagged broken_chain
    names_by_locale: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=self.units.shape[1] - 1)


def latest_counts(conn: psycopg.Connection, store: str) -> dict[str, StockCount]:
    rows = conn.execute(
        "SELECT DISTINCT ON (item_key) item_key, on_hand, counted_at, lead_time_days"
        " FROM stock_counts WHERE store_code = %s ORDER BY item_key, counted_at DESC",
        (store,)).fetchall()
    return {key: StockCount(float(on_hand), at, lead) for key, on_hand, at, lead in rows}


def store_id_of(conn: psycopg.Connection, store: str) -> int:
    """The back office's id of store ``store``; LookupError: no such store."""
    row = conn.execute("SELECT id FROM stores WHERE code = %s", (store,)).fetchone()
    if row is None:
        raise LookupError(f"no store {store!r} in the back office")
    return row[0]


def sales_history(conn: psycopg.Connection, store: str, until: dt.date | None = None,
                  days: int = 365, not_after: dt.date | None = None) -> SalesHistory:
    """The store's daily units per item for the ``days`` days up to ``until`` (default:
    the last day with a sale, not after ``not_after`` if given), and each item's stock on
    hand. LookupError: no such store. Reads the ``item_daily`` summary as it is (the
    maintenance job's :func:`item_daily.refresh` keeps it; :func:`item_daily.behind` says
    what synced since); writes nothing."""
    store_id = store_id_of(conn, store)
    if until is None:
        last = conn.execute("SELECT max(day) FROM item_daily WHERE store_id = %s"
                            " AND (%s::date IS NULL OR day <= %s)",
                            (store_id, not_after, not_after)).fetchone()[0]
        until = last or not_after or dt.datetime.now(dt.UTC).date()
    first = until - dt.timedelta(days=days - 1)
    rows = conn.execute("SELECT item_key, day, units, names FROM item_daily"
                        " WHERE store_id = %s AND day BETWEEN %s AND %s ORDER BY day",
                        (store_id, first, until)).fetchall()
    left_out = conn.execute("SELECT COALESCE(sum(flagged_baskets), 0) FROM item_daily_days"
                            " WHERE store_id = %s AND day BETWEEN %s AND %s",
                            (store_id, first, until)).fetchone()[0]
    counts = latest_counts(conn, store)
    _sold_since(conn, store_id, counts)
    names_by_locale: dict[str, dict[str, str]] = {}
    for key, _, _, by_locale in rows:  # by day: the last day's names win
        if by_locale:
            names_by_locale[key] = by_locale
    names = {k: v.get("en") or next(iter(v.values()), "") for k, v in names_by_locale.items()}
    keys = sorted({key for key, *_ in rows} | set(counts))
    index = {k: i for i, k in enumerate(keys)}
    units_by_day = np.zeros((len(keys), days))
    for key, day, units, _ in rows:
        units_by_day[index[key], (day - first).days] += float(units)
    return SalesHistory(store, first, keys, units_by_day, names, counts, int(left_out),
                        names_by_locale)


def _sold_since(conn: psycopg.Connection, store_id: int, counts: dict[str, StockCount]) -> None:
    """Each count's ``sold_since``: the summary's days after the day it was counted, plus
    that day's baskets paid after the count (replayed from the events: the summary has no
    time of day)."""
    if not counts:
        return
    keys = sorted(counts)
    day_of = {k: counts[k].counted_at.astimezone(dt.UTC).date() for k in keys}
    for key, units in conn.execute(
            "SELECT d.item_key, sum(d.units) FROM item_daily d"
            " JOIN unnest(%s::text[], %s::date[]) AS c(key, day) ON c.key = d.item_key"
            " WHERE d.store_id = %s AND d.day > c.day GROUP BY 1",
            (keys, [day_of[k] for k in keys], store_id)):
        counts[key].sold_since += float(units)
    for day in sorted(set(day_of.values())):
        counted = {k: counts[k].counted_at.timestamp() for k in keys if day_of[k] == day}
        for key, _, _, since, _ in item_daily.replay(conn, store_id, [day], counted):
            if key in counted:
                counts[key].sold_since += since


def read_feed_stock(path: Path) -> list[tuple[str, float, int | None]]:
    """The (item key, on_hand, lead_time_days or None) of a catalog CSV's ``on_hand`` and
    optional ``lead_time_days`` columns (the key: the GTIN, else ``PLU<plu>``, as the
    catalog keys an item); rows without ``on_hand`` are skipped. ValueError names a bad
    value."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    try:
        return _stock_rows(path, csv.DictReader(text.splitlines()), [])
    except csv.Error as exc:
        raise ValueError(f"{path}: not valid CSV: {exc}") from None


def _stock_rows(path: Path, reader: csv.DictReader, rows: list
                ) -> list[tuple[str, float, int | None]]:
    for number, row in enumerate(reader, start=2):
        text = (row.get("on_hand") or "").strip()
        if not text:
            continue
        gtin, plu = (row.get("gtin") or "").strip(), (row.get("plu") or "").strip()
        key = gtin or (f"PLU{plu}" if plu else "")
        lead = (row.get("lead_time_days") or "").strip()
        try:
            on_hand = float(text)
            lead_days = int(lead) if lead else None
        except ValueError:
            raise ValueError(f"{path}: line {number}: on_hand {text!r} or lead_time_days"
                             f" {lead!r} is not a number") from None
        if (not key or not on_hand >= 0 or on_hand == float("inf")
                or (lead_days is not None and lead_days < 0)):
            raise ValueError(f"{path}: line {number}: an on_hand count needs the item's"
                             " gtin or plu, and a finite number not below 0")
        rows.append((key, on_hand, lead_days))
    return rows


def record_stock(conn: psycopg.Connection, store: str,
                 counts: list[tuple[str, float, int | None]],
                 counted_at: dt.datetime | None = None, source: str = "catalog") -> int:
    """Record stock counts (:func:`read_feed_stock`'s rows) of ``store``; how many."""
    counted_at = counted_at or dt.datetime.now(dt.UTC)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany("INSERT INTO stock_counts (store_code, item_key, on_hand, counted_at,"
                        " lead_time_days, source) VALUES (%s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT (store_code, item_key, counted_at) DO UPDATE SET"
                        " on_hand = EXCLUDED.on_hand,"
                        " lead_time_days = EXCLUDED.lead_time_days",
                        [(store, key, on_hand, counted_at, lead, source)
                         for key, on_hand, lead in counts])
    return len(counts)
