"""Basket pricing: line amounts, multi-buy promotions and tax, in integer minor units.

Everything here is a pure function of the basket's lines, so totals do not depend
on the order items were scanned in: promotions work on all units of their items
sorted by price, and tax is rounded once per tax class on the class total.

Weighed items: only a stable, positive, in-range reading of the lane's scale may price one
(:func:`priceable_weight`; motion, over capacity, under zero, a scale that does not answer
are refused with a reason the shopper is shown). Weights are whole grams; a line's amount is
unit price per kg x grams / 1000, rounded once, half up (:func:`weight_amount`), in the
currency's minor unit (a won has none: 3,980 KRW/kg x 1,234 g = 4,911.32 -> 4,911).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from kiosk.domain.money import Currency, round_half_up
from kiosk.domain.rules import PromotionConfig, TaxConfig

#: a scale reading's status → why it may not price an item (a rejected command's reason)
WEIGHT_REFUSALS = {
    "motion": "scale_motion", "over_capacity": "scale_over_capacity",
    "under_zero": "scale_under_zero", "not_ready": "scale_not_ready",
    "no_response": "scale_no_response", "bad_frame": "scale_no_response",
}


class WeightRefused(ValueError):
    """A scale reading that may not price an item; ``reason`` is one of WEIGHT_REFUSALS'
    values, ``scale_empty`` or ``scale_below_minimum``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: a reading older than this prices nothing: kiosk-scale repeats each reading every second,
#: so an older one means it is stuck (its process stopped, the bus cut)
STALE_S = 3.0


@dataclass(frozen=True)
class ScaleWeight:
    """What the lane's produce scale last said (kiosk-scale's message), with its legal range
    (a weight prices an item only from ``min_g`` to ``capacity_g``) and how old it is."""

    status: str
    weight_g: int | None
    min_g: int
    capacity_g: int
    age_s: float = 0.0


def priceable_weight(reading: ScaleWeight) -> int:
    """The grams ``reading`` may price an item at, or :class:`WeightRefused`."""
    if reading.age_s > STALE_S:
        raise WeightRefused("scale_no_response")
    if reading.status != "stable" or reading.weight_g is None:
        raise WeightRefused(WEIGHT_REFUSALS.get(reading.status, "scale_no_response"))
    weight = reading.weight_g
    if weight <= 0:
        raise WeightRefused("scale_empty")
    if weight < reading.min_g:
        raise WeightRefused("scale_below_minimum")
    if weight > reading.capacity_g:
        raise WeightRefused("scale_over_capacity")
    return weight


def weight_amount(unit_price_minor: int, weight_g: int) -> int:
    """The price of ``weight_g`` grams at ``unit_price_minor`` per kg, rounded once, half up."""
    return round_half_up(Decimal(unit_price_minor) * weight_g / 1000)


def kg_text(weight_g: int) -> str:
    """Grams as kilograms with three decimals, exactly (1234 → "1.234")."""
    return f"{weight_g // 1000}.{weight_g % 1000:03d}"


@dataclass(frozen=True)
class PricedLine:
    """What pricing needs of a basket line (a subset of the journaled line)."""

    key: str
    unit_price_minor: int
    tax_class: str
    qty: int = 1
    weight_g: int | None = None
    price_minor: int | None = None  # price embedded in a variable-measure barcode

    @property
    def amount(self) -> int:
        if self.price_minor is not None:
            return self.price_minor
        if self.weight_g is not None:
            return weight_amount(self.unit_price_minor, self.weight_g)
        return self.unit_price_minor * self.qty

    @property
    def countable(self) -> bool:
        """Only items sold per unit take part in multi-buy promotions."""
        return self.weight_g is None and self.price_minor is None


@dataclass(frozen=True)
class Discount:
    promotion_id: str
    names: dict[str, str]
    amount: int
    by_class: dict[str, int]


@dataclass(frozen=True)
class TaxLine:
    tax_class: str
    rate: str  # percent, as configured
    base: int  # net amount taxed (exclusive) or gross amount containing tax (inclusive)
    tax: int


