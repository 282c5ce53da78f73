"""kiosk-metrics: the lane's health as Prometheus metrics, on one loopback/lane-network endpoint.

One exporter per lane rather than an endpoint in every service: every service already
publishes its health on the bus as a retained message (kiosk-core its state, with the device
faults and the reversal owed, and its online flag with its will; kiosk-sync its lag), and
the rest is in files (the journal, the disks, the SoC's temperature, the SD card's wear). So
one small reader of those gives one scrape target per lane whose figures are the ones the
lane itself acts on, adds no HTTP server to kiosk-core's process (its loop never waits for a
scrape) and no port per service. A lane that is down entirely is ``up == 0`` in Prometheus
(the scrape fails); kiosk-core down with the exporter alive is ``kiosk_core_online == 0``
(its will, or kiosk-fault@'s close). A figure that cannot be read on this box (no thermal
zone, no eMMC/SD life-time file) is left out, never invented.

Everything is read at scrape time (:class:`LaneCollector`): the bus feed only updates a small
snapshot under a lock on paho's thread; the journal is opened read-only (SQLite ``mode=ro``)
for a few indexed counts. The one exception, the certificate files the lane relies on
(:func:`kiosk.security.certificates.lane_certificates`), is read at start and then at most
once per :data:`CERT_READ_S` (:class:`CertificateExpiry`): a scrape never parses PEM. The
alerting rules over these names are in ``config/prometheus/kiosk-rules.yml`` (tests/metrics
checks each fires and clears).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import login_for
from kiosk.bus.messages import MessageError, Topics, parse_sync_status
from kiosk.bus.rejects import RejectLog
from kiosk.bus.state_feed import subscribe_state_feed
from kiosk.config import load_config_or_exit
from kiosk.domain.training import TXN_PREFIX
from kiosk.ops import sdnotify
from kiosk.ops.version import package_version
from kiosk.security.certificates import CertFile, NotCertificates, expiries, lane_certificates

log = logging.getLogger("kiosk.services.metrics")

DEFAULT_LISTEN = "127.0.0.1:9464"
#: the devices kiosk-core reports health for (``device`` commands: kiosk.bus.messages.Device)
DEVICES = ("printer", "scanner", "door")
#: the SoC's temperature (millidegrees C) and the SD/eMMC wear estimate (JEDEC: 0x01..0x0B,
#: each step 10 % of the rated life used), where the kernel exposes them
THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")
SD_LIFE = Path("/sys/block/mmcblk0/device/life_time")
#: journal event types counted (kiosk.domain.events): items added to a basket (scanned, keyed
#: or weighed; a rescan of an item already in the basket raises its line's quantity, an event
#: a quantity change by touch shares, so it is not counted), baskets started, card declines
COUNTED = {"items_added": ("item_added",), "baskets": ("session_started",),
           "declines": ("auth_declined",)}
#: the certificate files are read again at most this often (a renewal shows within it)
CERT_READ_S = 60.0
HELP = {"items_added": "lines added to a basket (scanned, keyed or weighed items)",
        "baskets": "baskets started", "declines": "payments the host declined"}


class LaneFeed:
    """The latest retained state, core status and sync status, as the bus delivered them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, Any] | None = None
        self.core_online: bool | None = None
        self.sync: dict[str, Any] | None = None
        self.heartbeat = 0.0  # when the core last published its state, epoch s (its clock)

    def on_state(self, msg: dict[str, Any]) -> None:
        with self.lock:
            self.state = msg
            # the core's own stamp: a retained state delivered when this exporter (re)starts
            # is as old as the core's last word, not as new as the delivery
            self.heartbeat = msg.get("server_time") or time.time()

    def on_status(self, msg: dict[str, Any]) -> None:
        # no heartbeat: an offline status may be the broker delivering the core's will
        with self.lock:
            self.core_online = msg["online"]

    def on_sync(self, msg: dict[str, Any]) -> None:
        with self.lock:
            self.sync = msg


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0], 0)
    except (OSError, ValueError, IndexError):
        return None


class CertificateExpiry:
    """The earliest notAfter (Unix time) of each certificate file the lane uses, read at the
    first call and again at most every ``every_s``. A file that is missing, unreadable by this
    user or holds no certificate is left out (kiosk doctor names it), logged when that
    changes."""

    def __init__(self, files: list[CertFile], every_s: float = CERT_READ_S) -> None:
        self.files = [f for f in files if f.path is not None]  # not a bridge file unread
        self.every_s = every_s
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._samples: list[tuple[str, str, float]] = []
        self._errors: dict[str, str] = {}

    def samples(self) -> list[tuple[str, str, float]]:
        """(key, file, earliest notAfter as Unix time) of each readable file."""
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= self.every_s:
                self._samples, self._read_at = self._read(), now
            return list(self._samples)

    def _read(self) -> list[tuple[str, str, float]]:
        out = []
        for cert in self.files:
            path = str(cert.path)
            try:
                earliest = min(v.not_after for v in expiries(Path(path).read_bytes()))
            except (OSError, NotCertificates) as exc:
                error = f"{type(exc).__name__}: {exc}"
                if self._errors.get(cert.key) != error:
                    log.warning("certificate %s (%s) not exported: %s", cert.key, path, error)
                self._errors[cert.key] = error
                continue
            self._errors.pop(cert.key, None)
            out.append((cert.key, path, earliest.timestamp()))
        return out


