"""Weight pricing: only a stable, positive, in-range reading of the lane's scale prices a
weighed item, and the price matches an exact hand calculation in each currency (rounded once,
half up; KRW and JPY have no minor unit). The receipt shows weight, unit price and price."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.domain.catalog import Product
from kiosk.domain.checkout import CheckoutState, Context, Rejected, apply, decide
from kiosk.domain.pricing import ScaleWeight
from kiosk.domain.receipt import build_receipt, render_text
from kiosk.domain.rules import CurrencyConfig
from kiosk.i18n import translator

CURRENCIES = {"USD": (840, 2), "EUR": (978, 2), "CNY": (156, 2), "KRW": (410, 0),
              "JPY": (392, 0)}
# (currency, price per kg in major units, grams, the amount worked out by hand, minor units)
HAND = [
    ("USD", "0.69", 1234, 85),      # 69 x 1.234 = 85.146
    ("USD", "2.50", 455, 114),      # 250 x 0.455 = 113.75, half up
    ("USD", "1.00", 5, 1),          # 100 x 0.005 = 0.5 cent, half up
    ("USD", "0.10", 5, 0),          # 10 x 0.005 = 0.05 cent
    ("EUR", "1.98", 250, 50),       # 198 x 0.250 = 49.5, half up
    ("EUR", "1.99", 750, 149),      # 199 x 0.750 = 149.25
    ("CNY", "12.50", 333, 416),     # 1250 x 0.333 = 416.25
    ("KRW", "3980", 1234, 4911),    # 3980 x 1.234 = 4911.32
    ("KRW", "2500", 1, 3),          # 2500 x 0.001 = 2.5, half up
    ("KRW", "12900", 14_999, 193_487),  # 12900 x 14.999 = 193487.1
    ("JPY", "398", 875, 348),       # 398 x 0.875 = 348.25
]


def _in(config, code: str):
    numeric, exponent = CURRENCIES[code]
    store = config.store.model_copy(update={"currency": CurrencyConfig(
        code=code, numeric=numeric, exponent=exponent)})
    return config.model_copy(update={"store": store})


def _banana(config, price: str) -> Product:
    return Product(None, "04011", {"en": "Bananas", "zh": "香蕉", "ko": "바나나"},
                   config.currency.parse(price), "reduced", False, True)


def _ctx(config, product: Product, scale: ScaleWeight | None) -> Context:
    def no_staff(*_):
        return None, "none"

    return Context(config, lambda _: None, lambda plu: product if plu == "04011" else None,
                   no_staff, no_staff, 1_700_000_000.0, scale=scale)


def _stable(grams: int, min_g: int = 1, capacity_g: int = 15_000) -> ScaleWeight:
    return ScaleWeight("stable", grams, min_g, capacity_g)


def _weigh(config, product, scale, **fields) -> CheckoutState:
    state = CheckoutState()
    for event in decide(state, {"type": "add_plu", "plu": "04011", **fields},
                        _ctx(config, product, scale)):
        apply(state, {**event, "ts": 1_700_000_000.0})
    return state


@pytest.mark.parametrize("code,price,grams,amount", HAND)
def test_a_weighed_price_matches_the_hand_calculation(config, code, price, grams, amount):
    config = _in(config, code)
    state = _weigh(config, _banana(config, price), _stable(grams))
    (line,) = state.lines
    assert line.weight_g == grams
    assert line.priced().amount == amount


@pytest.mark.parametrize("reading,reason", [
    (ScaleWeight("motion", None, 1, 15_000), "scale_motion"),
    (ScaleWeight("over_capacity", None, 1, 15_000), "scale_over_capacity"),
    (ScaleWeight("under_zero", None, 1, 15_000), "scale_under_zero"),
    (ScaleWeight("not_ready", None, 1, 15_000), "scale_not_ready"),
    (ScaleWeight("no_response", None, 1, 15_000), "scale_no_response"),
    (ScaleWeight("bad_frame", None, 1, 15_000), "scale_no_response"),
    (_stable(0), "scale_empty"),
    (_stable(39, min_g=40), "scale_below_minimum"),
    (_stable(15_001), "scale_over_capacity"),
    (ScaleWeight("stable", 1234, 1, 15_000, age_s=3.5), "scale_no_response"),  # stale
])
def test_only_a_stable_positive_in_range_weight_prices(config, reading, reason):
    with pytest.raises(Rejected) as info:
        decide(CheckoutState(), {"type": "add_plu", "plu": "04011"},
               _ctx(config, _banana(config, "0.69"), reading))
    assert info.value.reason == reason


def test_the_lowest_and_highest_weights_in_range_price(config):
    product = _banana(config, "1.00")
    assert _weigh(config, product, _stable(40, min_g=40)).lines[0].weight_g == 40
    assert _weigh(config, product, _stable(15_000)).lines[0].weight_g == 15_000


def test_a_lane_with_a_scale_takes_no_weight_from_a_command(config):
    with pytest.raises(Rejected) as info:
        decide(CheckoutState(), {"type": "add_plu", "plu": "04011", "weight_g": 900},
               _ctx(config, _banana(config, "0.69"), _stable(1234)))
    assert info.value.reason == "weight_from_scale"


def test_a_lane_without_a_scale_keeps_the_commands_weight(config):
    state = _weigh(config, _banana(config, "0.69"), None, weight_g=1200)
    assert state.lines[0].weight_g == 1200 and state.lines[0].priced().amount == 83


@pytest.mark.parametrize("locale,expected", [
    ("en", ("1.234 kg @ ₩3,980/kg", "₩4,911")),
    ("ko", ("1.234kg @ ₩3,980/kg", "₩4,911")),
])
def test_the_receipt_shows_weight_unit_price_and_price(config, locale, expected):
    config = _in(config, "KRW")
    state = _weigh(config, _banana(config, "3980"), _stable(1234))
    state.locale = locale
    receipt = build_receipt(state, config, datetime(2026, 12, 6, tzinfo=UTC),
                            translator)
    text = render_text(receipt)
    detail, amount = expected
    name = "바나나" if locale == "ko" else "Bananas"
    assert (name, amount) in receipt.lines
    assert any(detail in left for left, _ in receipt.lines), receipt.lines
    assert amount in text
