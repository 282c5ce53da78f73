"""The dashboard's lane-health page: every lane's health as the store's Prometheus sees it.

* ``GET /dash/chain/fleet`` (chain admin: every lane of every store), ``GET
  /dash/store/{store}/fleet`` (that store's manager, or a chain admin: its lanes); ``...
  /fleet.csv?table=lanes|alerts``: a table as CSV. Not signed in: 303 to the log-in page;
  a store the role may not see: 403.

The figures come from Prometheus's HTTP API at ``kiosk backoffice serve --prometheus-url``
(or ``$KIOSK_BACKOFFICE_PROMETHEUS``), read server-side at each request with a short timeout
(:data:`TIMEOUT_S`): one instant query for the lane series kiosk-metrics exports
(kiosk/services/metrics.py, names in config/prometheus/README.md), one for the lanes' last
known ``kiosk_lane_info`` (a lane that stopped answering still has its store and version),
and ``/api/v1/alerts`` for the alerts firing. A lane belongs to the store its own
``kiosk_lane_info`` names (its ``store`` label: the lane's ``store.store_id``), so the
scrape config needs no per-store label. Prometheus unreachable (or not set): the page says
so, in the manager's language, and still answers 200.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlsplit

import httpx
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_percent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kiosk.backoffice.web.pages import Frame, Table, message_page, page, table_html
from kiosk.backoffice.web.routes import HEADERS, _html, _locale, viewer
from kiosk.i18n import N_, translator
from kiosk.staff_texts import fault_text

#: the most one request to Prometheus may take: the page never waits longer than this
TIMEOUT_S = 2.0
#: the scrape job of the lanes (config/prometheus/prometheus.example.yml; the rules' ``up``)
JOB = "kiosk-lanes"
#: how far back a lane that stopped answering is still listed (its last kiosk_lane_info)
KNOWN_FOR = "1d"
SERIES = ("up", "kiosk_core_online", "kiosk_core_heartbeat_timestamp_seconds",
          "kiosk_device_ok", "kiosk_printer_paper_out", "kiosk_reversal_pending",
          "kiosk_reversal_pending_age_seconds", "kiosk_sync_lag_seconds",
          "kiosk_disk_free_bytes", "kiosk_disk_size_bytes", "kiosk_lane_info")
#: the shipped rules (config/prometheus/kiosk-rules.yml) as a manager reads them
ALERTS = {"KioskLaneDown": N_("Lane down"),
          "KioskPrinterPaperOut": N_("Printer out of paper"),
          "KioskReversalOwed": N_("Reversal owed for over 5 minutes"),
          "KioskSyncLag": N_("Back office over 15 minutes behind"),
          "KioskDiskNearlyFull": N_("Disk nearly full"),
          "KioskCertificateExpired": N_("A certificate has expired"),
          "KioskCertificateExpiring": N_("A certificate expires within 30 days")}


class Unavailable(Exception):
    """Prometheus did not answer (or answered nonsense) within TIMEOUT_S."""


@dataclass
class LaneHealth:
    instance: str
    store: str = ""
    lane: str = ""
    version: str = ""
    up: bool = False
    core_online: bool | None = None
    heartbeat: float = 0.0
    devices: dict[str, bool] = field(default_factory=dict)
    paper_out: bool | None = None
    reversal_pending: bool = False
    reversal_age_s: float = 0.0
    sync_lag_s: float | None = None
    disk_free: dict[str, float] = field(default_factory=dict)  # path: free bytes
    disk_size: dict[str, float] = field(default_factory=dict)
    alerts: list[tuple[str, dt.datetime | None]] = field(default_factory=list)

    def disk_free_ratio(self) -> float | None:
        ratios = [self.disk_free[p] / self.disk_size[p] for p in self.disk_free
                  if self.disk_size.get(p)]
        return min(ratios) if ratios else None


@dataclass
class Fleet:
    at: float                # Prometheus's evaluation time of the figures (epoch s)
    lanes: list[LaneHealth]


async def _get(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    answer = await client.get(url, params=params)
    answer.raise_for_status()
    body = answer.json()
    if body.get("status") != "success":
        raise Unavailable(body.get("error", "not a success"))
    return body["data"]


async def read_fleet(base_url: str) -> Fleet:
    """Every lane Prometheus scrapes (or scraped in the last :data:`KNOWN_FOR`)."""
    api = base_url.rstrip("/") + "/api/v1/"
    names = "|".join(SERIES)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            now, known, alerts = await asyncio.wait_for(asyncio.gather(
                _get(client, api + "query", query=f'{{job="{JOB}",__name__=~"{names}"}}'),
                _get(client, api + "query",
                     query=f'last_over_time(kiosk_lane_info{{job="{JOB}"}}[{KNOWN_FOR}])'),
                _get(client, api + "alerts")), TIMEOUT_S * 2)
        return _fleet(now["result"], known["result"], alerts["alerts"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError, TimeoutError) as exc:
        raise Unavailable(str(exc)) from exc


def _fleet(now: list[dict], known: list[dict], alerts: list[dict]) -> Fleet:
    lanes: dict[str, LaneHealth] = {}
    at = max((float(r["value"][0]) for r in now), default=0.0)

    def lane(labels: dict[str, str]) -> LaneHealth:
        instance = labels.get("instance", "")
        return lanes.setdefault(instance, LaneHealth(instance))

    for r in sorted(known, key=lambda r: r["metric"].get("version", "")):
        m, health = r["metric"], lane(r["metric"])
        health.store, health.lane, health.version = (m.get("store", ""), m.get("lane", ""),
                                                      m.get("version", ""))
    for r in now:
        m, value = r["metric"], float(r["value"][1])
        health, name = lane(m), m["__name__"]
        if name == "up":
            health.up = value == 1
        elif name == "kiosk_lane_info":  # the current one wins over the last known
            health.store, health.lane, health.version = (m.get("store", ""),
                                                          m.get("lane", ""), m.get("version", ""))
        elif name == "kiosk_core_online":
            health.core_online = value == 1
        elif name == "kiosk_core_heartbeat_timestamp_seconds":
            health.heartbeat = value
        elif name == "kiosk_device_ok":
            health.devices[m.get("device", "")] = value == 1
        elif name == "kiosk_printer_paper_out":
            health.paper_out = value == 1
        elif name == "kiosk_reversal_pending":
            health.reversal_pending = value == 1
        elif name == "kiosk_reversal_pending_age_seconds":
            health.reversal_age_s = value
        elif name == "kiosk_sync_lag_seconds":
            health.sync_lag_s = value
        elif name == "kiosk_disk_free_bytes":
            health.disk_free[m.get("path", "")] = value
        elif name == "kiosk_disk_size_bytes":
            health.disk_size[m.get("path", "")] = value
    for a in alerts:
        labels = a.get("labels", {})  # the lanes' alerts only (a shared Prometheus has more)
        if a.get("state") != "firing" or labels.get("job") != JOB or "instance" not in labels:
            continue
        since = a.get("activeAt")
        lane(labels).alerts.append((labels.get("alertname", ""),
                                         _parse_time(since) if since else None))
    return Fleet(at, sorted(lanes.values(), key=lambda h: (h.store, h.lane, h.instance)))


def _parse_time(text: str) -> dt.datetime | None:
    try:  # RFC 3339 with nanoseconds: Python takes at most microseconds
        head, _, frac = text.rstrip("Z").partition(".")
        return dt.datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")
    except ValueError:
        return None


def _status(h: LaneHealth) -> str:
    if not h.up:
        return N_("Not answering")
    return N_("Up") if h.core_online else N_("Checkout offline")


def _ago(seconds: float, locale: str) -> str:
    # babel words a negative span as past ("5 minutes ago"); under a second is "1 second"
    return format_timedelta(dt.timedelta(seconds=-max(1.0, seconds)), threshold=1.5,
                            add_direction=True, locale=locale)


def _span(seconds: float, locale: str) -> str:
    return format_timedelta(dt.timedelta(seconds=max(0.0, seconds)), threshold=1.5,
                            locale=locale)


def tables(fleet: Fleet, locale: str) -> tuple[Table, Table]:
    """The lanes table and the alerts table, their CSV rows and their shown rows."""
    tr = translator(locale)
    lanes = Table("lanes", tr("Lanes"),
                  [tr("Store"), tr("Lane"), tr("Status"), tr("Version"), tr("Last heard from"),
                   tr("Devices"), tr("Receipt paper"), tr("Reversal owed"), tr("Sync lag"),
                   tr("Disk free")], [])
    fired = Table("alerts", tr("Alerts firing"),
                  [tr("Store"), tr("Lane"), tr("Alert"), tr("Since")], [])
    for h in fleet.lanes:
        free = h.disk_free_ratio()
        lanes.rows.append([
            h.store, h.lane or h.instance, "up" if h.up and h.core_online else
            "down" if not h.up else "core_offline", h.version, h.heartbeat or "",
            " ".join(f"{d}={'ok' if ok else 'fault'}" for d, ok in sorted(h.devices.items())),
            "" if h.paper_out is None else int(h.paper_out),
            round(h.reversal_age_s, 1) if h.reversal_pending else "",
            "" if h.sync_lag_s is None else round(h.sync_lag_s, 1),
            "" if free is None else round(free, 4)])
        # the faulty devices by name (kiosk.staff_texts, as the attendant station names
        # them; kiosk_device_ok says no more than faulty); the CSV has every device's state
        faults = [fault_text(d, "", tr) for d, ok in sorted(h.devices.items()) if not ok]
        devices = ", ".join(faults) or (tr("All working") if h.devices else "")
        lanes.shown.append([
            h.store, h.lane or h.instance, tr(_status(h)), h.version,
            _ago(fleet.at - h.heartbeat, locale) if h.heartbeat else tr("Never"), devices,
            "" if h.paper_out is None else tr("Out of paper") if h.paper_out else tr("Loaded"),
            _span(h.reversal_age_s, locale) if h.reversal_pending else tr("None"),
            tr("No sync") if h.sync_lag_s is None else _span(h.sync_lag_s, locale),
            "" if free is None else format_percent(free, locale=locale)])
        for name, since in h.alerts:
            fired.rows.append([h.store, h.lane or h.instance, name,
                               since.isoformat() if since else ""])
            fired.shown.append([h.store, h.lane or h.instance, tr(ALERTS.get(name, name)),
                                format_datetime(since, "short", tzinfo=dt.UTC, locale=locale)
                                + f" ({_ago(fleet.at - since.timestamp(), locale)})"
                                if since else ""])
    return lanes, fired


def _shown(url: str) -> str:
    """The URL as the page may show it: scheme, host and port (no user or password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}" + (
        f":{parts.port}" if parts.port else "")


