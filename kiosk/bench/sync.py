"""``kiosk bench sync``: N simulated lanes shipping their journals to a real back office
(``kiosk backoffice serve`` on a private PostgreSQL 15 cluster, durable settings) at once.

Each lane has a real journal (kiosk.journal.store.Journal: hash-chained rows of typical
``item_added`` events) and a thread that ships it the way kiosk-sync does: the rows after
the server's acked seq, in batches, oldest first, over its own HTTP connection with its own
token. Per N (default 1, 10, 100), ``--runs`` times (default 3; the run with the median rate is
reported, and every run's rate):

* **catch-up**: every lane starts with a backlog (``--sync-events`` in all, split among the
  lanes) and ships it as fast as the server takes it: events/s ingested (chain checked,
  committed) and the batch latency (median, p95).
* **baseline**: the same rows COPYed by one connection straight into a plain table shaped
  like ``events`` (no API, no chain check): what PostgreSQL alone takes here; the ratio
  says what the ingest costs on top.
* **sustained**: for ``--sync-seconds`` each lane sells ``--sync-rate`` events/s (appended to
  its journal) and ships every ``--sync-interval`` s: the sync lag (append → acknowledged),
  median and p95.

The last line is JSON: ``events_per_s``, ``batch_ms_p95``, ``lanes`` are the figures at the
largest N; ``runs`` holds every N. The row count and a checksum of the table are compared
with the journals at the end of each N (zero lost, zero duplicated).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from kiosk.backoffice.auth import add_lane
from kiosk.backoffice.cluster import Cluster
from kiosk.backoffice.db import migrate
from kiosk.bench.core import EVENT
from kiosk.bench.stats import percentile, summary_ms
from kiosk.journal.store import Journal

#: server settings of the bench's cluster: durable (fsync, synchronous_commit on) as in production
DURABLE = {"shared_buffers": "256MB", "max_connections": "100", "wal_buffers": "16MB",
           "checkpoint_timeout": "15min", "max_wal_size": "2GB"}


#: how often a sustained lane appends the events it owes
TICK_S = 0.1


@dataclass
class Lane:
    name: str
    token: str
    path: Path  # its journal (each thread opens its own: SQLite connections stay in theirs)
    acked: int = 0
    batches: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    error: str = ""


def _sell(journal: Journal, count: int, chunk: int = 200) -> None:
    """Append ``count`` item_added events (chunks of one transaction each), stamped now."""
    while count > 0:
        n = min(chunk, count)
        journal.append([dict(EVENT, ts=time.time()) for _ in range(n)], txn="S001-L01-000001")
        count -= n


def _rows(journal: Journal, after: int, limit: int) -> list[dict[str, Any]]:
    cur = journal.db.execute("SELECT seq, ts, type, txn, data, hash FROM events WHERE seq > ?"
                             " ORDER BY seq LIMIT ?", (after, limit))
    return [{"seq": s, "ts": ts, "type": k, "txn": t, "data": json.loads(d), "hash": h}
            for s, ts, k, t, d, h in cur]


def _bodies(journal: Journal, batch: int) -> list[tuple[bytes, list[float]]]:
    """The backlog's batches, encoded before the clock starts (a lane reads and encodes on
    its own CPU; the bench machine's cores are left to the server): (body, ts of each row)."""
    rows = _rows(journal, 0, 10**9)
    return [(json.dumps({"events": rows[i:i + batch]}).encode(),
             [row["ts"] for row in rows[i:i + batch]]) for i in range(0, len(rows), batch)]


def _post(lane: Lane, http: httpx.Client, body: bytes, stamps: list[float]) -> None:
    t0 = time.perf_counter()
    answer = http.post(f"/v1/lanes/{lane.name}/events", content=body,
                       headers={"Authorization": f"Bearer {lane.token}",
                                "Content-Type": "application/json"})
    lane.batches.append(time.perf_counter() - t0)
    if answer.status_code != 200:
        raise RuntimeError(f"{lane.name}: {answer.status_code} {answer.text[:200]}")
    lane.acked = answer.json()["acked_seq"]
    now = time.time()
    lane.lags += [now - ts for ts in stamps]


def _ship(lane: Lane, journal: Journal, http: httpx.Client, batch: int) -> None:
    """Ship the lane's rows up to the journal's last, timing each batch."""
    while lane.acked < journal.last_seq:
        rows = _rows(journal, lane.acked, batch)
        _post(lane, http, json.dumps({"events": rows}).encode(), [row["ts"] for row in rows])


