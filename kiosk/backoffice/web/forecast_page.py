"""The dashboard's forecast page (``/dash/store/{store}/forecast``, issue 18 item 2): per
item the next 14 days' demand with its interval, the model its backtest chose, the stock on
hand, the lead time and the suggested order; one item's recent sales and forecast band as
an SVG chart (``?item=KEY``, picked with a plain GET form); both tables as CSV.

The figures are :func:`kiosk.backoffice.forecast_cmd.store_forecast`'s, the same call
``kiosk backoffice forecast`` prints (defaults: 365 days of history, lead time 2 days where
the feed gives none, review every 7 days, service level 95%, 90% interval), forecast from
the last day with a sale up to the page's day. It runs on its own (synchronous) connection
in a worker thread: the models are numpy, not async. A GET only reads: the sales summary is
as the service's maintenance job left it (kiosk/backoffice/item_daily.py, at start and hourly).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from html import escape

import psycopg
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from kiosk.backoffice.forecast_cmd import ItemForecast, StoreForecast, store_forecast
from kiosk.backoffice.web import charts
from kiosk.backoffice.web.pages import Table
from kiosk.i18n import N_, translator

#: the models' names as the manager reads them (ids: kiosk.backoffice.forecast.MODELS)
MODEL_LABELS = {"seasonal_naive": N_("Last week again"),
                "weekday_mean": N_("Weekday average"),
                "ses_weekly": N_("Smoothed, with the week's pattern"),
                "croston": N_("Slow mover: Croston"), "sba": N_("Slow mover: Croston-SBA"),
                "tsb": N_("Slow mover: TSB"), "adida": N_("Slow mover: ADIDA")}
#: days of sales drawn before the forecast
CHART_PAST = 42


def compute(conninfo: str, store: str, day: dt.date) -> StoreForecast:
    with psycopg.connect(conninfo) as conn:
        return store_forecast(conn, store, not_after=day)


def _n(value: float, locale: str, places: int = 1) -> str:
    return format_decimal(round(value, places), format=f"#,##0.{'0' * places}",
                          locale=locale)


def _name(fc: StoreForecast, it: ItemForecast, locale: str) -> str:
    """The item's name in ``locale`` as the lane sold it, else the command's, else its key."""
    names = fc.history.names_by_locale.get(it.key, {}) if fc.history else {}
    return names.get(locale) or it.name or it.key


async def build(conninfo: str, store: str | None, day: dt.date, locale: str,
                item: str | None) -> tuple[list[Table], list[str]]:
    """The page's tables and its other sections (``item``: the item charted, default the
    first row's)."""
    tr = translator(locale)
    if store is None:
        text = tr("The forecast is per store: pick a store.")
        return [], [f"<section><p>{escape(text)}</p></section>"]
    try:
        fc = await asyncio.to_thread(compute, conninfo, store, day)
    except ValueError as exc:  # too short a history for the backtest
        return [], [f"<section><p>{escape(str(exc))}</p></section>"]
    items = sorted(fc.items, key=lambda it: (-(it.order or 0), -sum(it.mean), it.key))
    pct = format_percent(fc.level, locale=locale)
    horizon = len(fc.items[0].mean) if fc.items else 14
    # what to order first (a tablet scrolls the table sideways: the order is in sight)
    cols = [tr("Item"), tr("Suggested order"), tr("On hand"),
            tr("Next {days} days").format(days=horizon),
            tr("Low ({level})").format(level=pct), tr("High ({level})").format(level=pct),
            tr("Lead time (days)"), tr("Safety stock"), tr("Model"), tr("Code")]
    table = Table("forecast", tr("Forecast and suggested orders"), cols, [],
                  numeric={1, 2, 3, 4, 5, 6, 7})
    for it in items:
        lo, hi = it.total_interval(fc.level)
        total = sum(it.mean)
        table.rows.append([it.name, it.order, it.on_hand, round(total, 2), round(lo, 2),
                           round(hi, 2), it.lead_time_days, round(it.safety_stock, 2),
                           it.model, it.key])
        table.shown.append([
            _name(fc, it, locale),
            "–" if it.order is None else format_decimal(it.order, locale=locale),
            "–" if it.on_hand is None else format_decimal(it.on_hand, locale=locale),
            _n(total, locale), _n(lo, locale), _n(hi, locale),
            format_decimal(it.lead_time_days, locale=locale), _n(it.safety_stock, locale),
            tr(MODEL_LABELS.get(it.model, it.model)), it.key])
    chosen = next((it for it in items if it.key == item), items[0] if items else None)
    sections = [_summary(fc, locale, horizon)]
    tables = [table]
    if chosen is not None and fc.history is not None:
        sections += [_picker(fc, items, chosen, store, day, locale),
                     _chart(fc, chosen, locale)]
        days = Table("days", tr("{item}: forecast by day").format(item=_name(fc, chosen, locale)),
                     [tr("Day"), tr("Forecast"), tr("Low"), tr("High")],
                     [[d.isoformat(), round(m, 2), round(lo, 2), round(hi, 2)]
                      for d, m, lo, hi in zip(chosen.days, chosen.mean, chosen.lo, chosen.hi,
                                              strict=True)], numeric={1, 2, 3})
        days.shown = [[format_date(d, "EEE d MMM" if locale == "en" else "medium",
                                   locale=locale), _n(m, locale, 2), _n(lo, locale, 2),
                       _n(hi, locale, 2)]
                      for d, m, lo, hi in zip(chosen.days, chosen.mean, chosen.lo, chosen.hi,
                                              strict=True)]
        tables.append(days)
    return tables, sections


