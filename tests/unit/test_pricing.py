"""Unit tests for kiosk.domain.pricing: line amounts, multi-buy promotions and tax."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import load_config
from kiosk.domain.gtin import validate_gtin
from kiosk.domain.money import Currency
from kiosk.domain.pricing import PricedLine, price_basket, promotion_discounts
from kiosk.domain.rules import PromotionConfig, TaxConfig
from tests.fixtures import sample_items as items

USD = Currency("USD", 840, 2)

# Catalog keys are GTINs normalised to 14 digits (see kiosk.catalog.Product.key).
NOODLE = validate_gtin(items.CUP_NOODLES)     # 0.99, reduced, in CUPNOODLE-3FOR2
COLA = validate_gtin(items.COLA)              # 2.49, reduced, in COLA-2FOR4
TOFU_FIRM = validate_gtin(items.TOFU_FIRM)    # 1.79, reduced, in TOFU-MIX-2FOR3
TOFU_SOFT = validate_gtin(items.TOFU_SOFT)    # 1.49, reduced, in TOFU-MIX-2FOR3
BEER = validate_gtin(items.BEER)              # 2.29, standard
FORMULA = validate_gtin(items.FORMULA)        # 34.99, zero
BANANAS = "PLU" + items.BANANAS               # 1.99 per kg, sold by weight

EXCLUSIVE = TaxConfig(mode="exclusive",
                      rates={"standard": "8.875", "reduced": "2.25", "zero": "0"})
INCLUSIVE = TaxConfig(mode="inclusive",
                      rates={"standard": "8.875", "reduced": "2.25", "zero": "0"})


def _packaged_config():
    """The packaged defaults only: no site directory, no environment overrides."""
    return load_config(site_dir=Path("/nonexistent-kiosk-site-config"), environ={})


DEFAULT_PROMOTIONS = _packaged_config().promotions


def promo_buy(n: int, m: int, *gtins: str, pid: str = "BUY") -> PromotionConfig:
    return PromotionConfig(id=pid, name={"en": pid}, kind="buy_n_pay_m", n=n, m=m,
                           gtins=list(gtins))


def promo_price(n: int, price: str, *gtins: str, pid: str = "NFOR") -> PromotionConfig:
    return PromotionConfig(id=pid, name={"en": pid}, kind="n_for_price", n=n, price=price,
                           gtins=list(gtins))


def flat_tax(mode: str = "exclusive", **rates: str) -> TaxConfig:
    return TaxConfig(mode=mode, rates=rates or {"t": "0"})


# ---------------------------------------------------------------------------
# line amounts
# ---------------------------------------------------------------------------

def test_quantity_line_amount_is_unit_price_times_qty():
    assert PricedLine(COLA, 249, "reduced", qty=3).amount == 747
    assert PricedLine(COLA, 249, "reduced").amount == 249


def test_weighed_line_rounds_to_nearest_minor_unit():
    # 1.99/kg * 2.437 kg = 484.963 minor units -> 485
    assert PricedLine(BANANAS, 199, "reduced", weight_g=2437).amount == 485
    # 1.99/kg * 1.001 kg = 199.199 -> 199 (rounds down below the half)
    assert PricedLine(BANANAS, 199, "reduced", weight_g=1001).amount == 199


@pytest.mark.parametrize(("unit", "grams", "expected"), [
    (201, 2500, 503),   # 502.5: half-up gives 503 (banker's rounding would give 502)
    (1, 500, 1),        # 0.5 -> 1
    (3, 500, 2),        # 1.5 -> 2
    (5, 500, 3),        # 2.5 -> 3 (banker's: 2)
    (199, 0, 0),
])
def test_weighed_line_rounds_halves_up(unit, grams, expected):
    assert PricedLine(BANANAS, unit, "reduced", weight_g=grams).amount == expected


def test_embedded_price_wins_over_unit_price_and_weight():
    line = PricedLine(BANANAS, 199, "reduced", price_minor=485)
    assert line.amount == 485
    assert PricedLine(BANANAS, 199, "reduced", qty=5, weight_g=2000, price_minor=7).amount == 7


def test_only_unit_lines_are_countable_for_promotions():
    assert PricedLine(COLA, 249, "reduced", qty=2).countable
    assert not PricedLine(COLA, 249, "reduced", weight_g=1000).countable
    assert not PricedLine(COLA, 249, "reduced", price_minor=249).countable


# ---------------------------------------------------------------------------
# buy n pay m
# ---------------------------------------------------------------------------

THREE_FOR_TWO = promo_buy(3, 2, "070666928444", pid="CUP-3FOR2")


@pytest.mark.parametrize(("qty", "free_units"), [(1, 0), (2, 0), (3, 1), (4, 1), (5, 1),
                                                 (6, 2), (7, 2), (9, 3)])
def test_three_for_two_frees_one_unit_per_full_group(qty, free_units):
    lines = [PricedLine(NOODLE, 99, "reduced", qty=qty)]
    discounts = promotion_discounts(lines, [THREE_FOR_TWO], USD)
    saved = sum(d.amount for d in discounts)
    assert saved == 99 * free_units
    if free_units == 0:
        assert discounts == []   # no zero-amount discount lines on the receipt
    else:
        [d] = discounts
        assert d.promotion_id == "CUP-3FOR2"
        assert d.names == {"en": "CUP-3FOR2"}
        assert d.by_class == {"reduced": 99 * free_units}


def test_three_for_two_counts_units_across_separate_lines():
    lines = [PricedLine(NOODLE, 99, "reduced"), PricedLine(NOODLE, 99, "reduced", qty=2)]
    assert sum(d.amount for d in promotion_discounts(lines, [THREE_FOR_TWO], USD)) == 99


def test_mixed_prices_the_cheapest_unit_is_free():
    a, b, c = validate_gtin("8801114070130"), validate_gtin("8801114430675"), COLA
    promo = promo_buy(3, 2, "8801114070130", "8801114430675", "8801094804527")
    lines = [PricedLine(a, 179, "reduced"), PricedLine(b, 149, "standard"),
             PricedLine(c, 249, "reduced")]
    [d] = promotion_discounts(lines, [promo], USD)
    assert d.amount == 149
    assert d.by_class == {"standard": 149}  # the free unit's own tax class carries it


def test_mixed_prices_six_units_free_the_cheapest_of_each_sorted_group():
    promo = promo_buy(3, 2, "8801114070130", "8801114430675", "8801094804527")
    lines = [PricedLine(COLA, 500, "reduced", qty=2), PricedLine(TOFU_FIRM, 300, "reduced"),
             PricedLine(TOFU_SOFT, 100, "reduced", qty=3)]
    # units by price: 500 500 300 | 100 100 100 -> 300 and 100 free
    [d] = promotion_discounts(lines, [promo], USD)
    assert d.amount == 400


def test_buy_n_pay_m_ignores_weighed_and_price_embedded_lines():
    promo = promo_buy(2, 1, "8801094804527")
    lines = [PricedLine(COLA, 249, "reduced", weight_g=2000),
             PricedLine(COLA, 249, "reduced", price_minor=249)]
    assert promotion_discounts(lines, [promo], USD) == []


def test_items_outside_the_promotion_do_not_count():
    lines = [PricedLine(NOODLE, 99, "reduced", qty=2), PricedLine(COLA, 99, "reduced")]
    assert promotion_discounts(lines, [THREE_FOR_TWO], USD) == []


# ---------------------------------------------------------------------------
# n for price
# ---------------------------------------------------------------------------

COLA_2FOR4 = promo_price(2, "4.00", "8801094804527", pid="COLA-2FOR4")


def test_two_for_four_on_two_49_saves_98():
    [d] = promotion_discounts([PricedLine(COLA, 249, "reduced", qty=2)], [COLA_2FOR4], USD)
    assert d.amount == 98
    assert d.by_class == {"reduced": 98}


def test_n_for_price_three_units_make_only_one_group():
    [d] = promotion_discounts([PricedLine(COLA, 249, "reduced", qty=3)], [COLA_2FOR4], USD)
    assert d.amount == 98
    [d] = promotion_discounts([PricedLine(COLA, 249, "reduced", qty=4)], [COLA_2FOR4], USD)
    assert d.amount == 196


def test_n_for_price_above_the_items_price_gives_no_discount():
    lines = [PricedLine(COLA, 199, "reduced", qty=2)]          # 3.98 < 4.00
    assert promotion_discounts(lines, [COLA_2FOR4], USD) == []
    lines = [PricedLine(COLA, 200, "reduced", qty=2)]          # exactly 4.00
    assert promotion_discounts(lines, [COLA_2FOR4], USD) == []
    totals = price_basket([PricedLine(COLA, 199, "reduced", qty=2)], [COLA_2FOR4],
                          flat_tax(reduced="0"), USD)
    assert (totals.subtotal, totals.savings, totals.total) == (398, 0, 398)


def test_n_for_price_mix_and_match_spreads_discount_over_tax_classes():
    promo = promo_price(2, "3.00", "8801114070130", "8801114430675")
    lines = [PricedLine(TOFU_FIRM, 179, "reduced"), PricedLine(TOFU_SOFT, 149, "standard")]
    [d] = promotion_discounts(lines, [promo], USD)
    assert d.amount == 28
    # exact shares 15.28 and 12.72: largest remainder gives the spare unit to the soft tofu
    assert d.by_class == {"reduced": 15, "standard": 13}
    assert sum(d.by_class.values()) == d.amount


# ---------------------------------------------------------------------------
# tax
# ---------------------------------------------------------------------------

def test_exclusive_tax_is_rounded_once_on_the_class_total():
    # two 0.05 lines at 10%: per-line rounding would give 1 + 1, class total gives 1
    tax = flat_tax("exclusive", t="10")
    lines = [PricedLine("A", 5, "t"), PricedLine("B", 5, "t")]
    totals = price_basket(lines, [], tax, USD)
    assert totals.tax == 1
    assert totals.total == 11
    [tl] = totals.taxes
    assert (tl.tax_class, tl.rate, tl.base, tl.tax) == ("t", "10", 10, 1)


@pytest.mark.parametrize(("base", "rate", "expected"), [
    (1200, "8.875", 107),   # 106.5 -> 107 (half-up, banker's would give 106)
    (5, "10", 1),           # 0.5 -> 1
    (25, "10", 3),          # 2.5 -> 3
    (229, "8.875", 20),     # 20.32375 -> 20
    (1083, "2.25", 24),     # 24.3675 -> 24
    (1000, "0", 0),
])
def test_exclusive_tax_rounds_half_up(base, rate, expected):
    totals = price_basket([PricedLine("A", base, "t")], [], flat_tax("exclusive", t=rate), USD)
    assert totals.tax == expected
    assert totals.total == base + expected


@pytest.mark.parametrize(("base", "rate", "expected"), [
    (3, "20", 1),       # 0.5 -> 1
    (15, "20", 3),      # 2.5 -> 3 (banker's: 2)
    (1100, "10", 100),  # exact
    (229, "8.875", 19),  # 18.667 -> 19
    (1083, "2.25", 24),  # 23.831 -> 24
])
def test_inclusive_tax_is_contained_and_total_is_net(base, rate, expected):
    totals = price_basket([PricedLine("A", base, "t")], [], flat_tax("inclusive", t=rate), USD)
    assert totals.tax == expected
    assert totals.total == base
    [tl] = totals.taxes
    assert tl.base == base


def test_mixed_tax_classes_each_get_their_own_rate_and_tax_line():
    lines = [PricedLine(BEER, 229, "standard"), PricedLine(COLA, 249, "reduced"),
             PricedLine(FORMULA, 3499, "zero")]
    totals = price_basket(lines, [], EXCLUSIVE, USD)
    taxes = {t.tax_class: (t.rate, t.base, t.tax) for t in totals.taxes}
    assert taxes == {"standard": ("8.875", 229, 20), "reduced": ("2.25", 249, 6),
                     "zero": ("0", 3499, 0)}
    assert [t.tax_class for t in totals.taxes] == sorted(taxes)
    assert totals.tax == 26
    assert totals.total == 229 + 249 + 3499 + 26


def test_empty_basket_is_all_zero():
    totals = price_basket([], DEFAULT_PROMOTIONS, EXCLUSIVE, USD)
    assert (totals.subtotal, totals.savings, totals.tax, totals.total) == (0, 0, 0, 0)
    assert totals.discounts == [] and totals.taxes == []


# A basket worked out by hand with the packaged promotions and rates:
#   3 x cup noodles 0.99 (reduced)       297, 3 for 2 saves 99
#   2 x Coca-Cola 2.49 (reduced)         498, 2 for 4.00 saves 98
#   1 x Tsingtao 2.29 (standard)         229
#   bananas 1.99/kg x 2437 g (reduced)   485 (484.963)
#   1 x infant formula 34.99 (zero)     3499
# subtotal 5008, savings 197; reduced base 297+498+485-197 = 1083
HAND_BASKET = [
    PricedLine(NOODLE, 99, "reduced", qty=3),
    PricedLine(COLA, 249, "reduced", qty=2),
    PricedLine(BEER, 229, "standard"),
    PricedLine(BANANAS, 199, "reduced", weight_g=2437),
    PricedLine(FORMULA, 3499, "zero"),
]


def test_hand_computed_basket_exclusive():
    t = price_basket(HAND_BASKET, DEFAULT_PROMOTIONS, EXCLUSIVE, USD)
    assert (t.subtotal, t.savings) == (5008, 197)
    assert {d.promotion_id: d.amount for d in t.discounts} == {
        "CUPNOODLE-3FOR2": 99, "COLA-2FOR4": 98}
    # reduced 1083 * 2.25% = 24.3675 -> 24; standard 229 * 8.875% = 20.32375 -> 20
    assert {x.tax_class: (x.base, x.tax) for x in t.taxes} == {
        "reduced": (1083, 24), "standard": (229, 20), "zero": (3499, 0)}
    assert t.tax == 44
    assert t.total == 5008 - 197 + 44 == 4855
    assert t.tax_mode == "exclusive"


def test_hand_computed_basket_inclusive():
    t = price_basket(HAND_BASKET, DEFAULT_PROMOTIONS, INCLUSIVE, USD)
    assert (t.subtotal, t.savings) == (5008, 197)
    # reduced 1083 * 2.25 / 102.25 = 23.831 -> 24; standard 229 * 8.875 / 108.875 = 18.667 -> 19
    assert {x.tax_class: (x.base, x.tax) for x in t.taxes} == {
        "reduced": (1083, 24), "standard": (229, 19), "zero": (3499, 0)}
    assert t.tax == 43
    assert t.total == 5008 - 197 == 4811
    assert t.tax_mode == "inclusive"


def test_packaged_config_uses_the_hand_basket_rates():
    cfg = _packaged_config()
    assert cfg.tax.mode == "exclusive"
    assert cfg.tax.rates == {"standard": Decimal("8.875"), "reduced": Decimal("2.25"),
                             "zero": Decimal("0")}
    assert price_basket(HAND_BASKET, cfg.promotions, cfg.tax, cfg.currency).total == 4855


def test_as_dict_is_plain_data():
    d = price_basket(HAND_BASKET, DEFAULT_PROMOTIONS, EXCLUSIVE, USD).as_dict()
    assert d["total"] == 4855
    assert d["discounts"][0]["promotion_id"] == "CUPNOODLE-3FOR2"
    assert d["taxes"][0] == {"tax_class": "reduced", "rate": "2.25", "base": 1083, "tax": 24}


# ---------------------------------------------------------------------------
# overlapping promotions and discount allocation (regressions of bugs found here)
# ---------------------------------------------------------------------------

def test_overlapping_promotions_never_discount_a_unit_twice():
    # Both promotions list the cola; the first in config order takes the units.
    promos = [promo_buy(2, 1, "8801094804527", pid="COLA-B2P1"),
              promo_price(2, "1.00", "8801094804527", pid="COLA-2FOR1")]
    t = price_basket([PricedLine(COLA, 249, "reduced", qty=2)], promos, EXCLUSIVE, USD)
    assert [(d.promotion_id, d.amount) for d in t.discounts] == [("COLA-B2P1", 249)]
    assert (t.subtotal, t.savings) == (498, 249)     # was 647 > 498 when they stacked
    assert t.total == 249 + 6


def test_overlapping_promotions_share_out_the_remaining_units():
    promos = [promo_buy(3, 2, "8801094804527", pid="COLA-3FOR2"),
              promo_price(2, "4.00", "8801094804527", pid="COLA-2FOR4")]
    # 5 colas: 3 go to 3-for-2 (one free), the remaining 2 to 2-for-4.00
    [d1, d2] = promotion_discounts([PricedLine(COLA, 249, "reduced", qty=5)], promos, USD)
    assert (d1.promotion_id, d1.amount, d2.promotion_id, d2.amount) == (
        "COLA-3FOR2", 249, "COLA-2FOR4", 98)


def test_group_discount_allocation_never_exceeds_a_units_price():
    promo = promo_price(3, "0.01", "8801094804527")
    lines = [PricedLine(COLA, 100, "a"), PricedLine(COLA, 100, "b", qty=2)]
    [d] = promotion_discounts(lines, [promo], USD)
    assert d.amount == 299
    assert d.by_class == {"a": 100, "b": 199}   # was a: 101, leaving class a's base at -1
    t = price_basket(lines, [promo], flat_tax("exclusive", a="10", b="10"), USD)
    assert all(x.base >= 0 for x in t.taxes)


def test_same_key_at_two_prices_is_priced_consistently():
    promos = [promo_price(2, "0.00", "070666928444", pid="P0"),
              promo_price(2, "0.00", "070666928444", "8801094804527", pid="P1")]
    tax = flat_tax("exclusive", a="10", b="10")
    lines = [PricedLine(NOODLE, 100, "a"), PricedLine(NOODLE, 50, "b", qty=2),
             PricedLine(COLA, 70, "a")]
    forward = price_basket(lines, promos, tax, USD)
    backward = price_basket(lines[::-1], promos, tax, USD)
    assert forward.subtotal == 270
    assert forward.savings <= forward.subtotal      # actual: 320
    assert forward == backward                      # actual: savings 320 vs 270
    assert all(x.base >= 0 for x in forward.taxes)  # actual: class a base -100


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------

PROMO_KEYS = [NOODLE, COLA, TOFU_FIRM, TOFU_SOFT]
OTHER_KEYS = [BEER, FORMULA, BANANAS, "PLU10001"]
CLASSES = ["standard", "reduced", "zero"]


@st.composite
def baskets(draw) -> list[PricedLine]:
    """Lines as the checkout builds them: each key is one catalog product, so every line of
    a key has the same unit price and tax class (quantities, weights and embedded prices
    vary). See test_same_key_at_two_prices_is_priced_consistently for other inputs."""
    catalog = {key: (draw(st.integers(0, 50_000)), draw(st.sampled_from(CLASSES)))
               for key in PROMO_KEYS + OTHER_KEYS}
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        key = draw(st.sampled_from(PROMO_KEYS + OTHER_KEYS))
        unit, tax_class = catalog[key]
        kind = draw(st.sampled_from(["qty", "qty", "weight", "price"]))
        if kind == "qty":
            line = PricedLine(key, unit, tax_class, qty=draw(st.integers(1, 99)))
        elif kind == "weight":
            line = PricedLine(key, unit, tax_class, weight_g=draw(st.integers(1, 50_000)))
        else:
            line = PricedLine(key, unit, tax_class, price_minor=draw(st.integers(0, 99_999)))
        lines.append(line)
    return lines


@st.composite
def promotion_sets(draw) -> list[PromotionConfig]:
    """Either the packaged promotions or up to three random, possibly overlapping, ones."""
    if draw(st.booleans()):
        return list(DEFAULT_PROMOTIONS)
    promos = []
    for i in range(draw(st.integers(0, 3))):
        group = draw(st.lists(st.sampled_from(PROMO_KEYS), min_size=1, max_size=4, unique=True))
        n = draw(st.integers(2, 5))
        if draw(st.booleans()):
            promos.append(promo_buy(n, draw(st.integers(1, n - 1)), *group, pid=f"P{i}"))
        else:
            price = draw(st.integers(0, 20_000))
            promos.append(promo_price(n, USD.plain(price), *group, pid=f"P{i}"))
    return promos


tax_configs = st.sampled_from([EXCLUSIVE, INCLUSIVE])
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(lines=baskets(), promos=promotion_sets(), tax=tax_configs, data=st.data())
def test_totals_do_not_depend_on_line_order(lines, promos, tax, data):
    shuffled = data.draw(st.permutations(lines))
    assert price_basket(shuffled, promos, tax, USD) == price_basket(lines, promos, tax, USD)


@PROPERTY
@given(lines=baskets(), promos=promotion_sets(), tax=tax_configs)
def test_totals_are_consistent_exact_integers(lines, promos, tax):
    t = price_basket(lines, promos, tax, USD)
    for value in (t.subtotal, t.savings, t.tax, t.total):
        assert type(value) is int
    for d in t.discounts:
        assert type(d.amount) is int and d.amount > 0
        assert all(type(v) is int for v in d.by_class.values())
        assert sum(d.by_class.values()) == d.amount
    for x in t.taxes:
        assert type(x.base) is int and type(x.tax) is int
    assert t.subtotal == sum(ln.amount for ln in lines)
    assert 0 <= t.savings <= t.subtotal
    assert t.savings == sum(d.amount for d in t.discounts)
    assert t.tax == sum(x.tax for x in t.taxes)
    assert sum(x.base for x in t.taxes) == t.subtotal - t.savings
    # no tax class is discounted below zero, however promotions overlap
    assert all(x.base >= 0 for x in t.taxes)
    countable = sum(ln.amount for ln in lines if ln.countable and ln.key in PROMO_KEYS)
    assert t.savings <= countable
    if tax.mode == "exclusive":
        assert t.total == t.subtotal - t.savings + t.tax
    else:
        assert t.total == t.subtotal - t.savings
        assert t.tax <= t.total
    assert t.total >= 0


@PROPERTY
@given(lines=baskets(), tax=tax_configs)
def test_without_promotions_tax_matches_the_formula_per_class(lines, tax):
    t = price_basket(lines, [], tax, USD)
    assert t.savings == 0
    for x in t.taxes:
        base = sum(ln.amount for ln in lines if ln.tax_class == x.tax_class)
        rate = tax.rates[x.tax_class]
        exact = base * rate / (100 if tax.mode == "exclusive" else 100 + rate)
        assert x.base == base
        assert abs(Decimal(x.tax) - exact) <= Decimal("0.5")
        # a half rounds up, never down
        if exact - int(exact) == Decimal("0.5"):
            assert x.tax == int(exact) + 1