class LaneCollector(Collector):
    """Builds every metric family at scrape time from the feed and the lane's files."""

    def __init__(self, feed: LaneFeed, lane: str, journal: Path, state_dir: Path,
                 bus_connected: threading.Event, store: str = "",
                 certificates: CertificateExpiry | None = None) -> None:
        self.feed, self.lane, self.journal, self.state_dir = feed, lane, journal, state_dir
        self.store = store
        self.certificates = certificates or CertificateExpiry([])
        self.bus_connected = bus_connected
        # the journal is append-only: each scrape counts only the rows after the last one
        # counted (a journal with fewer rows than that was replaced: count it again)
        self._count_lock = threading.Lock()
        self._counted_seq = 0
        self._counts = dict.fromkeys(COUNTED, 0)

    def collect(self) -> Iterator[Any]:
        with self.feed.lock:
            state, online = self.feed.state, self.feed.core_online
            sync, heartbeat = self.feed.sync, self.feed.heartbeat
        # the lane names its store itself (store.store_id): the fleet page's store of a lane
        info = InfoMetricFamily("kiosk_lane", "the lane, its store and the release it runs")
        info.add_metric([], {"store": self.store, "lane": self.lane,
                             "version": package_version()})
        yield info
        connected = self.bus_connected.is_set()
        yield GaugeMetricFamily("kiosk_bus_connected", "1 when the exporter is on the lane's"
                                " broker", value=float(connected))
        # off the broker, the last status seen is stale and the lane cannot sell: not online
        yield GaugeMetricFamily("kiosk_core_online", "1 when kiosk-core says it is online (0:"
                                " its will, closed by kiosk-fault@, or the broker is gone)",
                                value=float(bool(online) and connected))
        yield GaugeMetricFamily("kiosk_core_heartbeat_timestamp_seconds", "when kiosk-core last"
                                " published its state (its server_time, epoch s; 0: never)",
                                value=heartbeat)
        yield from self._state(state)
        yield from self._sync(sync)
        yield from self._journal(state)
        yield from self._host()
        expiry = GaugeMetricFamily("kiosk_certificate_expiry_seconds", "when the earliest"
                                   " certificate of a file the lane relies on expires (its"
                                   " notAfter, Unix time)", labels=["key", "file"])
        for key, path, not_after in self.certificates.samples():
            expiry.add_metric([key, path], not_after)
        yield expiry

    def _state(self, state: dict[str, Any] | None) -> Iterator[Any]:
        faults = (state or {}).get("faults") or {}
        dev = GaugeMetricFamily("kiosk_device_ok", "1 when the device reports healthy",
                                labels=["device"])
        for device in DEVICES:
            dev.add_metric([device], 0.0 if device in faults else 1.0)
        yield dev
        yield GaugeMetricFamily("kiosk_printer_paper_out", "1 when the receipt printer is out"
                                " of paper", value=float(faults.get("printer") == "paper_out"))
        if state is not None:
            st = GaugeMetricFamily("kiosk_checkout_state", "the checkout state (1 for the"
                                   " current one)", labels=["state"])
            st.add_metric([state["state"]], 1.0)
            yield st

    def _sync(self, sync: dict[str, Any] | None) -> Iterator[Any]:
        if sync is None:
            return  # kiosk-sync never ran here (no back office): no lag to report
        yield GaugeMetricFamily("kiosk_sync_online", "1 when kiosk-sync runs",
                                value=float(sync["online"]))
        if sync.get("lag_s") is not None:
            yield GaugeMetricFamily("kiosk_sync_lag_seconds", "age of the oldest journal event"
                                    " the back office has not acknowledged", value=sync["lag_s"])
        if sync.get("lag_events") is not None:
            yield GaugeMetricFamily("kiosk_sync_lag_events", "journal events the back office"
                                    " has not acknowledged", value=sync["lag_events"])
        if sync.get("last_success"):
            yield GaugeMetricFamily("kiosk_sync_last_success_timestamp_seconds", "when a batch"
                                    " last reached the back office", value=sync["last_success"])

    def _journal(self, state: dict[str, Any] | None) -> Iterator[Any]:
        size = sum(p.stat().st_size for p in (self.journal, Path(f"{self.journal}-wal"))
                   if p.exists())
        yield GaugeMetricFamily("kiosk_journal_bytes", "the journal's size on disk (with its"
                                " WAL)", value=size)
        owed = bool((state or {}).get("reversal_owed"))
        counts: dict[str, int] = {}
        since = None
        if self.journal.exists():
            try:
                db = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True, timeout=1)
                try:
                    counts = self._count(db)
                    if owed:  # the reversal owed is the one the last failed authorization left
                        row = db.execute("SELECT ts FROM events WHERE type = 'auth_failed'"
                                         " ORDER BY seq DESC LIMIT 1").fetchone()
                        since = row[0] if row else None
                finally:
                    db.close()
            except sqlite3.Error as exc:  # a busy or broken journal: kiosk doctor says which
                log.warning("journal not readable for metrics: %s", exc)
        for name, value in counts.items():
            yield CounterMetricFamily(f"kiosk_{name}", f"{HELP[name]}, from the journal"
                                      " (training sales left out)", value=value)
        yield GaugeMetricFamily("kiosk_reversal_pending", "1 while a reversal is owed to the"
                                " payment host", value=float(owed))
        yield GaugeMetricFamily("kiosk_reversal_pending_age_seconds", "how long the reversal"
                                " owed has waited (0: none)",
                                value=max(0.0, time.time() - since) if owed and since else 0.0)

    def _count(self, db: sqlite3.Connection) -> dict[str, int]:
        """The :data:`COUNTED` totals, adding the rows appended since the last scrape."""
        with self._count_lock:
            head = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            if head < self._counted_seq:
                self._counted_seq, self._counts = 0, dict.fromkeys(COUNTED, 0)
            for name, types in COUNTED.items():
                marks = ",".join("?" * len(types))
                self._counts[name] += db.execute(  # a training session's rows apart
                    f"SELECT count(*) FROM events WHERE seq > ? AND seq <= ?"
                    f" AND type IN ({marks}) AND (txn IS NULL OR substr(txn, 1, ?) != ?)",
                    (self._counted_seq, head, *types, len(TXN_PREFIX), TXN_PREFIX)
                ).fetchone()[0]
            self._counted_seq = head
            return dict(self._counts)

    def _host(self) -> Iterator[Any]:
        free = GaugeMetricFamily("kiosk_disk_free_bytes", "free space", labels=["path"])
        size = GaugeMetricFamily("kiosk_disk_size_bytes", "file system size", labels=["path"])
        for path in dict.fromkeys((Path("/"), self.state_dir)):
            try:
                usage = shutil.disk_usage(path)
            except OSError:
                continue
            free.add_metric([str(path)], usage.free)
            size.add_metric([str(path)], usage.total)
        yield free
        yield size
        temp = _read_int(THERMAL)
        if temp is not None:
            yield GaugeMetricFamily("kiosk_cpu_temperature_celsius", "the SoC's temperature",
                                    value=temp / 1000)
        life = _read_int(SD_LIFE)
        if life is not None and 1 <= life <= 11:
            yield GaugeMetricFamily("kiosk_sd_life_used_ratio", "the SD/eMMC card's estimate of"
                                    " its rated life used (steps of 0.1)", value=life / 10)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port); a clear error for anything else."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}")
    return host, int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", type=parse_listen, default=parse_listen(DEFAULT_LISTEN),
                        metavar="HOST:PORT", help="where Prometheus scrapes /metrics (default"
                        f" {DEFAULT_LISTEN}: loopback; the lane network's address to let the"
                        " store's Prometheus in)")


