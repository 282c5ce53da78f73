"""Two weeks of selling on three lanes of two stores, written as the lanes' real journals
(:class:`kiosk.journal.store.Journal`: every event checked against its model, hash-chained)
and shipped through the real ingest API, with the truth kept beside them (:class:`Ledger`)
so a test can check the dashboard's numbers against what was sold.

The baskets: items scanned (some twice: a quantity change; some taken off again), a card
or wallet payment (some declined first, then paid), some abandoned (voided), and a few
training sales (txn ``TRAIN-...``) that must never count. Deterministic (a seeded RNG).

Promotions: each store's catalog version 1 (applied by every lane at the start) has "milk:
2 for the price of 1"; version 2, applied from :data:`PROMO_FROM`, adds "ramyun: 3 for
12.00". Baskets are paid at their price after those (the ledger works the discount out by
its own arithmetic, not the lane's pricing code).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.catalog import make_snapshot
from kiosk.domain.catalog import Product
from kiosk.domain.feedback import RATINGS, REASONS
from kiosk.domain.rules import PromotionConfig
from kiosk.domain.training import is_training_txn, training_txn
from kiosk.journal.store import Journal

#: the day the tests look at (a Monday); the data covers the 14 days up to it
DAY = dt.date(2026, 11, 30)
DAYS = 14
LANES = {"S001-L01": "S001", "S001-L02": "S001", "S002-L01": "S002"}
ITEMS = [  # key, en, zh_Hans, ko, unit price (minor)
    ("00000000000017", "Shin Ramyun 5-pack", "辛拉面 5连包", "신라면 5입", 549),
    ("00000000000024", "Whole milk 1 L", "全脂牛奶 1升", "흰우유 1L", 199),
    ("00000000000031", "Sourdough bread", "酸面包", "사워도우 빵", 425),
    ("00000000000048", "Green tea 500 ml", "绿茶 500毫升", "녹차 500ml", 159),
    ("00000000000055", "Eggs, dozen", "鸡蛋 12个", "달걀 12구", 389),
    ("00000000000062", "Kimchi 500 g", "泡菜 500克", "김치 500g", 699),
    ("00000000000079", "Jasmine rice 2 kg", "茉莉香米 2公斤", "재스민 쌀 2kg", 1299),
    ("00000000000086", "Dark chocolate", "黑巧克力", "다크 초콜릿", 279),
    ("00000000000093", "Instant coffee", "速溶咖啡", "인스턴트 커피", 849),
    ("00000000000109", "Tofu 400 g", "豆腐 400克", "두부 400g", 229),
    ("00000000000116", "Soy sauce", "酱油", "간장", 359),
    ("00000000000123", "Mandarin oranges 1 kg", "橘子 1公斤", "귤 1kg", 499),
]
BRANDS = ("Visa", "Mastercard", "UnionPay")
MILK, RAMYUN = "00000000000024", "00000000000017"
#: (id, names, gtin, units in a group, what a group costs): the test's two promotions
MILK_2_FOR_1 = ("milk-2-for-1", {"en": "Milk: 2 for 1", "zh_Hans": "牛奶买一送一",
                                 "ko": "우유 1+1"}, MILK, 2, 199)
RAMYUN_3_FOR_12 = ("ramyun-3-for-12", {"en": "Ramyun: 3 for $12", "zh_Hans": "辛拉面 3 件 12 美元",
                                       "ko": "신라면 3개 12달러"}, RAMYUN, 3, 1200)
#: the first day version 2 (with the ramyun promotion) is in place on every lane
PROMO_FROM = DAY - dt.timedelta(days=3)


def _promotion(promo: tuple) -> PromotionConfig:
    pid, names, gtin, n, price = promo
    if pid == MILK_2_FOR_1[0]:
        return PromotionConfig(id=pid, name=names, kind="buy_n_pay_m", gtins=[gtin], n=n, m=1)
    return PromotionConfig(id=pid, name=names, kind="n_for_price", gtins=[gtin], n=n,
                           price=f"{price // 100}.{price % 100:02d}")


def catalog_versions() -> list[tuple[list[Product], list[PromotionConfig]]]:
    """Each store's catalog versions 1 and 2 (products, promotions), as published."""
    products = [Product(key, None, {"en": en, "zh_Hans": zh, "ko": ko}, price, "standard",
                        False, False) for key, en, zh, ko, price in ITEMS]
    return [(products, [_promotion(MILK_2_FOR_1)]),
            (products, [_promotion(MILK_2_FOR_1), _promotion(RAMYUN_3_FOR_12)])]


def in_effect(day: dt.date) -> list[tuple]:
    return [MILK_2_FOR_1] + ([RAMYUN_3_FOR_12] if day >= PROMO_FROM else [])


