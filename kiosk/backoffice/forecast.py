"""Demand forecast (issue 18): per item and store, a daily forecast for the next days, the
model picked per series by a rolling-origin backtest against seasonal-naive.

Every model works on many series at once: ``history`` is a float array [series, days] of
daily units (oldest first, closed days as 0) and a model returns [series, horizon]. They are
the textbook definitions (as statsforecast names them), written in numpy over all series in
one pass through time, so 1,000 items take well under a second on a Pi-class back office and
nothing heavier than numpy is needed:

* ``seasonal_naive``: the last week again: the baseline the choice must beat.
* ``weekday_mean``: the mean of the same weekday over the last 8 weeks.
* ``ses_weekly``: simple exponential smoothing (alpha 0.1) of the series divided by its
  weekday profile (the last 26 weeks: a shorter one is mostly noise and promotions), times
  the profile again: level plus weekly seasonality.
* intermittent methods, for slow movers (most days zero): ``croston`` (classic, alpha 0.1),
  ``sba`` (Croston with the Syntetos-Boylan correction), ``tsb`` (Teunter-Syntetos-Babai:
  demand probability and size smoothed every day, so a dead item's forecast decays) and
  ``adida`` (aggregate into buckets of the mean interval between sales, smooth, spread
  evenly back over the days).

:func:`backtest` runs every model from several forecast origins (the last ``folds`` weeks,
one week apart) and keeps each series' absolute errors; :func:`choose` picks per series the
model with the least error on the earlier folds, and the later folds (not used to pick)
give the honest figures ``kiosk bench forecast`` prints: WAPE and MASE of the chosen models
against seasonal-naive on the same days. The interval of a forecast comes from the chosen
model's backtest errors on that series.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

SEASON = 7
#: a series is intermittent (slow mover) when it sells on fewer than this share of days
INTERMITTENT_SHARE = 0.6

Model = Callable[[np.ndarray, int], np.ndarray]


def _tile_week(last_week: np.ndarray, h: int) -> np.ndarray:
    reps = -(-h // SEASON)
    return np.tile(last_week, (1, reps))[:, :h]


def seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    return _tile_week(y[:, -SEASON:], h)


def weekday_mean(y: np.ndarray, h: int, weeks: int = 8) -> np.ndarray:
    n = min(weeks, y.shape[1] // SEASON)
    window = y[:, -n * SEASON:].reshape(y.shape[0], n, SEASON)
    return _tile_week(window.mean(axis=1), h)


def _ses(y: np.ndarray, alpha: float) -> np.ndarray:
    level = y[:, 0].copy()
    for t in range(1, y.shape[1]):
        level += alpha * (y[:, t] - level)
    return level


def ses_weekly(y: np.ndarray, h: int, alpha: float = 0.1, weeks: int = 26) -> np.ndarray:
    n = min(weeks, y.shape[1] // SEASON)
    window = y[:, -n * SEASON:].reshape(y.shape[0], n, SEASON)
    mean = window.mean(axis=(1, 2))[:, None]
    profile = np.where(mean > 0, window.mean(axis=1) / np.where(mean > 0, mean, 1), 1.0)
    profile = np.where(profile > 0.05, profile, 0.05)
    # the profile of each day of the whole history, aligned so its last day is the window's
    t = y.shape[1]
    idx = (np.arange(t) - t) % SEASON
    level = _ses(y / profile[:, idx], alpha)
    return level[:, None] * _tile_week(profile, h)


def _croston_parts(y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed demand size and interval, updated on the days with a sale."""
    n, t = y.shape
    size = np.zeros(n)
    interval = np.ones(n)
    since = np.ones(n)
    seen = np.zeros(n, bool)
    for k in range(t):
        sale = y[:, k] > 0
        first = sale & ~seen
        later = sale & seen
        size = np.where(first, y[:, k], np.where(later, size + alpha * (y[:, k] - size), size))
        interval = np.where(first, since, np.where(later, interval + alpha * (since - interval),
                                                   interval))
        seen |= sale
        since = np.where(sale, 1, since + 1)
    return size, interval


