"""``kiosk bench core``: journal append latency and scan → state latency on the bus.

Journal: ``events`` appends of a typical item_added event with synchronous=FULL,
against a baseline of a raw write()+fsync() of the same bytes on the same disk.
Bus: a real mosquitto and a real kiosk-core process; a client publishes a scan
command and times the arrival of the resulting state message, against a
baseline MQTT round trip (publish → broker → same client) with no core in it.
Each figure is the median over ``runs`` runs of that run's median / p95.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kiosk.bench.stats import rss_mb, summary_ms
from kiosk.bus.broker import credentials_dir, private_login, start_private_broker_on_free_port
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, command
from kiosk.catalog import SAMPLE_CATALOG
from kiosk.journal.store import Journal

SCAN_CODES = [
    "8801115954255", "8801104550345", "6907992910659", "6923644491215", "070666928444",
    "8801043444279", "6920152086049", "8801045015231", "8801052240329", "8801052809977",
    "8801114070130", "8801114430675", "8801019538254", "6924743475328", "8801094804527",
    "8801094243708", "40045467",
]
EVENT = {"type": "item_added", "line": {
    "key": "08801043444279", "gtin": "08801043444279", "plu": None,
    "names": {"en": "Shin Ramyun 5-pack", "zh": "辛拉面 5连包", "ko": "신라면 5입"},
    "unit_price_minor": 499, "tax_class": "reduced", "age_restricted": False,
    "sold_by_weight": False}}


def _journal_run(workdir: Path, events: int) -> tuple[list[float], list[float]]:
    journal = Journal(workdir / "bench-journal.sqlite")
    appends = []
    for _ in range(events):
        t0 = time.perf_counter()
        journal.append([dict(EVENT, ts=time.time())], txn="S001-L01-000001")
        appends.append(time.perf_counter() - t0)
    journal.close()
    payload = json.dumps(EVENT).encode()
    fsyncs = []
    fd = os.open(workdir / "bench-raw.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for _ in range(events):
        t0 = time.perf_counter()
        os.write(fd, payload)
        os.fsync(fd)
        fsyncs.append(time.perf_counter() - t0)
    os.close(fd)
    return appends, fsyncs


class _Waiter:
    """Collects state messages and echo messages; lets the bench wait for the next one."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.state_seq = 0
        self.echo = 0
        self.online = False

    def on_state(self, _topic: str, payload: bytes) -> None:
        seq = json.loads(payload)["seq"]
        with self.cond:
            self.state_seq = max(self.state_seq, seq)
            self.cond.notify_all()

    def on_status(self, _topic: str, payload: bytes) -> None:
        with self.cond:
            self.online = json.loads(payload)["online"]
            self.cond.notify_all()

    def on_echo(self, _topic: str, payload: bytes) -> None:
        with self.cond:
            self.echo = int(payload)
            self.cond.notify_all()

    def wait_online(self, timeout: float = 20) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.online, timeout):
                raise TimeoutError("kiosk-core did not come online")

    def wait(self, attr: str, above: int, timeout: float = 10) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: getattr(self, attr) > above, timeout):
                raise TimeoutError(f"no {attr} message within {timeout} s")


def _bus_run(client: BusClient, waiter: _Waiter, topics: Topics, echo_topic: str,
             events: int) -> tuple[list[float], list[float]]:
    scans, echoes = [], []
    in_basket = 0
    for i in range(events):
        if in_basket >= len(SCAN_CODES):
            seq = waiter.state_seq
            client.publish(topics.command_from("cli"), command("cancel", source="bench"))
            waiter.wait("state_seq", seq)
            in_basket = 0
        seq = waiter.state_seq
        msg = command("scan", source="bench", code=SCAN_CODES[in_basket])
        t0 = time.perf_counter()
        client.publish(topics.command_from("cli"), msg)
        waiter.wait("state_seq", seq)
        scans.append(time.perf_counter() - t0)
        in_basket += 1
        t0 = time.perf_counter()
        client.publish(echo_topic, str(i + 1).encode())
        waiter.wait("echo", i)
        echoes.append(time.perf_counter() - t0)
    waiter.echo = 0
    return scans, echoes


