"""kiosk-sync (``kiosk sync``): the lane's journal, batch by batch, to the store's back office.

The wire API (docs/backoffice.md): ``GET /v1/lanes/{lane}/acked`` answers the highest
contiguous seq the back office holds; ``POST /v1/lanes/{lane}/events`` takes a batch of the
journal's rows, oldest first and contiguous, inserts each at most once (``UNIQUE (lane_id,
seq)``) and answers the new acked seq. This client keeps no state of its own: it asks the
server where to resume at start and after every error, so a crash, a power cut or hours
offline resume exactly there; it only ever sends the rows after the server's last answer, so
a batch goes twice only when its answer was lost (at-least-once on the wire, exactly-once in
the table). Errors: a connection or 5xx error backs off exponentially with full jitter
(``backoff_min_s`` .. ``backoff_max_s``); 409 (a gap before the batch) and 400 re-ask the
acked seq; 413 halves the batch; 401/403 (the token refused) stop the fast retries: it
retries every ``backoff_max_s`` and reports ``refused``.

It never blocks or slows the checkout: it runs in its own process and reads the journal
read-only (SQLite ``mode=ro`` URI, WAL: a reader never blocks kiosk-core's writes), one
bounded batch at a time. Its health, the sync lag, is the retained
``kiosk/v1/<lane>/sync/status`` (:class:`kiosk.bus.messages.SyncStatus`, with a last will),
which ``kiosk doctor`` reads. The store's catalog comes down the same link: a thread runs
:class:`kiosk.services.catalog_pull.CatalogPuller`, which leaves a checked snapshot in
``catalog-inbox/`` of the state dir (the one place there kiosk-sync may write) for kiosk-core
to apply between baskets. Each batch it sends is logged with its seq range (``sync:
sent seq A-B``), which is how the tests count resends.

systemd: ``Type=notify``, READY=1 once it has started (the back office may well be
unreachable: that is a health figure, not a failure), WATCHDOG=1 from the main loop, which
waits at most :data:`TICK_S` at a time. The token comes as the credential ``sync-token``
(``$CREDENTIALS_DIRECTORY``) or from ``sync.token_file``; either must be mode 0600 (no
group or other bits) and hold one line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sqlite3
import ssl
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import CredentialError, login_for
from kiosk.bus.messages import VERSION, Topics
from kiosk.config import SyncConfig, load_config_or_exit
from kiosk.ops import sdnotify
from kiosk.services.catalog_pull import CatalogPuller

log = logging.getLogger("kiosk.sync")
#: the main loop waits at most this long at a time (it ticks the systemd watchdog)
TICK_S = 0.25
CREDENTIAL = "sync-token"
#: statuses that mean the batch must not be resent as is: ask the server where it stands
REASK = (400, 409)
REFUSED = (401, 403)


class TokenError(RuntimeError):
    """The lane's token file is missing, unsafe or malformed; ``str()`` says which."""


def token_path(cfg: SyncConfig) -> Path:
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    return Path(creds) / CREDENTIAL if creds else cfg.token_file


def read_token(path: Path) -> str:
    """The bearer token in ``path``: refused unless the file is mode 0600 or stricter (no
    group or other bits) and holds exactly one non-empty line."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise TokenError(f"sync token missing: {path} (kiosk backoffice lane add STORE LANE"
                         " issues it)") from None
    except PermissionError:
        raise TokenError(f"sync token: cannot read {path} (permission denied)") from None
    with os.fdopen(fd) as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        if mode & 0o077:
            raise TokenError(f"sync token file {path} is readable by others (mode"
                             f" {mode:04o}): chmod 600 {path}")
        lines = fh.read().splitlines()
    if len(lines) != 1 or not lines[0].strip() or any(c.isspace() for c in lines[0].strip()):
        raise TokenError(f"sync token file {path} must hold one line: the token")
    return lines[0].strip()


def full_jitter(attempt: int, base_s: float, cap_s: float,
                rng: Callable[[float, float], float] = random.uniform) -> float:
    """AWS's "full jitter": a uniform wait in [0, min(cap, base * 2**attempt)]."""
    return rng(0.0, min(cap_s, base_s * (2 ** min(attempt, 32))))


