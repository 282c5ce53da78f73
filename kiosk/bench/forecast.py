"""``kiosk bench forecast``: the demand forecast's backtest over the synthetic year
(kiosk/sim/salesyear.py) and the time it takes to forecast 1,000 items.

The year: ``--forecast-stores`` stores x ``--forecast-items`` items (default 5 x 200 = 1,000
item-store series), 365 days, seed ``--seed``. The backtest is kiosk.backoffice.forecast's
rolling origin (6 origins a week apart, 14 days ahead): the models are chosen per series on
the first 4 origins, and every figure is measured on the last 2 (28 days per series that did
not take part in the choice). The table gives each model's WAPE (sum of absolute errors /
sum of units sold) and MASE (mean absolute error / the series' in-sample mean absolute
weekly difference) on those days, the chosen models' ("chosen"), and how many series chose
each model.

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


def bench_forecast(stores: int = 5, items: int = 200, days: int = 365, seed: int = 18,
                   runs: int = 3) -> int:
    year = generate(stores=stores, items=items, days=days, seed=seed)
    y = year.units.reshape(-1, year.days).astype(float)
    slow = intermittent(y)
    bt = backtest(y, HORIZON, FOLDS)
    choice = choose(bt, slow)
    counts = Counter(choice.models)
    held = len(bt.origins) - choice.select_folds
    print(f"forecast backtest: {stores} stores x {items} items = {y.shape[0]} series,"
          f" {days} days from {year.start} (seed {seed}); {int(slow.sum())} slow movers")
    print(f"rolling origin: {len(bt.origins)} origins a week apart, {HORIZON} days ahead;"
          f" chosen on the first {choice.select_folds}, measured on the last {held}")
    print(f"{'model':<16} {'WAPE':>7} {'MASE':>7} {'chosen by':>10}")
    for name in [*MODELS, "chosen"]:
        chosen = counts.get(name, y.shape[0] if name == "chosen" else 0)
        print(f"{name:<16} {choice.wape[name]:7.3f} {choice.mase[name]:7.3f} {chosen:>10}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        forecast(y, HORIZON)
        times.append(time.perf_counter() - started)
    per_1000 = statistics.median(times) * 1000 / y.shape[0]
    beats = choice.wape["chosen"] < choice.wape["seasonal_naive"]
    print(f"chosen vs seasonal-naive: WAPE {choice.wape['chosen']:.3f} vs"
          f" {choice.wape['seasonal_naive']:.3f}, MASE {choice.mase['chosen']:.3f} vs"
          f" {choice.mase['seasonal_naive']:.3f}: {'beats' if beats else 'DOES NOT BEAT'}"
          " the baseline")
    print(f"time to forecast (backtest, choice, forecast): {per_1000:.2f} s per 1,000 series"
          f" (median of {runs}: {', '.join(f'{t:.2f}' for t in times)} s for {y.shape[0]})")
    print(json.dumps({
        "wape_model": round(choice.wape["chosen"], 4),
        "wape_seasonal_naive": round(choice.wape["seasonal_naive"], 4),
        "mase_model": round(choice.mase["chosen"], 4),
        "mase_seasonal_naive": round(choice.mase["seasonal_naive"], 4),
        "forecast_s_per_1000_items": round(per_1000, 3),
        "series": int(y.shape[0]), "days": days, "seed": seed, "beats_baseline": beats,
        "models": {name: {"wape": round(choice.wape[name], 4),
                          "mase": round(choice.mase[name], 4), "chosen": counts.get(name, 0)}
                   for name in MODELS}}))
    return 0 if beats else 1
