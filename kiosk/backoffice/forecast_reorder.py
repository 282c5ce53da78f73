"""Reorder suggestions from a demand forecast (issue 18): a periodic-review order-up-to
policy per item.

An order placed today arrives after the lead time L and must last until the next order's
delivery, one review period R later: the protection period is P = L + R days. Then

* expected demand over P: the forecast's daily means summed over the first P days (past
  the forecast horizon, its last week's average per day);
* safety stock = z(service level) x sigma x sqrt(P), sigma the chosen model's daily
  backtest error on that series (:class:`kiosk.backoffice.forecast.Forecast`), days taken as
  independent;
* order-up-to level S = demand over P + safety stock; the suggestion is S less the stock on
  hand, rounded up to a whole unit (0 when the shelf holds enough).

Stock already on order is not known to the back office, so it is not subtracted: the
manager sees the suggestion beside what is on hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass(frozen=True)
class Reorder:
    demand: float        # expected units over the protection period
    safety_stock: float
    order_up_to: float
    on_hand: float
    order: int           # suggested units to order now


def protection_demand(mean: np.ndarray, days: int) -> float:
    """Units expected over ``days`` from a [h] daily forecast (extended past h with the
    last week's daily average)."""
    h = mean.size
    if days <= h:
        return float(mean[:days].sum())
    return float(mean.sum() + (days - h) * mean[-min(7, h):].mean())


def suggest(mean: np.ndarray, sigma: float, on_hand: float, lead_time_days: int,
            review_days: int = 7, service_level: float = 0.95) -> Reorder:
    """The order to place today for one item (see the module docstring)."""
    if not 0.5 <= service_level < 1:
        raise ValueError(f"service level {service_level}: between 0.5 and 1 (e.g. 0.95)")
    if lead_time_days < 0 or review_days < 1:
        raise ValueError("lead time >= 0 days and review period >= 1 day")
    days = lead_time_days + review_days
    demand = protection_demand(mean, days)
    safety = NormalDist().inv_cdf(service_level) * sigma * math.sqrt(days)
    level = demand + safety
    order = max(0, math.ceil(level - on_hand - 1e-9))
    return Reorder(demand, safety, level, on_hand, order)