def _percent(value: float, locale: str) -> str:
    """A share as a percentage; "–" when there is none (no sales on the backtest's days)."""
    return format_percent(value, locale=locale) if math.isfinite(value) else "–"


def _summary(fc: StoreForecast, locale: str, horizon: int) -> str:
    tr = translator(locale)
    first = format_date(fc.first_day, "medium", locale=locale)
    last = format_date(fc.first_day + dt.timedelta(days=horizon - 1), "medium", locale=locale)
    text = tr("Forecast from {first} to {last}. Backtest error (WAPE): chosen models {model},"
              " last week again {naive}. Suggested orders cover demand until the next"
              " delivery at a {service} service level, with an order every 7 days.").format(
        first=first, last=last, model=_percent(fc.wape_model, locale),
        naive=_percent(fc.wape_seasonal_naive, locale),
        service=format_percent(fc.service_level, locale=locale))
    return f'<section><p class="note">{escape(text)}</p></section>'


def _picker(fc: StoreForecast, items: list[ItemForecast], chosen: ItemForecast, store: str,
            day: dt.date, locale: str) -> str:
    tr = translator(locale)
    options = "".join(
        f'<option value="{escape(it.key)}"{" selected" if it is chosen else ""}>'
        f"{escape(_name(fc, it, locale))} ({escape(it.key)})</option>" for it in items)
    return (f'<form class="pick" method="get" action="/dash/store/{escape(store)}/forecast">'
            f'<input type="hidden" name="lang" value="{escape(locale)}">'
            f'<input type="hidden" name="day" value="{day.isoformat()}">'
            f'<label>{escape(tr("Item"))}<select name="item">{options}</select></label>'
            f'<button type="submit">{escape(tr("Show"))}</button></form>')


def _chart(fc: StoreForecast, chosen: ItemForecast, locale: str) -> str:
    tr = translator(locale)
    history = fc.history
    assert history is not None
    row = history.keys.index(chosen.key)
    past = min(CHART_PAST, history.units.shape[1])
    sold = history.units[row, -past:].tolist()
    days = [history.last - dt.timedelta(days=past - 1 - k) for k in range(past)] + chosen.days
    labels = [format_date(d, "d MMM" if locale == "en" else "M/d", locale=locale)
              for d in days]
    pct = format_percent(fc.level, locale=locale)
    title = tr("{item}: units sold and forecast").format(item=_name(fc, chosen, locale))
    return "<section>" + charts.forecast_band(
        title, labels, sold, chosen.mean, chosen.lo, chosen.hi,
        (tr("Sold"), tr("Forecast"), tr("{level} interval").format(level=pct)),
        fmt=lambda v: f"{v:.3g}") + "</section>"