def _threads(lanes: list[Lane], work) -> None:
    def run(lane: Lane) -> None:
        try:
            work(lane)
        except Exception as exc:  # reported after the run; the other lanes go on
            lane.error = str(exc)

    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [lane.error for lane in lanes if lane.error]
    if failed:
        raise RuntimeError(f"{len(failed)} lane(s) failed: {failed[0]}")


def _checksum_journals(lanes: list[Lane]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for lane in sorted(lanes, key=lambda x: x.name):
        journal = Journal(lane.path)
        for seq, h in journal.db.execute("SELECT seq, hash FROM events ORDER BY seq"):
            digest.update(f"{lane.name}|{seq}|{h}\n".encode())
            count += 1
        journal.close()
    return count, digest.hexdigest()


def _bytes_per_event(url: str) -> float:
    """The events table's size on disk (heap, TOAST, indexes) per row."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")
        size, rows = conn.execute(
            "SELECT sum(pg_total_relation_size(inhrelid)), (SELECT count(*) FROM events)"
            " FROM pg_inherits WHERE inhparent = 'events'::regclass").fetchone()
    return float(size) / max(1, rows)


def _checksum_table(url: str) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    with psycopg.connect(url) as conn:
        for name, seq, h in conn.execute("SELECT l.name, e.seq, e.hash FROM events e JOIN lanes"
                                         " l ON l.id = e.lane_id ORDER BY l.name, e.seq"):
            digest.update(f"{name}|{seq}|{h}\n".encode())
            count += 1
    return count, digest.hexdigest()


def _raw_copy(url: str, lanes: list[Lane]) -> float:
    """The baseline: the same rows COPYed by one connection into a plain table shaped like
    ``events`` (no API, no JSON, no chain check, no partitions): what PostgreSQL alone takes
    on this machine, events/s."""
    rows = []
    for lane_id, lane in enumerate(lanes, 1):
        journal = Journal(lane.path)
        rows += [(1, lane_id, *row) for row in journal.db.execute(
            "SELECT seq, ts, type, txn, data, hash FROM events ORDER BY seq")]
        journal.close()
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw_events (LIKE events INCLUDING DEFAULTS)")
        conn.execute("ALTER TABLE raw_events ADD PRIMARY KEY (lane_id, seq, day)")
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY raw_events (store_id, lane_id, seq, ts, type, txn, data,"
                                " hash, day) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, time.strftime("%Y-%m-%d", time.gmtime(row[3]))))
        conn.commit()
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE raw_events")
    return len(rows) / elapsed


def _run(cluster: Cluster, work: Path, n: int, total: int, batch: int, seconds: float,
         rate: float, interval: float, tls: bool, attempt: int = 0) -> dict[str, Any]:
    db = f"bench_{n}_{attempt}"
    url = cluster.create_database(db)
    migrate(url)
    lanes = []
    with psycopg.connect(url) as conn:
        for i in range(n):
            name = f"S{i // 10 + 1:03d}-L{i % 10 + 1:02d}"
            token_file = work / db / f"{name}.token"
            add_lane(conn, f"S{i // 10 + 1:03d}", name, token_file)
            lanes.append(Lane(name, token_file.read_text().strip(),
                              work / db / f"{name}.sqlite"))
    per_lane = max(1, total // n)
    for lane in lanes:
        journal = Journal(lane.path)
        journal.db.execute("PRAGMA synchronous=NORMAL")  # the backlog is built fast
        _sell(journal, per_lane)
        journal.close()
    argv = [sys.executable, "-m", "kiosk.cli", "backoffice", "--db", url, "serve", "--port",
            "0", "--pool", str(min(n, 20) + 2)]
    verify: Any = True
    if tls:
        from kiosk.sim.qrpay_keys import make_demo_keys

        keys = make_demo_keys(work / "tls")
        argv += ["--cert", str(keys.server_pem), "--key", str(keys.server_key)]
        import ssl

        verify = ssl.create_default_context(cafile=str(keys.ca_pem))
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().split()[-1]
        clients = {lane.name: httpx.Client(base_url=base, verify=verify, timeout=120)
                   for lane in lanes}
        clients[lanes[0].name].get(f"/v1/lanes/{lanes[0].name}/acked",
                                   headers={"Authorization": f"Bearer {lanes[0].token}"})
        bodies = {}
        for lane in lanes:
            journal = Journal(lane.path)
            bodies[lane.name] = _bodies(journal, batch)
            journal.close()

        def catch_up(lane: Lane) -> None:
            for body, stamps in bodies[lane.name]:
                _post(lane, clients[lane.name], body, stamps)

        t0 = time.perf_counter()
        _threads(lanes, catch_up)
        elapsed = time.perf_counter() - t0
        shipped = sum(lane.acked for lane in lanes)
        samples = [s for lane in lanes for s in lane.batches]
        batch_median, batch_p95 = summary_ms(samples)

        for lane in lanes:
            lane.lags.clear()
        stop = time.monotonic() + seconds

        def sustain(lane: Lane) -> None:
            """Sell at ``rate`` (appends every TICK_S) and ship every ``interval`` s, like
            kiosk-sync's timer: the lag includes the wait for the next round."""
            journal = Journal(lane.path)
            owed, last, shipped = 0.0, time.monotonic(), time.monotonic()
            while time.monotonic() < stop:
                time.sleep(TICK_S)
                now = time.monotonic()
                owed += rate * (now - last)
                last = now
                if int(owed):
                    _sell(journal, int(owed))
                    owed -= int(owed)
                if now - shipped >= interval:
                    shipped = now
                    _ship(lane, journal, clients[lane.name], batch)
            _ship(lane, journal, clients[lane.name], batch)
            journal.close()

        _threads(lanes, sustain)
        lags = [lag for lane in lanes for lag in lane.lags]
        lag_median, lag_p95 = summary_ms(lags) if lags else (0.0, 0.0)
        for client in clients.values():
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    held, journals = _checksum_table(url), _checksum_journals(lanes)
    if held != journals:
        raise RuntimeError(f"{n} lanes: the table holds {held[0]} rows, the journals"
                           f" {journals[0]} (or their checksums differ)")
    raw_per_s = _raw_copy(url, lanes)
    return {"lanes": n, "events": shipped, "batch": batch, "seconds": round(elapsed, 2),
            "raw_copy_per_s": round(raw_per_s), "ratio_to_raw": round(shipped / elapsed
                                                                       / raw_per_s, 3),
            "events_per_s": round(shipped / elapsed), "batch_ms_median": round(batch_median, 1),
            "batch_ms_p95": round(batch_p95, 1), "batches": len(samples),
            "sustained_rate_per_lane": rate, "sustained_s": seconds,
            "sustained_events": len(lags), "lag_ms_median": round(lag_median, 1),
            "lag_ms_p95": round(lag_p95, 1),
            "lag_ms_max": round(percentile(lags, 100) * 1000, 1) if lags else 0.0,
            "rows_match_journals": True, "bytes_per_event": round(_bytes_per_event(url))}


def bench_sync(lane_counts: list[int], total: int = 50000, batch: int = 500,
               seconds: float = 5.0, rate: float = 2.0, interval: float = 1.0,
               tls: bool = False, repeat: int = 3) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-sync-"))
    cluster = Cluster(tempfile.mkdtemp(prefix="kiosk-bench-pg-"))  # postgres-owned when root
    runs = []
    try:
        cluster.start(settings=DURABLE)
        for n in lane_counts:
            tries = []
            for attempt in range(max(1, repeat)):
                tries.append(_run(cluster, work, n, total, batch, seconds, rate, interval,
                                  tls, attempt))
            # the run with the median ingest rate stands for N; every run is in the JSON
            result = sorted(tries, key=lambda r: r["events_per_s"])[len(tries) // 2]
            result = dict(result, tries=[t["events_per_s"] for t in tries])
            runs.append(result)
            print(f"{n:>4} lanes: {result['events']} events in {result['seconds']} s ="
                  f" {result['events_per_s']} events/s ingested (chain checked, committed;"
                  f" median of {len(tries)} runs: {result['tries']}); baseline, the same rows"
                  f" COPYed straight into PostgreSQL: {result['raw_copy_per_s']} events/s,"
                  f" ratio {result['ratio_to_raw']};"
                  f" batch of {batch}: median {result['batch_ms_median']} ms,"
                  f" p95 {result['batch_ms_p95']} ms; sustained {rate} events/s/lane for"
                  f" {seconds} s: sync lag median {result['lag_ms_median']} ms,"
                  f" p95 {result['lag_ms_p95']} ms; table = journals", flush=True)
    finally:
        cluster.remove()
        shutil.rmtree(work, ignore_errors=True)
    top = runs[-1]
    print(json.dumps({"bench": "sync", "events_per_s": top["events_per_s"],
                      "batch_ms_p95": top["batch_ms_p95"], "lanes": top["lanes"],
                      "lag_ms_p95": top["lag_ms_p95"], "tls": tls, "cpus": os.cpu_count(),
                      "runs": runs}))
    return 0