def bench_core(events: int = 600, runs: int = 3) -> int:
    results: dict[str, list[float]] = {k: [] for k in (
        "append_med", "append_p95", "fsync_med", "fsync_p95",
        "scan_med", "scan_p95", "echo_med", "echo_p95")}
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        work = Path(tmp)
        for run in range(runs):
            run_dir = work / f"journal-{run}"
            run_dir.mkdir()
            appends, fsyncs = _journal_run(run_dir, events)
            for key, samples in (("append", appends), ("fsync", fsyncs)):
                med, p95 = summary_ms(samples)
                results[f"{key}_med"].append(med)
                results[f"{key}_p95"].append(p95)

        port, broker = start_private_broker_on_free_port(work / "broker")
        state = work / "state"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
        env.update(KIOSK_CONFIG_DIR=str(work / "etc"), KIOSK__PATHS__STATE_DIR=str(state),
                   KIOSK__BUS__PORT=str(port), KIOSK__STORE__LANE_ID="BENCH",
                   KIOSK__BUS__CREDENTIALS_DIR=str(credentials_dir(work / "broker")))
        subprocess.run([sys.executable, "-m", "kiosk.cli", "catalog", "import",
                        str(SAMPLE_CATALOG)],
                       env=env, check=True, capture_output=True)
        core = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "core"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = BusClient(private_login(work / "broker", port, "kiosk-cli"), "kiosk-bench")
        waiter = _Waiter()
        topics = Topics("BENCH")
        echo_topic = topics.bench.replace("#", "echo")
        client.subscribe(topics.state, waiter.on_state)
        client.subscribe(echo_topic, waiter.on_echo)
        client.subscribe(topics.core_status, waiter.on_status)
        try:
            client.start(wait_s=10)
            waiter.wait_online()
            for _ in range(runs):
                scans, echoes = _bus_run(client, waiter, topics, echo_topic, events)
                for key, samples in (("scan", scans), ("echo", echoes)):
                    med, p95 = summary_ms(samples)
                    results[f"{key}_med"].append(med)
                    results[f"{key}_p95"].append(p95)
            core_rss, broker_rss = rss_mb(core.pid), rss_mb(broker.pid)
        finally:
            client.stop()
            core.terminate()
            core.wait(10)
            broker.terminate()
            broker.wait(10)

    fig = {k: statistics.median(v) for k, v in results.items()}
    print(f"kiosk bench core: {events} events per run, {runs} runs, median of runs")
    print(f"  journal append (WAL, synchronous=FULL): median {fig['append_med']:.3f} ms,"
          f" p95 {fig['append_p95']:.3f} ms")
    print(f"  baseline write+fsync of the same bytes: median {fig['fsync_med']:.3f} ms,"
          f" p95 {fig['fsync_p95']:.3f} ms  (append/fsync ratio"
          f" {fig['append_med'] / fig['fsync_med']:.2f})")
    print(f"  scan command → state published:          median {fig['scan_med']:.3f} ms,"
          f" p95 {fig['scan_p95']:.3f} ms")
    print(f"  baseline MQTT round trip (no core):      median {fig['echo_med']:.3f} ms,"
          f" p95 {fig['echo_p95']:.3f} ms  (scan/round-trip ratio"
          f" {fig['scan_med'] / fig['echo_med']:.2f})")
    print(f"  RSS: kiosk-core {core_rss:.1f} MB, mosquitto {broker_rss:.1f} MB")
    print("  targets: append p95 <= 5 ms, scan->state p95 <= 20 ms")
    print(json.dumps({
        "append_ms_median": round(fig["append_med"], 3),
        "append_ms_p95": round(fig["append_p95"], 3),
        "scan_to_state_ms_median": round(fig["scan_med"], 3),
        "scan_to_state_ms_p95": round(fig["scan_p95"], 3),
        "fsync_baseline_ms_median": round(fig["fsync_med"], 3),
        "mqtt_round_trip_ms_median": round(fig["echo_med"], 3),
        "core_rss_mb": round(core_rss, 1),
        "broker_rss_mb": round(broker_rss, 1),
        "events_per_run": events,
        "runs": runs,
    }))
    return 0