def discounts(kept: list[tuple[tuple, int]], day: dt.date) -> dict[str, tuple[int, int]]:
    """promotion id → (units of its item in the basket, amount it gives away)."""
    out = {}
    for pid, _, gtin, n, price in in_effect(day):
        unit = next(item[4] for item in ITEMS if item[0] == gtin)
        units = sum(qty for item, qty in kept if item[0] == gtin)
        out[pid] = units, units // n * (n * unit - price)
    return out


@dataclass
class Ledger:
    """What was really sold (training and unpaid baskets left out), per store."""

    sales: Counter = field(default_factory=Counter)           # (store, day) → baskets paid
    amount: Counter = field(default_factory=Counter)          # (store, day) → minor units
    hour_amount: Counter = field(default_factory=Counter)     # (store, day, hour) → minor
    mix: Counter = field(default_factory=Counter)             # (store, day, method, brand) → n
    item_qty: Counter = field(default_factory=Counter)        # (store, day, key) → qty
    item_amount: Counter = field(default_factory=Counter)     # (store, day, key) → minor
    declined: Counter = field(default_factory=Counter)       # (store, day) → declines
    abandoned: Counter = field(default_factory=Counter)      # (store, day, step) → baskets
    help: Counter = field(default_factory=Counter)           # (store, day) → help asked
    voids: Counter = field(default_factory=Counter)          # (store, day) → staff voids
    help_waits: list = field(default_factory=list)           # (store, day, s) call → staff
    attended: dict = field(default_factory=lambda: defaultdict(list))  # what → (store, day, s)
    seconds: list = field(default_factory=list)              # (store, day, s) first scan → paid
    ratings: Counter = field(default_factory=Counter)        # (store, day, rating) → ratings
    reasons: Counter = field(default_factory=Counter)        # (store, day, reason) → times
    rated_ms: list = field(default_factory=list)             # (store, day, rating, ms) to receipt
    channels: Counter = field(default_factory=Counter)       # (store, day, figure) → baskets
    promo_given: Counter = field(default_factory=Counter)    # (store, day, promo) → minor
    promo_baskets: Counter = field(default_factory=Counter)  # (store, day, promo) → baskets
    promo_units: Counter = field(default_factory=Counter)    # (store, day, promo) → units
    training: int = 0
    training_ratings: int = 0                                # ratings of training sales
    masked: set = field(default_factory=set)                  # every masked PAN journaled

    def total(self, what: Counter, stores: set[str], days: set[dt.date]) -> int:
        return sum(v for k, v in what.items() if k[0] in stores and k[1] in days)


def _line(item: tuple, locale_names: bool = True) -> dict:
    key, en, zh, ko, price = item
    return {"key": key, "gtin": key, "plu": None, "names": {"en": en, "zh_Hans": zh, "ko": ko},
            "unit_price_minor": price, "tax_class": "standard", "age_restricted": False,
            "sold_by_weight": False}