class JournalReader:
    """The journal opened read-only (``mode=ro``): rows after a seq, oldest first. Each
    query is its own read transaction, so a reader never holds kiosk-core's WAL back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None, check_same_thread=False)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def rows(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows with seq > ``after`` as the wire carries them."""
        try:
            cur = self._conn().execute(
                "SELECT seq, ts, type, txn, data, hash FROM events WHERE seq > ?"
                " ORDER BY seq LIMIT ?", (after, limit))
            found = cur.fetchall()
        except sqlite3.Error:
            self.close()  # reopened at the next call (a file not made yet, or replaced)
            raise
        return [{"seq": s, "ts": ts, "type": k, "txn": t, "data": json.loads(d), "hash": h}
                for s, ts, k, t, d, h in found]

    def head(self) -> int:
        """The journal's last seq (0 when empty)."""
        row = self._conn().execute("SELECT MAX(seq) FROM events").fetchone()
        return row[0] or 0

    def oldest_after(self, seq: int) -> float | None:
        """The ts of the first row after ``seq`` (the oldest one not shipped), if any."""
        row = self._conn().execute("SELECT ts FROM events WHERE seq > ? ORDER BY seq LIMIT 1",
                                   (seq,)).fetchone()
        return row[0] if row else None


@dataclass
class SyncHealth:
    """What the retained status says (see :class:`kiosk.bus.messages.SyncStatus`)."""

    state: str = "retrying"
    acked_seq: int | None = None
    journal_seq: int | None = None
    lag_events: int | None = None
    lag_s: float | None = None
    last_success: float | None = None
    error: str = ""
    batches: int = 0
    events: int = 0

    def message(self, online: bool = True) -> dict[str, Any]:
        return {"v": VERSION, "type": "sync_status", "online": online,
                "state": self.state if online else "offline", "acked_seq": self.acked_seq,
                "journal_seq": self.journal_seq, "lag_events": self.lag_events,
                "lag_s": self.lag_s, "last_success": self.last_success,
                "error": self.error[:256]}


