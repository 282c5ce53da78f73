"""The forecast models, the backtest's choice and the synthetic year (issue 18, item 2):
pure numpy, no database."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kiosk.backoffice import forecast as fc
from kiosk.backoffice.forecast_reorder import protection_demand, suggest
from kiosk.sim.salesyear import PROMO_DAYS, generate


@pytest.fixture(scope="module")
def year():
    return generate(stores=2, items=60, days=365, seed=7)


def test_seasonal_naive_repeats_the_last_week():
    y = np.arange(21, dtype=float)[None, :]
    assert fc.seasonal_naive(y, 10).tolist() == [[14, 15, 16, 17, 18, 19, 20, 14, 15, 16]]


def test_croston_sba_and_tsb_by_hand():
    # sales of 4 every 4th day: size 4, interval 4 -> 1 a day (Croston); SBA x (1 - a/2)
    y = np.array([[0, 0, 0, 4] * 10], dtype=float)
    assert fc.croston(y, 3)[0] == pytest.approx([1, 1, 1])
    assert fc.sba(y, 1)[0, 0] == pytest.approx(0.95)
    # an item that stopped selling: Croston keeps its old rate, TSB's probability decays
    dead = np.array([[0, 0, 0, 4] * 10 + [0] * 40], dtype=float)
    assert fc.croston(dead, 1)[0, 0] == pytest.approx(1)
    assert fc.tsb(dead, 1)[0, 0] < 0.1 * fc.tsb(y, 1)[0, 0]
    # ADIDA: buckets of the mean interval (4 days) hold 4 each -> 1 a day
    assert fc.adida(y, 2)[0] == pytest.approx([1, 1])


def test_the_year_has_what_the_issue_asks(year):
    units = year.units
    monday = [d for d in range(year.days) if year.day(d).weekday() == 0]
    saturday = [d for d in range(year.days) if year.day(d).weekday() == 5]
    assert units[:, :, saturday].sum() > 1.3 * units[:, :, monday].sum()  # weekly
    christmas = (dt.date(2025, 12, 25) - year.start).days
    assert units[:, :, christmas].sum() == 0                          # closed on a holiday
    eve = (dt.date(2025, 12, 24) - year.start).days
    assert units[:, :, eve].sum() > 1.3 * units[:, :, eve - 7].sum()  # a busy eve
    slow = np.array([item.slow for item in year.items])
    assert (units[:, slow] > 0).mean() < 0.5 < (units[:, ~slow] > 0).mean()  # slow movers
    assert (np.diff(year.price_minor, axis=1) != 0).any()            # price changes
    on = year.promo & (year.expected > 0)
    assert on.any() and PROMO_DAYS == 7
    lift = year.expected[on].mean() / year.expected[np.roll(on, 14, axis=2) & ~on].mean()
    assert lift > 1.5                                                  # promotions sell
    # yearly seasonality: some items' summer and winter months differ by a third or more
    july = slice((dt.date(2025, 7, 1) - year.start).days, (dt.date(2025, 8, 1) - year.start).days)
    jan = slice(0, 31)
    ratio = year.expected[0, :, july].mean(axis=1) / year.expected[0, :, jan].mean(axis=1)
    assert (ratio > 1.33).any() and (ratio < 0.75).any()
    again = generate(stores=2, items=60, days=365, seed=7)
    assert (again.units == units).all()


def test_the_chosen_models_beat_seasonal_naive_on_held_out_folds(year):
    y = year.units.reshape(-1, year.days).astype(float)
    bt = fc.backtest(y, h=14, folds=6)
    slow = fc.intermittent(y)
    choice = fc.choose(bt, slow)
    assert choice.select_folds == 4
    assert choice.wape["chosen"] < 0.9 * choice.wape["seasonal_naive"]
    assert choice.mase["chosen"] < choice.mase["seasonal_naive"]
    picked = np.array(choice.models)
    assert set(picked[~slow]) <= set(fc.SMOOTH_MODELS)
    intermittent_methods = {"croston", "sba", "tsb", "adida"}
    assert np.isin(picked[slow], list(intermittent_methods)).mean() > 0.5


def test_the_forecast_interval_and_its_errors(year):
    y = year.units[0].astype(float)
    result, choice = fc.forecast(y, h=14, level=0.9)
    assert result.mean.shape == (y.shape[0], 14)
    assert (result.lo <= result.mean).all() and (result.mean <= result.hi).all()
    assert (result.lo >= 0).all()
    assert (result.sigma > 0).any()
    with pytest.raises(ValueError, match="too short"):
        fc.backtest(y[:, :40])


def test_reorder_by_hand():
    mean = np.full(14, 3.0)
    # P = 2 + 7 days: demand 27, safety z(0.95)=1.6449 x 2 x 3 = 9.87 -> S 36.87
    r = suggest(mean, sigma=2.0, on_hand=10, lead_time_days=2, review_days=7,
                service_level=0.95)
    assert r.demand == pytest.approx(27)
    assert r.safety_stock == pytest.approx(1.6448536 * 2 * 3, rel=1e-6)
    assert r.order == 27
    assert suggest(mean, 2.0, 40, 2).order == 0
    assert protection_demand(np.array([1.0] * 7 + [2.0] * 7), 21) == pytest.approx(35)
    with pytest.raises(ValueError):
        suggest(mean, 1.0, 0, 2, service_level=1.0)


def test_the_synthetic_year_records_how_its_shoppers_checked_out():
    """Every basket ends with a session_finished the lane would write (v2, channels from
    CHANNEL_MIX, each mix seen), and the units sold are still exactly the year's."""
    from kiosk.domain.events import parse
    from kiosk.sim.salesyear import CHANNEL_MIX, journal_rows

    year = generate(stores=1, items=8, days=30, start=dt.date(2025, 3, 1), seed=5, volume=2.0)
    mixes = {m for m, _share in CHANNEL_MIX}
    seen: dict[tuple[str, ...], int] = {}
    units = 0
    for _seq, _ts, kind, _txn, data in journal_rows(year, 0):
        if kind == "item_added":
            units += 1
        elif kind == "quantity_changed":
            units += data["qty"] - 1
        elif kind == "session_finished":
            event = parse({"type": kind, "ts": 0.0, **data})
            assert tuple(event.channels) in mixes
            seen[tuple(event.channels)] = seen.get(tuple(event.channels), 0) + 1
    assert set(seen) == mixes
    assert max(seen, key=seen.get) == ("touch",)
    assert units == year.units[0].sum()