def _basket(journal: Journal, rng: random.Random, txn: str, seq: int, ts: float,
            stan: int, notes: Counter, day: dt.date) -> tuple | None:
    """Write one basket's events; returns (lines (item, qty), method, brand, masked, amount,
    seconds from the first scan to the approval) for the ledger, None when abandoned;
    ``notes`` counts what else happened (declined, help, void, abandoned_<step>)."""
    events: list[dict] = [{"type": "session_started", "ts": ts, "txn": txn, "txn_seq": seq,
                           "locale": rng.choice(["en", "zh_Hans", "ko"])}]
    lines: list[list] = []
    t = ts
    first_scan = None
    for _ in range(rng.randint(1, 6)):
        t += rng.uniform(3, 20)
        first_scan = first_scan or t
        item = rng.choice(ITEMS)
        events.append({"type": "item_added", "ts": t, "line": _line(item)})
        lines.append([item, 1, True])
        if rng.random() < (0.5 if item[0] in (MILK, RAMYUN) else 0.2):
            # scanned again: one line, quantity 2 or 3 (more often on a promotion)
            t += 2
            lines[-1][1] = rng.randint(2, 3)
            events.append({"type": "quantity_changed", "ts": t, "line_id": len(lines),
                           "qty": lines[-1][1]})
    # an attendant at the lane: its own RNG (seeded by the txn) so the baskets stay as they were
    attend = random.Random(f"{txn}:attend")
    if attend.random() < 0.1:  # the last item scanned needs an age check
        wait = attend.randint(5, 90)
        t += wait
        notes["age_wait_s"] = wait
        events.append({"type": "age_approved", "ts": t, "line_id": len(lines),
                       "staff_id": "1001"})
    if attend.random() < 0.1:  # something bagged without a scan
        wait = attend.randint(3, 60)
        how = "override" if attend.random() < 0.6 else "put_right"
        notes[f"bagging_{how}_s"] = wait
        events += [{"type": "bagging_alert", "ts": t + 1, "kind": "unexpected_item",
                    "delta_g": 480},
                   {"type": "bagging_cleared", "ts": t + 1 + wait, "kind": "unexpected_item",
                    "how": how, **({"staff_id": "1001"} if how == "override" else {})}]
        t += 1 + wait
    if len(lines) > 1 and rng.random() < 0.15:  # taken off again
        gone = rng.randrange(len(lines))
        lines[gone][2] = False
        t += 4
        by = "shopper"
        if rng.random() < 0.4:  # voided by an attendant
            by = "1001"
            notes["void"] += 1
        events.append({"type": "line_removed", "ts": t, "line_id": gone + 1, "by": by})
    if rng.random() < 0.06:  # the shopper asks for help; an attendant comes
        notes["help"] += 1
        # the attendant's walk: its own RNG (seeded by the txn) so the baskets stay as they were
        wait = random.Random(f"{txn}:help").randint(15, 150)
        notes["help_wait_s"] = wait
        events += [{"type": "help_requested", "ts": t + 1},
                   {"type": "staff_signed_in", "ts": t + 1 + wait, "staff_id": "1001",
                    "staff_name": "Kim"},
                   {"type": "attendant_cleared", "ts": t + 6 + wait, "staff_id": "1001"}]
        t += 7 + wait
    kept = [(item, qty) for item, qty, on in lines if on]
    if rng.random() < 0.08:  # abandoned while scanning
        notes["abandoned_basket"] += 1
        events.append({"type": "basket_voided", "ts": t + 30, "reason": "cancel"})
        journal.append(events, txn=txn)
        return None
    amount = sum(item[4] * qty for item, qty in kept) - sum(
        given for _, given in discounts(kept, day).values())
    method = "card" if rng.random() < 0.75 else "qr"
    brand = rng.choice(BRANDS) if method == "card" else ""
    masked = f"******{rng.randint(0, 9999):04d}"
    events.append({"type": "checkout_started", "ts": t + 5})
    t += 10
    if rng.random() < 0.1:  # declined first
        notes["declined"] += 1
        events += [{"type": "auth_requested", "ts": t, "method": method, "amount": amount,
                    "stan": stan, "idem_key": f"{txn}-{stan}"},
                   {"type": "auth_declined", "ts": t + 3, "stan": stan, "reason": "51",
                    "message_key": "card_declined", "response_code": "51"}]
        stan += 1
        t += 10
        if rng.random() < 0.3:  # and gives up
            notes["abandoned_payment"] += 1
            events.append({"type": "basket_voided", "ts": t, "reason": "cancel"})
            journal.append(events, txn=txn)
            return None
    card = {"brand": brand, "masked_pan": masked} if method == "card" else None
    events += [{"type": "auth_requested", "ts": t, "method": method, "amount": amount,
                "stan": stan, "idem_key": f"{txn}-{stan}"},
               {"type": "auth_approved", "ts": t + 3, "stan": stan, "auth_code": "A1B2C3",
                "card": card, "rrn": f"{stan:012d}", "response_code": "00"}]
    events += _rating(txn, t + 3, first_scan, notes)
    events.append({"type": "session_finished", "ts": t + 20, **_channels(txn, notes)})
    journal.append(events, txn=txn)
    return kept, method, brand, masked, amount, t + 3 - first_scan


def _rating(txn: str, approved: float, first_scan: float, notes: Counter) -> list[dict]:
    """Half the paid baskets rate the checkout after the receipt (issue 18): a rating and,
    for a low one, what went wrong. Its own RNG (seeded by the txn), so the baskets
    themselves stay as they were."""
    rng = random.Random(txn)
    if rng.random() < 0.5:
        return []
    rating = rng.choice(RATINGS)
    reasons = sorted(rng.sample(REASONS, rng.randint(0, 2))) if rating < 3 else []
    notes[f"rating_{rating}"] += 1
    notes[f"rated_ms_{rating}"] = round((approved + 2 - first_scan) * 1000)
    for reason in reasons:
        notes[f"reason_{reason}"] += 1
    return [{"type": "shopper_rating", "ts": approved + 8, "rating": rating,
             "reasons": reasons, "by": rng.choice(["ui", "voice"]),
             "training": is_training_txn(txn), "scan_to_pay_ms": round((approved - 13 -
                                                                        first_scan) * 1000),
             "pay_to_approved_ms": 13_000, "approved_to_receipt_ms": 2_000,
             "scan_to_receipt_ms": notes[f"rated_ms_{rating}"]}]


