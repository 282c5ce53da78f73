"""A realistic synthetic year of sales for several stores (issue 18): the data the demand
forecast's tests, the demo and ``kiosk bench forecast`` run on.

:func:`generate` draws, from one seed, a catalog of items and each store's daily units sold
for ``days`` days. The expected demand of an item in a store on a day is

    rate(item) x size(store) x weekly(item, weekday) x yearly(item, day of year)
      x (price / base price) ^ -elasticity(item) x promotion uplift x holiday effect

and the units are drawn around it (Poisson-gamma, so fast movers are over-dispersed as real
sales are). It has: weekly seasonality (weekend peaks, shaped per item), yearly seasonality
(summer and winter items), promotions (a week at a price cut, per store), holidays (closed
days, busy eves), slow movers (a fraction of the items sells a unit every few days: the
intermittent series), and permanent price changes (which move demand through elasticity).

:func:`write_events` turns a generated year into back-office events exactly as lanes would
have synced them: per store one lane, baskets of ``session_started``, ``item_added`` /
``quantity_changed``, ``auth_requested``, ``auth_approved``, ``session_finished`` (with
the shopper's channels, :data:`CHANNEL_MIX`),
hash-chained with the journal's own :func:`~kiosk.journal.store.chain_digest` and COPYed into
``events`` (day partitions made first), the lane's chain state set as if it had synced. It
also writes each store's last stock count (``stock_counts``), 3 days before the end.

``kiosk sim salesyear --db URL`` loads one into a back office (demos, trying
``kiosk backoffice forecast``). Pure numpy apart from :func:`write_events` and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from kiosk.domain.gtin import check_digit

#: fixed-date holidays: (month, day) -> demand factor (0: the stores are closed)
HOLIDAYS = {(1, 1): 0.0, (12, 25): 0.0, (12, 24): 1.8, (12, 31): 1.6, (5, 1): 0.4,
            (10, 3): 0.5}
#: a promotion's price cut and the demand uplift on top of the price elasticity
PROMO_CUT = 0.2
PROMO_UPLIFT = 1.5
PROMO_DAYS = 7


@dataclass(frozen=True)
class SimItem:
    key: str            # the catalog key (its GTIN)
    name: str
    base_price_minor: int
    rate: float         # mean units a day in a store of size 1, before any effect
    slow: bool          # a slow mover (intermittent demand)
    elasticity: float


@dataclass
class SalesYear:
    start: dt.date
    stores: list[str]
    items: list[SimItem]
    units: np.ndarray          # [store, item, day] units sold (int)
    price_minor: np.ndarray    # [item, day] shelf price before a promotion
    promo: np.ndarray          # [store, item, day] bool: on promotion
    expected: np.ndarray       # [store, item, day] the expected demand units were drawn from
    stock: np.ndarray          # [store, item] stock counted at the start of stock_day
    stock_day: int
    extra: dict = field(default_factory=dict)

    @property
    def days(self) -> int:
        return self.units.shape[2]

    def day(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=index)

    def price_paid(self, store: int, item: int, day: int) -> int:
        price = int(self.price_minor[item, day])
        return round(price * (1 - PROMO_CUT)) if self.promo[store, item, day] else price


def _gtin(n: int) -> str:
    body = f"200{n:09d}"
    return body + str(check_digit(body))


def generate(stores: int = 3, items: int = 200, days: int = 365,
             start: dt.date = dt.date(2025, 1, 1), seed: int = 18,
             slow_share: float = 0.3, volume: float = 1.0) -> SalesYear:
    """A synthetic sales history (see the module docstring); the same seed, the same year.
    ``volume`` scales the fast movers' rates (a small store for a quick test)."""
    rng = np.random.default_rng(seed)
    n_slow = int(round(items * slow_share))
    slow = np.zeros(items, bool)
    slow[rng.choice(items, n_slow, replace=False)] = True
    rate = np.where(slow, rng.uniform(0.05, 0.6, items),
                    volume * rng.lognormal(math.log(12), 0.8, items))
    base_price = rng.integers(79, 1999, items)
    elasticity = rng.uniform(0.8, 2.5, items)
    catalog = [SimItem(_gtin(i + 1), f"Item {i + 1}", int(base_price[i]), float(rate[i]),
                       bool(slow[i]), float(elasticity[i])) for i in range(items)]
    size = rng.uniform(0.6, 1.6, stores)

    dates = [start + dt.timedelta(days=d) for d in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates])
    # weekly shape: Saturday and Friday peaks, quiet Monday, each item its own strength
    shape = np.array([0.8, 0.9, 0.95, 1.0, 1.2, 1.45, 0.7])
    strength = rng.uniform(0.3, 1.3, items)[:, None]
    weekly = 1 + strength * (shape[None, :] - 1)                        # [item, 7]
    amp = rng.uniform(0.0, 0.45, items)[:, None]
    phase = rng.choice([172, 355, 80, 264], items)[:, None]             # summer, winter, ...
    yearly = 1 + amp * np.cos(2 * np.pi * (doy[None, :] - phase) / 365.25)  # [item, day]
    holiday = np.array([HOLIDAYS.get((d.month, d.day), 1.0) for d in dates])

    price = np.repeat(base_price[:, None].astype(float), days, axis=1)
    for i in range(items):  # 0-2 permanent price changes a year
        for _ in range(rng.integers(0, 3)):
            when = rng.integers(30, max(31, days - 10))
            price[i, when:] *= rng.uniform(0.88, 1.15)
    price = np.round(price).astype(np.int64)
    promo = np.zeros((stores, items, days), bool)
    for s in range(stores):
        for i in range(items):
            if slow[i]:
                continue
            for _ in range(rng.integers(0, 4)):
                begin = rng.integers(0, max(1, days - PROMO_DAYS))
                promo[s, i, begin:begin + PROMO_DAYS] = True

    base = (rate[:, None] * weekly[:, weekday] * yearly
            * (price / base_price[:, None]) ** -elasticity[:, None])    # [item, day]
    paid_ratio = np.where(promo, 1 - PROMO_CUT, 1.0)
    expected = (size[:, None, None] * base[None] * holiday[None, None, :]
                * paid_ratio ** -elasticity[None, :, None] * np.where(promo, PROMO_UPLIFT, 1.0))
    # Poisson-gamma: over-dispersed fast movers (shape 4), plain Poisson for slow movers
    shape_k = np.where(slow, 1e6, 4.0)[None, :, None]
    lam = rng.gamma(shape_k, expected / shape_k)
    units = rng.poisson(lam).astype(np.int64)
    # the last stock count: 3 days before the end, some 4 to 30 days of demand on the shelf
    stock_day = max(0, days - 3)
    recent = expected[:, :, max(0, stock_day - 14):stock_day].mean(axis=2) if stock_day else \
        expected[:, :, 0]
    stock = np.ceil(recent * rng.uniform(4, 30, (stores, items))).astype(np.int64)
    return SalesYear(start, [f"S{s + 1:03d}" for s in range(stores)], catalog, units, price,
                     promo, expected, stock, stock_day)