def metrics_main(args: argparse.Namespace) -> int:
    """Entry point of ``kiosk metrics``: serve /metrics until SIGTERM/SIGINT."""
    config = load_config_or_exit()
    lane = config.store.lane_id
    topics = Topics(lane)
    feed = LaneFeed()
    bus = BusClient(login_for(config.bus, "kiosk-metrics", config.security.production),
                    f"kiosk-metrics-{lane}")

    def on_sync(_topic: str, payload: bytes) -> None:
        try:
            feed.on_sync(parse_sync_status(payload))
        except MessageError as exc:
            rejects.reject(_topic, exc.code, str(exc))

    rejects = RejectLog(log)
    subscribe_state_feed(bus, topics, rejects, feed.on_state, feed.on_status)
    bus.subscribe(topics.sync_status, on_sync)
    registry = CollectorRegistry()
    collector = LaneCollector(feed, lane, config.journal_path, config.paths.state_dir,
                              bus.connected, store=config.store.store_id,
                              certificates=CertificateExpiry(lane_certificates(config)))
    list(collector.collect())  # the journal's full count once, before the first scrape waits
    registry.register(collector)
    host, port = args.listen
    try:
        server, _thread = start_http_server(port, host, registry)
    except OSError as exc:
        print(f"kiosk metrics: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    print(f"kiosk metrics: lane {lane} on http://{host}:{server.server_address[1]}/metrics",
          flush=True)
    stop = sdnotify.stop_on_signals()
    bus.start(wait_s=None)
    sdnotify.ready()
    watchdog = sdnotify.Watchdog()
    try:
        while not stop.wait(0.25):
            watchdog.tick()
    finally:
        server.shutdown()
        bus.stop()
    return 0