class Syncer:
    """One lane's shipping loop; :meth:`step` does one thing and says how long to wait."""

    def __init__(self, cfg: SyncConfig, lane: str, journal: Path, token: str,
                 http: httpx.Client | None = None,
                 rng: Callable[[float, float], float] = random.uniform,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.lane = cfg, lane
        self.reader = JournalReader(journal)
        self.http = http or httpx.Client(
            base_url=cfg.url.rstrip("/"),
            verify=ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else True,
            timeout=cfg.timeout_s, headers={"Authorization": f"Bearer {token}"})
        self.rng, self.clock = rng, clock
        self.acked: int | None = None    # the server's last answer; None: ask it first
        self.batch = cfg.batch_max
        self.ceiling = cfg.batch_max     # below the smallest batch answered 413 so far
        self.failures = 0
        self.health = SyncHealth()
        self._events = f"/v1/lanes/{lane}/events"
        self._acked = f"/v1/lanes/{lane}/acked"

    def close(self) -> None:
        self.reader.close()
        self.http.close()

    # -- one step ---------------------------------------------------------------------------

    def step(self) -> float:
        """Ask where to resume or ship one batch; the seconds to wait before the next step."""
        try:
            if self.acked is None:
                self.acked = self._ask_acked()
                self.health.acked_seq = self.acked
                self.health.last_success = self.clock()
                log.info("sync: back office holds seq 1-%d of lane %s", self.acked, self.lane)
            rows = self.reader.rows(self.acked, self.batch)
            if not rows:  # caught up: nothing to ask the back office
                self._ok(contacted=False)
                return self.cfg.interval_s
            return self._ship(rows)
        except sqlite3.Error as exc:  # no journal yet (kiosk-core not started once)
            return self._failed(f"journal not readable: {exc}")
        except httpx.HTTPError as exc:
            self.acked = None
            return self._failed(f"{type(exc).__name__}: {exc}"[:200])
        except (ValueError, KeyError, TypeError) as exc:  # an answer that is not the API's
            self.acked = None
            return self._failed(f"unreadable answer from the back office: {exc}"[:200])
        finally:
            self._measure()

    def _ask_acked(self) -> int:
        answer = self.http.get(self._acked)
        if answer.status_code != 200:
            raise _Refused(answer) if answer.status_code in REFUSED else httpx.HTTPStatusError(
                f"GET acked: {answer.status_code}", request=answer.request, response=answer)
        return int(answer.json()["acked_seq"])

    def _ship(self, rows: list[dict[str, Any]]) -> float:
        first, last = rows[0]["seq"], rows[-1]["seq"]
        log.info("sync: sent seq %d-%d", first, last)
        # "after": the seq the rows were read after; should the journal itself lack rows (a
        # gap), the back office flags it instead of refusing the batch as out of order (409)
        answer = self.http.post(self._events, json={"after": self.acked, "events": rows})
        status = answer.status_code
        if status == 200:
            acked = int(answer.json()["acked_seq"])
            flags = answer.json().get("flags") or []
            if flags:
                log.warning("sync: the back office flagged %s", json.dumps(flags)[:300])
            if acked < self.acked:  # the server lost rows (restored from an old backup)
                log.warning("sync: back office acked seq %d, behind its earlier %d: resuming"
                            " from there", acked, self.acked)
            before, self.acked = self.acked, acked
            self.health.acked_seq = acked
            if acked <= before:
                return self._failed(f"batch {first}-{last} acknowledged nothing"
                                    f" (acked {acked})")
            self.health.batches += 1
            self.health.events += acked - before
            self.batch = min(self.ceiling, self.batch * 2)
            self._ok()
            return 0.0  # at once: the next step finds the rest, or nothing and waits
        if status in REFUSED:
            raise _Refused(answer)
        if status == 413:  # halve it, and never grow back to a size refused
            self.batch = max(1, len(rows) // 2)
            self.ceiling = max(1, len(rows) - 1)
            log.warning("sync: batch of %d too large for the back office: now %d",
                        len(rows), self.batch)
            if len(rows) > 1:
                return 0.0
        if status in REASK:
            log.warning("sync: back office answered %d to seq %d-%d: %s; asking where it"
                        " stands", status, first, last, answer.text[:200])
        self.acked = None
        return self._failed(f"POST events: {status} {answer.text[:120]}")

    # -- health -----------------------------------------------------------------------------

    def _ok(self, contacted: bool = True) -> None:
        """A step went well; ``last_success`` is the last answer the back office gave."""
        self.failures = 0
        self.health.state, self.health.error = "ok", ""
        if contacted:
            self.health.last_success = self.clock()

    def _failed(self, why: str) -> float:
        self.failures += 1
        self.health.state, self.health.error = "retrying", why
        delay = full_jitter(self.failures - 1, self.cfg.backoff_min_s, self.cfg.backoff_max_s,
                            self.rng)
        log.warning("sync: %s; retrying in %.1f s (attempt %d)", why, delay, self.failures)
        return delay

    def refused(self, exc: _Refused) -> float:
        self.acked = None
        self.failures += 1
        self.health.state = "refused"
        self.health.error = f"token refused: {exc.status}"
        # every try (they are backoff_max_s apart, so this line cannot flood the log)
        log.error("sync: the back office refused this lane's token (%d %s): check"
                  " sync.token_file (kiosk backoffice lane add); retrying in %g s",
                  exc.status, exc.text, self.cfg.backoff_max_s)
        return self.cfg.backoff_max_s

    def _measure(self) -> None:
        """The lag: events the back office lacks, and the age of the oldest of them."""
        try:
            head = self.reader.head()
            acked = self.health.acked_seq
            oldest = self.reader.oldest_after(acked) if acked is not None and head > acked else None
        except sqlite3.Error:
            return
        self.health.journal_seq = head
        if acked is None:
            self.health.lag_events = self.health.lag_s = None
            return
        self.health.lag_events = max(0, head - acked)
        self.health.lag_s = round(max(0.0, self.clock() - oldest), 3) if oldest else 0.0

    def run_step(self) -> float:
        try:
            return self.step()
        except _Refused as exc:
            return self.refused(exc)


class _Refused(Exception):
    def __init__(self, answer: httpx.Response) -> None:
        super().__init__(answer.status_code)
        self.status = answer.status_code
        self.text = answer.text[:120]


class SyncService:
    """The loop (main thread: it ticks the watchdog) and the retained status on the bus."""

    def __init__(self, syncer: Syncer, bus: BusClient | None, lane: str,
                 status_interval_s: float) -> None:
        self.syncer, self.bus = syncer, bus
        self.topic = Topics(lane).sync_status
        self.status_interval_s = status_interval_s
        self._last_sent: dict | None = None
        self._next_status = 0.0

    def publish_status(self, force: bool = False) -> None:
        if self.bus is None or not self.bus.connected.is_set():
            return
        msg = self.syncer.health.message()
        now = time.monotonic()
        if force or now >= self._next_status or _changed(msg, self._last_sent):
            self.bus.publish(self.topic, msg, retain=True)
            self._last_sent, self._next_status = msg, now + self.status_interval_s

    def run(self, stop: threading.Event, on_tick: Callable[[], object] = lambda: None) -> int:
        if self.bus is not None:
            self.bus.on_connect(lambda: self.publish_status(force=True))
            self.bus.start(wait_s=None)
        try:
            while not stop.is_set():
                wait = self.syncer.run_step()
                self.publish_status()
                deadline = time.monotonic() + wait
                while not stop.is_set():
                    on_tick()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    stop.wait(min(TICK_S, left))
                    self.publish_status()
        finally:
            if self.bus is not None:
                if self.bus.connected.is_set():
                    self.bus.publish(self.topic, self.syncer.health.message(online=False),
                                     retain=True).wait_for_publish(2)
                self.bus.stop()
            self.syncer.close()
        return 0


def _changed(new: dict, old: dict | None) -> bool:
    """A change worth publishing at once (state, or acked seq), not every lag tick."""
    return old is None or any(new[k] != old[k] for k in ("state", "acked_seq", "error"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-bus", action="store_true",
                        help="do not publish the sync status on the bus (a lane without one)")


def sync_main(args: argparse.Namespace) -> int:
    """``kiosk sync``: ship the journal until SIGTERM / SIGINT."""
    config = load_config_or_exit()
    cfg = config.sync
    if not cfg.url:
        print("sync: sync.url is not set: this lane sells alone, nothing to ship",
              file=sys.stderr)
        sdnotify.ready("off: sync.url is not set")
        return 0
    try:
        token = read_token(token_path(cfg))
    except TokenError as exc:
        print(f"sync: {exc}", file=sys.stderr)
        return 2
    if cfg.ca_file is not None and not cfg.ca_file.is_file():
        print(f"sync: sync.ca_file {cfg.ca_file} not found", file=sys.stderr)
        return 2
    lane = config.store.lane_id
    bus = None
    if not getattr(args, "no_bus", False):
        try:
            login = login_for(config.bus, "kiosk-sync", config.security.production)
        except CredentialError as exc:
            print(f"sync: {exc}", file=sys.stderr)
            return 2
        bus = BusClient(login, f"kiosk-sync-{lane}-{os.getpid()}",
                        will=(Topics(lane).sync_status, SyncHealth().message(online=False)))
    stop = sdnotify.stop_on_signals()
    syncer = Syncer(cfg, lane, config.journal_path, token)
    service = SyncService(syncer, bus, lane, cfg.status_interval_s)
    # the store's catalog comes down the same link, in its own thread: a slow catalog never
    # holds up the journal's shipping, nor the other way round
    puller = (CatalogPuller(config, cfg.url, token, cfg.ca_file, cfg.timeout_s)
              if cfg.pull_catalog else None)
    print(f"sync: lane {lane} to {cfg.url}", file=sys.stderr, flush=True)
    sdnotify.ready(f"shipping lane {lane} to {cfg.url}")
    pulling = None
    if puller is not None:
        pulling = threading.Thread(target=puller.run, args=(stop, cfg.catalog_interval_s),
                                   name="catalog-pull", daemon=True)
        pulling.start()
    watchdog = sdnotify.Watchdog()
    try:
        return service.run(stop, on_tick=watchdog.tick)
    finally:
        if pulling is not None and puller is not None:
            pulling.join(cfg.timeout_s)
            puller.close()