# -- into the back office ------------------------------------------------------------------

def _baskets(rng: np.random.Generator, day_units: np.ndarray) -> list[list[tuple[int, int]]]:
    """Split one store-day's units [item] into baskets of (item, qty) lines."""
    pool = np.repeat(np.arange(day_units.size), day_units)
    rng.shuffle(pool)
    out, at = [], 0
    while at < pool.size:
        n = 1 + int(rng.poisson(5))
        chunk = pool[at:at + n]
        at += n
        keys, counts = np.unique(chunk, return_counts=True)
        out.append(list(zip(keys.tolist(), counts.tolist(), strict=True)))
    return out


#: how the synthetic shoppers drove their baskets (``session_finished.channels``) and how
#: often: most by touch alone, some by voice, a few with the tactile keys (accessible mode)
CHANNEL_MIX: tuple[tuple[tuple[str, ...], float], ...] = (
    (("touch",), 0.88), (("touch", "voice"), 0.07), (("keys",), 0.03), (("keys", "voice"), 0.02))


def journal_rows(year: SalesYear, store: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """The lane journal rows (seq, ts, type, txn, data dict) of ``store``'s year, in order."""
    rng = np.random.default_rng([seed, store])
    # a stream of its own: the channels drawn do not move the baskets' draws
    how = np.random.default_rng([seed, store, 1])
    mixes = [list(m) for m, _share in CHANNEL_MIX]
    shares = [share for _m, share in CHANNEL_MIX]
    seq = 0
    txn_seq = 0
    lane = f"{year.stores[store]}-L01"
    for d in range(year.days):
        baskets = _baskets(rng, year.units[store, :, d])
        if not baskets:
            continue
        midnight = dt.datetime.combine(year.day(d), dt.time(), dt.UTC).timestamp()
        # opening hours 08:00-21:00 UTC, baskets spread over them in order
        times = np.sort(rng.uniform(8 * 3600, 21 * 3600 - 600, len(baskets)))
        for basket, offset in zip(baskets, times, strict=True):
            txn_seq += 1
            txn = f"{lane}-{txn_seq:06d}"
            ts = midnight + float(offset)
            rows = [("session_started", {"v": 1, "txn": txn, "txn_seq": txn_seq,
                                         "locale": "en"})]
            total = 0
            for line_id, (item, qty) in enumerate(basket, start=1):
                sim = year.items[item]
                price = year.price_paid(store, item, d)
                total += price * qty
                rows.append(("item_added", {"v": 1, "line": {
                    "key": sim.key, "gtin": sim.key, "plu": None, "names": {"en": sim.name},
                    "unit_price_minor": price, "tax_class": "standard",
                    "age_restricted": False, "sold_by_weight": False}}))
                if qty > 1:
                    rows.append(("quantity_changed", {"v": 1, "line_id": line_id, "qty": qty}))
            rows.append(("checkout_started", {"v": 1}))
            rows.append(("auth_requested", {"v": 1, "method": "card", "amount": total,
                                            "stan": txn_seq, "idem_key": f"{txn}-1"}))
            rows.append(("auth_approved", {"v": 1, "stan": txn_seq, "auth_code": "A00001",
                                           "card": None, "rrn": f"{txn_seq:012d}",
                                           "response_code": "00"}))
            rows.append(("session_finished", {"v": 2, "next_locale": None,
                                              "channels": mixes[how.choice(len(mixes),
                                                                           p=shares)]}))
            for kind, data in rows:
                seq += 1
                ts += 2.0
                yield seq, round(ts, 3), kind, txn, data


def write_events(conn, year: SalesYear, seed: int = 0) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Load ``year`` into the back office at ``conn`` (schema migrated) as synced lanes
    (one lane a store, ``<store>-L01``), with each store's stock count at the midnight
    starting ``stock_day``. Returns events written per store."""
    from kiosk.journal.store import canonical_data, chain_digest

    first, last = year.start, year.day(year.days - 1)
    counted_at = dt.datetime.combine(year.day(year.stock_day), dt.time(), dt.UTC)
    written: dict[str, int] = {}
    with conn.transaction():
        conn.execute("SELECT ensure_event_partitions(%s, %s)", (first, last))
        for s, code in enumerate(year.stores):
            conn.execute("INSERT INTO stores (code) VALUES (%s) ON CONFLICT (code) DO NOTHING",
                         (code,))
            store_id = conn.execute("SELECT id FROM stores WHERE code = %s",
                                    (code,)).fetchone()[0]
            token = hashlib.sha256(f"salesyear:{code}".encode()).hexdigest()
            lane_id = conn.execute(
                "INSERT INTO lanes (store_id, name, token_sha256) VALUES (%s, %s, %s)"
                " RETURNING id", (store_id, f"{code}-L01", token)).fetchone()[0]
            prev, seq = "0" * 64, 0
            with conn.cursor().copy(
                    "COPY events (store_id, lane_id, seq, day, ts, type, txn, data, hash)"
                    " FROM STDIN") as copy:
                for seq, ts, kind, txn, data in journal_rows(year, s, seed):
                    text = canonical_data(data)
                    prev = chain_digest(prev, seq, ts, kind, text)
                    day = dt.datetime.fromtimestamp(ts, dt.UTC).date()
                    copy.write_row((store_id, lane_id, seq, day, ts, kind, txn, text, prev))
            conn.execute("INSERT INTO lane_chain (lane_id, last_seq, last_hash)"
                         " VALUES (%s, %s, %s)", (lane_id, seq, prev))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO stock_counts (store_code, item_key, on_hand, counted_at,"
                    " source) VALUES (%s, %s, %s, %s, 'salesyear')",
                    [(code, item.key, int(year.stock[s, i]), counted_at)
                     for i, item in enumerate(year.items)])
            written[code] = seq
    return written


# -- kiosk sim salesyear -------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kiosk.backoffice.commands import DB_ENV

    parser.add_argument("--db", help=f"back-office database URL (default: ${DB_ENV})")
    parser.add_argument("--stores", type=int, default=3, help="stores S001.. (default 3)")
    parser.add_argument("--items", type=int, default=200, help="items (default 200)")
    parser.add_argument("--days", type=int, default=365, help="days (default 365)")
    parser.add_argument("--start", default="2025-01-01", help="first day (YYYY-MM-DD)")
    parser.add_argument("--seed", type=int, default=18, help="the same seed, the same year")
    parser.set_defaults(fn=cmd_salesyear)


def cmd_salesyear(args: argparse.Namespace) -> int:
    import psycopg

    from kiosk.backoffice.commands import DB_ENV

    url = args.db or os.environ.get(DB_ENV)
    if not url:
        print(f"kiosk sim salesyear: no database: give --db URL or set {DB_ENV}",
              file=sys.stderr)
        return 2
    year = generate(args.stores, args.items, args.days, dt.date.fromisoformat(args.start),
                    args.seed)
    with psycopg.connect(url) as conn:
        try:
            written = write_events(conn, year, args.seed)
        except psycopg.errors.UniqueViolation as exc:
            print(f"kiosk sim salesyear: already loaded? {exc}", file=sys.stderr)
            return 1
    for store, n in written.items():
        print(f"store {store}: lane {store}-L01, {n} events, {len(year.items)} items,"
              f" {year.day(0)} .. {year.day(year.days - 1)}")
    return 0
