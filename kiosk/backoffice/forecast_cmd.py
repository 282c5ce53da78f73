"""``kiosk backoffice forecast STORE``: the forecast with its interval and the suggested
order, per item; added to the ``kiosk backoffice`` parser of kiosk/backoffice/commands.py.
(The synthetic year to try it on: ``kiosk sim salesyear``, kiosk/sim/salesyear.py.)

:func:`store_forecast` is the one place the history, the forecast and the reorder come
together: the command prints it, a dashboard page renders it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import psycopg

from kiosk.backoffice import item_daily
from kiosk.backoffice.forecast import forecast
from kiosk.backoffice.forecast_data import SalesHistory, sales_history, store_id_of
from kiosk.backoffice.forecast_reorder import suggest


@dataclass
class ItemForecast:
    key: str
    name: str
    model: str
    days: list[dt.date]
    mean: list[float]
    lo: list[float]
    hi: list[float]
    on_hand: float | None       # None: never counted (no suggestion)
    lead_time_days: int
    safety_stock: float
    order: int | None
    sigma: float = 0.0          # daily forecast error (the chosen model's backtest RMSE)

    def total_interval(self, level: float) -> tuple[float, float]:
        """The interval of the whole horizon's units: the days' errors taken as
        independent (as the safety stock does), not the sum of the daily bounds."""
        half = NormalDist().inv_cdf(0.5 + level / 2) * self.sigma * math.sqrt(len(self.mean))
        total = sum(self.mean)
        return max(0.0, total - half), total + half

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "model": self.model,
                "days": [d.isoformat() for d in self.days],
                "mean": [round(v, 2) for v in self.mean], "lo": [round(v, 2) for v in self.lo],
                "hi": [round(v, 2) for v in self.hi], "on_hand": self.on_hand,
                "lead_time_days": self.lead_time_days, "sigma": round(self.sigma, 3),
                "safety_stock": round(self.safety_stock, 2), "order": self.order}


@dataclass
class StoreForecast:
    store: str
    first_day: dt.date           # the first day forecast
    level: float
    service_level: float
    items: list[ItemForecast]
    wape_model: float            # the chosen models' backtest (held-out folds) ...
    wape_seasonal_naive: float   # ... and seasonal-naive's on the same days
    history: SalesHistory | None = None


def store_forecast(conn: psycopg.Connection, store: str, horizon: int = 14,
                   history_days: int = 365, until: dt.date | None = None,
                   lead_time_days: int = 2, review_days: int = 7,
                   service_level: float = 0.95, level: float = 0.9,
                   not_after: dt.date | None = None) -> StoreForecast:
    """Every item of ``store``: the next ``horizon`` days after ``until`` (default: the
    last day with a sale, not after ``not_after``) and the order to place (items with a
    stock count)."""
    history = sales_history(conn, store, until, history_days, not_after)
    fc, choice = forecast(history.units, horizon, level)
    start = history.last + dt.timedelta(days=1)
    days = [start + dt.timedelta(days=k) for k in range(horizon)]
    items = []
    for i, key in enumerate(history.keys):
        count = history.stock.get(key)
        lead = count.lead_time_days if count and count.lead_time_days is not None \
            else lead_time_days
        order = safety = None
        if count is not None:
            r = suggest(fc.mean[i], float(fc.sigma[i]), count.now, lead, review_days,
                        service_level)
            order, safety = r.order, r.safety_stock
        items.append(ItemForecast(key, history.names.get(key, ""), fc.models[i], days,
                                  fc.mean[i].tolist(), fc.lo[i].tolist(), fc.hi[i].tolist(),
                                  count.now if count else None, lead, safety or 0.0, order,
                                  float(fc.sigma[i])))
    return StoreForecast(store, start, level, service_level, items, choice.wape["chosen"],
                         choice.wape["seasonal_naive"], history)


def _rate(wape: float) -> float | None:
    """A backtest error rate as printed: None (JSON null) when there were no sales to
    measure it on (NaN is not JSON)."""
    return round(wape, 4) if math.isfinite(wape) else None


def _rate_text(wape: float) -> str:
    return f"{wape:.3f}" if math.isfinite(wape) else "-"


def cmd_forecast(args: argparse.Namespace, url: str) -> int:
    try:
        until = dt.date.fromisoformat(args.until) if args.until else None
        with psycopg.connect(url) as conn:
            if args.refresh:  # the maintenance job's step, now (it waits for a running one)
                item_daily.refresh(conn)
            result = store_forecast(conn, args.store, args.days, args.history, until,
                                    args.lead_time, args.review, args.service_level,
                                    args.level)
            pending = item_daily.behind(conn, store_id_of(conn, args.store))
    except (LookupError, ValueError) as exc:
        print(f"kiosk backoffice forecast: {exc}", file=sys.stderr)
        return 2
    if pending:
        print(f"kiosk backoffice forecast: {pending} synced rows of store {args.store} are"
              " not in the sales summary yet (the back office service sums them at start"
              " and hourly); --refresh sums them first", file=sys.stderr)
    items = [it for it in result.items if not args.item or it.key in args.item]
    if args.json:
        print(json.dumps({"store": result.store, "first_day": result.first_day.isoformat(),
                          "level": result.level, "service_level": result.service_level,
                          "wape_model": _rate(result.wape_model),
                          "wape_seasonal_naive": _rate(result.wape_seasonal_naive),
                          "items": [it.as_dict() for it in items]}))
        return 0
    pct = f"{result.level:.0%}"
    print(f"store {result.store}: {len(result.items)} items,"
          f" {args.days} days from {result.first_day} ({pct} interval); backtest WAPE"
          f" {_rate_text(result.wape_model)} (seasonal-naive"
          f" {_rate_text(result.wape_seasonal_naive)});"
          f" orders for service level {result.service_level:.0%}, review every"
          f" {args.review} days")
    print(f"{'item':<16} {'name':<20} {'model':<14} {'next ' + str(args.days) + ' d':>9}"
          f" {pct + ' interval':>17} {'on hand':>8} {'lead':>4} {'safety':>7} {'order':>6}")
    for it in items:
        total = sum(it.mean)
        lo, hi = it.total_interval(result.level)
        hand = "-" if it.on_hand is None else f"{it.on_hand:g}"
        order = "-" if it.order is None else str(it.order)
        print(f"{it.key:<16} {it.name[:20]:<20} {it.model:<14} {total:9.1f}"
              f" {f'{lo:.1f}-{hi:.1f}':>17} {hand:>8} {it.lead_time_days:>4}"
              f" {it.safety_stock:7.1f} {order:>6}")
        if args.item:
            for day, m, low, high in zip(it.days, it.mean, it.lo, it.hi, strict=True):
                print(f"    {day} {day:%a} {m:7.2f}  [{low:.2f}, {high:.2f}]")
    return 0


def add_commands(sub: Any, db: Callable[[argparse.Namespace], str]) -> None:
    """Add forecast to ``kiosk backoffice``'s subparsers."""
    fc = sub.add_parser("forecast", help="per item: the next days' demand with its interval,"
                        " the model its backtest chose, and the order to place")
    fc.add_argument("store", help="store code")
    fc.add_argument("--days", type=int, default=14, help="days to forecast (default 14)")
    fc.add_argument("--history", type=int, default=365, help="days of sales to learn from")
    fc.add_argument("--until", help="the last day of history (YYYY-MM-DD; default: the"
                    " last day with a sale)")
    fc.add_argument("--lead-time", type=int, default=2, help="supplier lead time in days,"
                    " where the catalog feed gives none (default 2)")
    fc.add_argument("--review", type=int, default=7, help="days between orders (default 7)")
    fc.add_argument("--service-level", type=float, default=0.95,
                    help="chance of not running out before the next delivery (default 0.95)")
    fc.add_argument("--level", type=float, default=0.9, help="forecast interval (default 0.9)")
    fc.add_argument("--item", action="append", help="only this item key, day by day"
                    " (repeatable)")
    fc.add_argument("--json", action="store_true", help="one JSON object")
    fc.add_argument("--refresh", action="store_true", help="sum the sales synced since the"
                    " back office service's last hourly refresh first (without it the"
                    " command only reads, as the dashboard's page does, and says on stderr"
                    " when the summary is behind)")
    fc.set_defaults(fn=lambda args: cmd_forecast(args, db(args)))