def _section(table: Table, href: str, locale: str, empty: str) -> str:
    if table.shown:
        return f'<section class="wrap">{table_html(table, href, locale)}</section>'
    tr = translator(locale)
    return (f'<section><h3>{escape(table.caption)}</h3><p class="empty">{escape(tr(empty))}'
            "</p></section>")


async def fleet_page(request: Request) -> Response:
    locale = _locale(request)
    tr = translator(locale)
    store = request.path_params.get("store")
    csv = request.url.path.endswith(".csv")
    async with request.app.state.pool.connection() as conn:
        seen = await viewer(request, conn, store, locale)
        if isinstance(seen, Response):
            return seen
        session, _, stores = seen
    url = request.app.state.prometheus_url
    fleet, problem = None, ""
    if not url:
        problem = tr("No Prometheus is set for this back office (kiosk backoffice serve"
                     " --prometheus-url): lane health cannot be shown.")
    else:
        try:
            fleet = await read_fleet(url)
        except Unavailable:
            problem = tr("Prometheus ({url}) cannot be reached: lane health cannot be shown"
                         " right now. Try again in a minute.").format(url=_shown(url))
    if fleet is not None and store is not None:
        fleet.lanes = [h for h in fleet.lanes if h.store == store]
    lanes, fired = tables(fleet or Fleet(0.0, []), locale)
    if csv:
        table = {"lanes": lanes, "alerts": fired}.get(request.query_params.get("table", ""))
        if table is None or fleet is None:
            return _html(message_page(locale, tr("No such table.")), 404)
        return Response(table.csv(), media_type="text/csv; charset=utf-8", headers={
            **HEADERS, "Content-Disposition":
            f'attachment; filename="{store or "chain"}-fleet-{table.id}.csv"'})
    today = dt.datetime.now(dt.UTC).date()
    frame = Frame(locale, "fleet", store, stores, session.user.username, session.csrf, today,
                  today, {"lang": locale})
    if fleet is None:
        content = [f'<p class="error" role="alert" id="unavailable">{escape(problem)}</p>']
    else:
        at = dt.datetime.fromtimestamp(fleet.at or dt.datetime.now(dt.UTC).timestamp(), dt.UTC)
        as_of = tr("As of {time} UTC, from Prometheus.").format(
            time=format_datetime(at, "medium", tzinfo=dt.UTC, locale=locale))
        content = [f'<p id="as-of">{escape(as_of)}</p>',
            _section(fired, frame.href("fleet", ".csv", table="alerts"), locale,
                     N_("No alert is firing.")),
            _section(lanes, frame.href("fleet", ".csv", table="lanes"), locale,
                     N_("No lane reports to Prometheus."))]
    return _html(page(frame, tr("Lane health"), content))


ROUTES = [Route(path, fleet_page, methods=["GET"]) for path in (
    "/dash/chain/fleet", "/dash/chain/fleet.csv",
    "/dash/store/{store}/fleet", "/dash/store/{store}/fleet.csv")]