def croston(y: np.ndarray, h: int, alpha: float = 0.1) -> np.ndarray:
    size, interval = _croston_parts(y, alpha)
    return np.repeat((size / interval)[:, None], h, axis=1)


def sba(y: np.ndarray, h: int, alpha: float = 0.1) -> np.ndarray:
    return croston(y, h, alpha) * (1 - alpha / 2)


def tsb(y: np.ndarray, h: int, alpha: float = 0.1, beta: float = 0.1) -> np.ndarray:
    n, t = y.shape
    sale = y > 0
    prob = sale[:, 0].astype(float)
    size = np.where(sale[:, 0], y[:, 0], 0.0)
    seen = sale[:, 0].copy()
    for k in range(1, t):
        s = sale[:, k]
        prob += beta * (s - prob)
        size = np.where(s & seen, size + alpha * (y[:, k] - size), np.where(s, y[:, k], size))
        seen |= s
    return np.repeat((prob * size)[:, None], h, axis=1)


def adida(y: np.ndarray, h: int, alpha: float = 0.1) -> np.ndarray:
    sales = (y > 0).sum(axis=1)
    level = np.clip(np.round(y.shape[1] / np.maximum(sales, 1)), 1, SEASON * 4).astype(int)
    out = np.zeros((y.shape[0], h))
    for agg in np.unique(level):
        rows = np.flatnonzero(level == agg)
        buckets = y.shape[1] // agg
        block = y[rows, y.shape[1] - buckets * agg:].reshape(rows.size, buckets, agg).sum(2)
        out[rows] = (_ses(block, alpha) / agg)[:, None]
    return out


#: every model, by name (the baseline first)
MODELS: dict[str, Model] = {"seasonal_naive": seasonal_naive, "weekday_mean": weekday_mean,
                            "ses_weekly": ses_weekly, "croston": croston, "sba": sba,
                            "tsb": tsb, "adida": adida}
BASELINE = "seasonal_naive"
#: the models a smooth series may get; an intermittent one may get any
SMOOTH_MODELS = ("seasonal_naive", "weekday_mean", "ses_weekly")


def intermittent(y: np.ndarray) -> np.ndarray:
    """[series] bool: slow movers (sold on fewer than INTERMITTENT_SHARE of the days)."""
    return (y > 0).mean(axis=1) < INTERMITTENT_SHARE


@dataclass
class Backtest:
    """Each model's absolute errors [model, fold, series, horizon] and the actuals
    [fold, series, horizon], from the origins ``origins`` (day index of the first day
    forecast)."""

    models: list[str]
    origins: list[int]
    abs_err: np.ndarray
    err: np.ndarray
    actual: np.ndarray
    scale: np.ndarray   # [fold, series] MASE's in-sample mean absolute seasonal difference

    def model(self, name: str) -> int:
        return self.models.index(name)


def backtest(y: np.ndarray, h: int = 14, folds: int = 6, step: int = SEASON,
             models: dict[str, Model] | None = None) -> Backtest:
    """Rolling origin: forecast ``h`` days from each of ``folds`` origins ``step`` days
    apart, the last one ``h`` days before the end; every model, every series."""
    models = models or MODELS
    t = y.shape[1]
    origins = [t - h - step * k for k in range(folds - 1, -1, -1)]
    if origins[0] < 4 * SEASON:
        raise ValueError(f"{t} days of history: too short for {folds} folds of {h} days"
                         f" (at least {4 * SEASON + h + step * (folds - 1)})")
    err = np.zeros((len(models), folds, y.shape[0], h))
    actual = np.zeros((folds, y.shape[0], h))
    scale = np.zeros((folds, y.shape[0]))
    for f, origin in enumerate(origins):
        past = y[:, :origin]
        actual[f] = y[:, origin:origin + h]
        scale[f] = np.abs(past[:, SEASON:] - past[:, :-SEASON]).mean(axis=1)
        for m, fn in enumerate(models.values()):
            err[m, f] = fn(past, h) - actual[f]
    return Backtest(list(models), origins, np.abs(err), err, actual, scale)