@dataclass(frozen=True)
class Totals:
    subtotal: int            # sum of line amounts before promotions
    savings: int             # sum of promotion discounts
    tax: int                 # tax added (exclusive) or contained (inclusive)
    total: int               # amount to pay
    tax_mode: str
    discounts: list[Discount] = field(default_factory=list)
    taxes: list[TaxLine] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def promotion_discounts(lines: list[PricedLine], promotions: list[PromotionConfig],
                        currency: Currency) -> list[Discount]:
    """Discounts of every promotion over the whole basket (order independent).

    Promotions are applied in configured order and a unit that went into one
    promotion's group is not offered to the next, so overlapping promotions never
    discount the same unit twice.
    """
    free_units: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for ln in lines:
        if ln.countable:
            free_units[ln.key] += [(ln.unit_price_minor, ln.tax_class)] * ln.qty
    discounts = []
    for promo in promotions:
        units = sorted(
            ((price, tax_class, key) for key in promo.gtins
             for price, tax_class in free_units.get(key, [])),
            key=lambda unit: (-unit[0], unit[1], unit[2]),
        )
        by_class: dict[str, int] = defaultdict(int)
        used = len(units) - len(units) % promo.n
        for start in range(0, used, promo.n):
            group = units[start:start + promo.n]
            if promo.kind == "buy_n_pay_m":
                for price, tax_class, _ in group[promo.m:]:  # the cheapest n-m units are free
                    by_class[tax_class] += price
            else:
                _allocate([(p, c) for p, c, _ in group],
                          sum(p for p, _, _ in group) - currency.parse(promo.price or "0"),
                          by_class)
        for price, tax_class, key in units[:used]:
            free_units[key].remove((price, tax_class))
        amount = sum(by_class.values())
        if amount > 0:
            discounts.append(Discount(promo.id, dict(promo.name), amount, dict(by_class)))
    return discounts


def _allocate(group: list[tuple[int, str]], discount: int, by_class: dict[str, int]) -> None:
    """Spread a group discount over its units' tax classes in proportion to price.

    Largest-remainder rounding, never more than a unit's own price, ties to the
    dearest unit first: deterministic and exact to the minor unit.
    """
    if discount <= 0:
        return
    gross = sum(p for p, _ in group)
    discount = min(discount, gross)
    shares = [discount * p // gross for p, _ in group]
    order = sorted(range(len(group)), key=lambda i: (-(discount * group[i][0] % gross), i))
    left = discount - sum(shares)
    while left:
        for i in order:
            if left and shares[i] < group[i][0]:
                shares[i] += 1
                left -= 1
    for share, (_, tax_class) in zip(shares, group, strict=True):
        by_class[tax_class] += share


def price_basket(lines: list[PricedLine], promotions: list[PromotionConfig], tax: TaxConfig,
                 currency: Currency) -> Totals:
    """Totals for a basket: subtotal, promotion savings, tax per class, amount to pay."""
    discounts = promotion_discounts(lines, promotions, currency)
    per_class: dict[str, int] = defaultdict(int)
    for ln in lines:
        per_class[ln.tax_class] += ln.amount
    for d in discounts:
        for tax_class, amount in d.by_class.items():
            per_class[tax_class] -= amount
    taxes = []
    for tax_class in sorted(per_class):
        base = per_class[tax_class]
        rate = tax.rates[tax_class]
        if tax.mode == "exclusive":
            amount = round_half_up(Decimal(base) * rate / 100)
        else:
            amount = round_half_up(Decimal(base) * rate / (100 + rate))
        taxes.append(TaxLine(tax_class, str(rate), base, amount))
    subtotal = sum(ln.amount for ln in lines)
    savings = sum(d.amount for d in discounts)
    tax_total = sum(t.tax for t in taxes)
    net = subtotal - savings
    total = net + tax_total if tax.mode == "exclusive" else net
    return Totals(subtotal, savings, tax_total, total, tax.mode, discounts, taxes)
