"""What the demand forecast reads from the back office: each item's daily units sold in a
store, and its stock on hand (issue 18).

Units sold come from the lanes' synced journal rows, replayed per session the way the
checkout applies them: ``item_added`` opens line N (N counts up from 1 in a session),
``quantity_changed`` sets its quantity, ``line_removed`` drops it; a session's lines count
as sold on the day (UTC) of its first ``auth_approved``. Training sessions
(:func:`kiosk.domain.training.is_training_txn`) never count, nor a basket never paid, nor a
basket with a row the ingest flagged ``broken_chain`` (an edited or corrupted row: the
whole basket is left out and counted in ``flagged_baskets``). A line
sold by weight counts its weight in kg.

Stock on hand is the latest count of the item (table ``stock_counts``, migration 005: from
the catalog feed's ``on_hand`` column, :func:`read_feed_stock`) less the units sold after
it was counted.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg

from kiosk.domain.training import is_training_txn

_TYPES = ("session_started", "item_added", "quantity_changed", "line_removed", "auth_approved")


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
    names: dict[str, str] = field(default_factory=dict)
    stock: dict[str, StockCount] = field(default_factory=dict)
    flagged_baskets: int = 0  # paid baskets left out: a row of theirs is flagged broken_chain

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=self.units.shape[1] - 1)


def latest_counts(conn: psycopg.Connection, store: str) -> dict[str, StockCount]:
    rows = conn.execute(
        "SELECT DISTINCT ON (item_key) item_key, on_hand, counted_at, lead_time_days"
        " FROM stock_counts WHERE store_code = %s ORDER BY item_key, counted_at DESC",
        (store,)).fetchall()
    return {key: StockCount(float(on_hand), at, lead) for key, on_hand, at, lead in rows}


def sales_history(conn: psycopg.Connection, store: str, until: dt.date | None = None,
                  days: int = 365) -> SalesHistory:
    """The store's daily units per item for the ``days`` days up to ``until`` (default:
    the last day with a sale), and each item's stock on hand. LookupError: no such store."""
    row = conn.execute("SELECT id FROM stores WHERE code = %s", (store,)).fetchone()
    if row is None:
        raise LookupError(f"no store {store!r} in the back office")
    store_id = row[0]
    if until is None:
        last = conn.execute("SELECT max(day) FROM events WHERE store_id = %s"
                            " AND type = 'auth_approved'", (store_id,)).fetchone()[0]
        until = last or dt.datetime.now(dt.UTC).date()
    first = until - dt.timedelta(days=days - 1)
    counts = latest_counts(conn, store)
    count_ts = {k: c.counted_at.timestamp() for k, c in counts.items()}
    sold: dict[tuple[str, int], float] = {}
    names: dict[str, str] = {}

    # a basket with an edited or corrupted row (flagged broken_chain at ingest) is left out
    flagged = set(conn.execute(
        "SELECT DISTINCT e.lane_id, e.txn FROM flags f JOIN events e ON e.lane_id = f.lane_id"
        " AND e.seq = f.seq WHERE f.kind = 'broken_chain' AND e.store_id = %s"
        " AND e.day BETWEEN %s AND %s", (store_id, first - dt.timedelta(days=1), until)))
    left_out = 0
    lines: dict[int, list] = {}   # line_id -> [key, qty]
    txn: str | None = None
    paid = False
    with conn.cursor(name="forecast_sales") as cur:
        cur.itersize = 20000
        cur.execute("SELECT lane_id, ts, type, txn, data::jsonb, day FROM events"
                    " WHERE store_id = %s AND type = ANY(%s) AND day BETWEEN %s AND %s"
                    " ORDER BY lane_id, seq", (store_id, list(_TYPES), first, until))
        lane = None
        for lane_id, ts, kind, row_txn, data, day in cur:
            if lane_id != lane or kind == "session_started":
                lane, lines, txn, paid = lane_id, {}, row_txn, False
            if is_training_txn(row_txn) or row_txn != txn:
                continue
            if kind == "item_added":
                line = data["line"]
                amount = (line.get("weight_g") or 0) / 1000 if line["sold_by_weight"] else 1
                # line ids count up from 1 in a session; a removed line keeps its id
                lines[len(lines) + 1] = [line["key"], amount, line["sold_by_weight"]]
                names.setdefault(line["key"], next(iter(line["names"].values()), ""))
            elif kind == "quantity_changed" and data["line_id"] in lines:
                entry = lines[data["line_id"]]
                if not entry[2]:
                    entry[1] = data["qty"]
            elif kind == "line_removed" and data["line_id"] in lines:
                lines[data["line_id"]][1] = 0
            elif kind == "auth_approved" and not paid:
                paid = True
                if (lane_id, txn) in flagged:
                    left_out += 1
                    continue
                offset = (day - first).days
                for key, amount, _weighed in lines.values():
                    if amount:
                        sold[(key, offset)] = sold.get((key, offset), 0) + amount
                        if key in counts and ts > count_ts[key]:
                            counts[key].sold_since += amount
    keys = sorted({key for key, _ in sold} | set(counts))
    index = {k: i for i, k in enumerate(keys)}
    units = np.zeros((len(keys), days))
    for (key, offset), amount in sold.items():
        units[index[key], offset] += amount
    return SalesHistory(store, first, keys, units, names, counts, left_out)


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
