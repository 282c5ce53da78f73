"""``kiosk bench forecast``: the demand forecast's backtest over the synthetic year
(kiosk/sim/salesyear.py) and the time it takes to forecast 1,000 items.

The year: ``--forecast-stores`` stores x ``--forecast-items`` items (default 5 x 200 = 1,000
item-store series), 365 days, seed ``--forecast-seed``. The backtest is
kiosk.backoffice.forecast's rolling origin (6 origins a week apart, 14 days ahead): the
models are chosen per series on the first 4 origins, and every figure is measured on the
last 2 (28 days per series that did not take part in the choice). That is done "as of"
several days through the year (the last day and every 4 weeks before, back to day 140), so
the figures are not those of one season (the year's last weeks hold Christmas). The
table gives each model's WAPE (sum of absolute errors /
sum of units sold) and MASE (mean absolute error / the series' in-sample mean absolute
weekly difference) on those days, the chosen models' ("chosen"), and how many series chose
each model (as of the last day).

The time is the whole job for every series: backtest of every model, the choice, the
forecast with its interval (:func:`kiosk.backoffice.forecast.forecast`), median of ``--runs``,
scaled to 1,000 series. Reading the sales from PostgreSQL is not in it.

The last line is JSON: ``wape_model``, ``wape_seasonal_naive``, ``mase_model``,
``mase_seasonal_naive``, ``forecast_s_per_1000_items``, ``series``, ``models`` (per model
wape, mase, chosen), ``beats_baseline``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter

from kiosk.backoffice.forecast import MODELS, backtest, choose, forecast, intermittent
from kiosk.sim.salesyear import generate

HORIZON = 14
FOLDS = 6
#: the evaluation's "as of" days: the year's end and every 4 weeks before, while >= 140 days
CUT_STEP = 28
FIRST_CUT = 140


def evaluate(y, cuts: list[int]) -> tuple[dict[str, float], dict[str, float], Counter]:  # type: ignore[no-untyped-def]
    """WAPE (pooled) and MASE (mean over cuts) per model and "chosen", each cut's models
    chosen on its own history's earlier folds and measured on its later ones; the choice
    counts of the last cut."""
    abs_sum: Counter = Counter()
    mase: dict[str, list[float]] = {}
    actual = 0.0
    counts: Counter = Counter()
    for cut in cuts:
        past = y[:, :cut]
        choice = choose(backtest(past, HORIZON, FOLDS), intermittent(past))
        abs_sum.update(choice.abs_sum)
        actual += choice.actual_sum
        for name, value in choice.mase.items():
            mase.setdefault(name, []).append(value)
        if cut == y.shape[1]:
            counts = Counter(choice.models)
    return ({name: err / actual for name, err in abs_sum.items()},
            {name: statistics.fmean(v) for name, v in mase.items()}, counts)


def bench_forecast(stores: int = 5, items: int = 200, days: int = 365, seed: int = 18,
                   runs: int = 3) -> int:
    year = generate(stores=stores, items=items, days=days, seed=seed)
    y = year.units.reshape(-1, year.days).astype(float)
    slow = intermittent(y)
    cuts = list(range(days, FIRST_CUT - 1, -CUT_STEP))
    wape, mase, counts = evaluate(y, cuts)
    held = 2
    print(f"forecast backtest: {stores} stores x {items} items = {y.shape[0]} series,"
          f" {days} days from {year.start} (seed {seed}); {int(slow.sum())} slow movers")
    print(f"as of {len(cuts)} days 4 weeks apart (the last {year.day(days - 1)}): rolling origin"
          f" of {FOLDS} origins a week apart, {HORIZON} days ahead; models chosen on the"
          f" first {FOLDS - held}, measured on the last {held}")
    print(f"{'model':<16} {'WAPE':>7} {'MASE':>7} {'chosen by (last)':>17}")
    for name in [*MODELS, "chosen"]:
        chosen = counts.get(name, y.shape[0] if name == "chosen" else 0)
        print(f"{name:<16} {wape[name]:7.3f} {mase[name]:7.3f} {chosen:>17}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        forecast(y, HORIZON)
        times.append(time.perf_counter() - started)
    per_1000 = statistics.median(times) * 1000 / y.shape[0]
    beats = wape["chosen"] < wape["seasonal_naive"]
    print(f"chosen vs seasonal-naive: WAPE {wape['chosen']:.3f} vs"
          f" {wape['seasonal_naive']:.3f}, MASE {mase['chosen']:.3f} vs"
          f" {mase['seasonal_naive']:.3f}: {'beats' if beats else 'DOES NOT BEAT'}"
          " the baseline")
    print(f"time to forecast (backtest, choice, forecast): {per_1000:.2f} s per 1,000 series"
          f" (median of {runs}: {', '.join(f'{t:.2f}' for t in times)} s for {y.shape[0]})")
    print(json.dumps({
        "wape_model": round(wape["chosen"], 4),
        "wape_seasonal_naive": round(wape["seasonal_naive"], 4),
        "mase_model": round(mase["chosen"], 4),
        "mase_seasonal_naive": round(mase["seasonal_naive"], 4),
        "forecast_s_per_1000_items": round(per_1000, 3),
        "series": int(y.shape[0]), "days": days, "seed": seed, "cuts": len(cuts),
        "beats_baseline": beats,
        "models": {name: {"wape": round(wape[name], 4), "mase": round(mase[name], 4),
                          "chosen": counts.get(name, 0)} for name in MODELS}}))
    return 0 if beats else 1