#: the figures of the "how shoppers checked out" table, as the ledger counts them
CHANNEL_FIGURES = ("baskets", "voice", "keys", "touch_only", "not_recorded")


def _channels(txn: str, notes: Counter) -> dict:
    """How the shopper drove a finished basket (issue 18: ``session_finished``'s
    ``channels``; absent on a tenth, as a lane from before issue 18 journals it). Its own
    RNG (seeded by the txn), so the baskets and the other figures stay as they were."""
    rng = random.Random(f"{txn}:channels")
    notes["channels_baskets"] += 1
    if rng.random() < 0.1:
        notes["channels_not_recorded"] += 1
        return {}
    used = {"touch"} if rng.random() < 0.7 else set()
    used |= {c for c, p in (("voice", 0.3), ("keys", 0.15)) if rng.random() < p}
    used = used or {"voice"}
    for kind in used & {"voice", "keys"}:
        notes[f"channels_{kind}"] += 1
    notes["channels_touch_only"] += used == {"touch"}
    return {"channels": sorted(used)}


def _catalog_applied(journal: Journal, day: dt.date, version: int) -> None:
    products, promotions = catalog_versions()[version - 1]
    sha = make_snapshot(version, products, promotions).sha256
    ts = dt.datetime.combine(day, dt.time(7), dt.UTC).timestamp()
    journal.append([{"type": "catalog_applied", "ts": ts, "version": version,
                     "sha256": sha}], txn=None)


def write_journals(folder: Path, seed: int = 18) -> tuple[dict[str, Path], Ledger]:
    """The lanes' journals (lane → path) and the ledger of what they sold."""
    rng = random.Random(seed)
    ledger = Ledger()
    paths = {}
    for lane, store in LANES.items():
        path = folder / f"{lane}.sqlite"
        journal = Journal(path)
        n = stan = 0
        for back in range(DAYS - 1, -1, -1):
            day = DAY - dt.timedelta(days=back)
            if back == DAYS - 1 or day == PROMO_FROM:
                _catalog_applied(journal, day, 1 if back == DAYS - 1 else 2)
            busy = 6 + (day.weekday() >= 5) * 4 + (lane == "S001-L01") * 2
            hours = sorted(rng.choice(range(8, 21)) for _ in range(busy))
            for hour in hours:
                n += 1
                stan += 2
                start = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 50)), dt.UTC)
                training = rng.random() < 0.05
                txn = f"{lane}-{n:06d}"
                if training:
                    txn = training_txn(txn)
                notes: Counter = Counter()
                got = _basket(journal, rng, txn, n, start.timestamp(), stan, notes, day)
                if training:
                    ledger.training += got is not None
                    ledger.training_ratings += sum(notes[f"rating_{r}"] for r in RATINGS)
                    continue
                ledger.declined[store, day] += notes["declined"]
                ledger.help[store, day] += notes["help"]
                if notes["help"]:
                    ledger.help_waits.append((store, day, notes["help_wait_s"]))
                for what in ("age_wait_s", "bagging_override_s", "bagging_put_right_s"):
                    if what in notes:
                        ledger.attended[what].append((store, day, notes[what]))
                ledger.voids[store, day] += notes["void"]
                for step in ("basket", "payment"):
                    ledger.abandoned[store, day, step] += notes[f"abandoned_{step}"]
                for rating in RATINGS:
                    ledger.ratings[store, day, rating] += notes[f"rating_{rating}"]
                    if notes[f"rating_{rating}"]:
                        ledger.rated_ms.append((store, day, rating,
                                                notes[f"rated_ms_{rating}"]))
                for reason in REASONS:
                    ledger.reasons[store, day, reason] += notes[f"reason_{reason}"]
                for figure in CHANNEL_FIGURES:
                    ledger.channels[store, day, figure] += notes[f"channels_{figure}"]
                if got is None:
                    continue
                kept, method, brand, masked, amount, seconds = got
                ledger.seconds.append((store, day, seconds))
                ledger.sales[store, day] += 1
                ledger.amount[store, day] += amount
                ledger.hour_amount[store, day, hour] += amount
                ledger.mix[store, day, method, brand] += 1
                if method == "card":
                    ledger.masked.add(masked)
                for pid, (units, given) in discounts(kept, day).items():
                    ledger.promo_units[store, day, pid] += units
                    ledger.promo_given[store, day, pid] += given
                    ledger.promo_baskets[store, day, pid] += given > 0
                for item, qty in kept:
                    ledger.item_qty[store, day, item[0]] += qty
                    ledger.item_amount[store, day, item[0]] += item[4] * qty
        journal.close()
        paths[lane] = path
    return paths, ledger