@dataclass
class Choice:
    """The model of each series and the honest figures of the choice."""

    models: list[str]          # [series] the chosen model's name
    select_folds: int          # folds used to choose; the later ones measure
    wape: dict[str, float]     # per model over the held-out folds, and "chosen"
    mase: dict[str, float]
    rmse: np.ndarray           # [series] the chosen model's daily error (every fold)
    abs_sum: dict[str, float]  # per model and "chosen": absolute errors summed (held out)
    actual_sum: float          # units sold on the held-out days


def choose(bt: Backtest, slow: np.ndarray, select_folds: int | None = None) -> Choice:
    """Per series the model with the least error on the first ``select_folds`` folds
    (smooth series: SMOOTH_MODELS only, absolute error; slow movers ``slow``: any model,
    squared error); WAPE and MASE on the folds after them."""
    folds = len(bt.origins)
    k = select_folds if select_folds is not None else max(1, folds - 2)
    allowed = np.array([[name in SMOOTH_MODELS or s for s in slow] for name in bt.models])
    # smooth series: least absolute error; slow movers: least squared error, which aims at
    # the mean (absolute error rewards forecasting the usual 0, and a 0 never reorders)
    score = np.where(slow[None, :], (bt.err[:, :k] ** 2).sum(axis=(1, 3)),
                     bt.abs_err[:, :k].sum(axis=(1, 3)))          # [model, series]
    score = np.where(allowed, score, np.inf)
    # ties (e.g. a series with no sales) go to the earlier model: the baseline first
    pick = score.argmin(axis=0)
    held = slice(k, folds) if k < folds else slice(0, folds)
    chosen_abs = np.take_along_axis(bt.abs_err[:, held], pick[None, None, :, None], axis=0)[0]
    # the interval's error: every fold (an estimate of the spread, not a claim of accuracy)
    chosen_err = np.take_along_axis(bt.err, pick[None, None, :, None], axis=0)[0]
    actual = bt.actual[held]
    total = actual.sum()
    scale = bt.scale[held][:, :, None]
    safe = np.where(scale > 0, scale, np.nan)

    def mase(abs_err: np.ndarray) -> float:
        scaled = abs_err / safe
        scaled = scaled[np.isfinite(scaled)]
        return float(scaled.mean()) if scaled.size else math.nan  # no day to scale by

    abs_sum = {name: float(bt.abs_err[m, held].sum()) for m, name in enumerate(bt.models)}
    abs_sum["chosen"] = float(chosen_abs.sum())
    # no sales on the held-out days: no error rate (NaN; shown as "–", null in JSON)
    wape = {name: err / total if total > 0 else math.nan for name, err in abs_sum.items()}
    mases = {name: mase(bt.abs_err[m, held]) for m, name in enumerate(bt.models)}
    mases["chosen"] = mase(chosen_abs)
    rmse = np.sqrt((chosen_err ** 2).mean(axis=(0, 2)))
    return Choice([bt.models[p] for p in pick], k, wape, mases, rmse, abs_sum, float(total))


@dataclass
class Forecast:
    models: list[str]   # [series]
    mean: np.ndarray    # [series, h] units a day
    lo: np.ndarray
    hi: np.ndarray
    sigma: np.ndarray   # [series] daily forecast error (backtest RMSE)
    level: float


def forecast(y: np.ndarray, h: int = 14, level: float = 0.9, folds: int = 6) -> tuple[
        Forecast, Choice]:
    """The next ``h`` days of every series with the model its backtest chose, and a
    ``level`` interval from that model's backtest error on the series (never below 0)."""
    bt = backtest(y, h, folds)
    choice = choose(bt, intermittent(y))
    mean = np.zeros((y.shape[0], h))
    for name in set(choice.models):
        rows = np.flatnonzero(np.array(choice.models) == name)
        mean[rows] = np.maximum(MODELS[name](y[rows], h), 0)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * choice.rmse[:, None]
    return Forecast(choice.models, mean, np.maximum(mean - half, 0), mean + half,
                    choice.rmse, level), choice
