"""kiosk-metrics on a real lane: what /metrics says after real sales, under its unit's rules.

A real kiosk-core sells (one decline, then an approved sale); the exporter runs under
systemd/kiosk-metrics.service's seccomp and write-execute rules (tests/systemd/sandbox.py),
says READY=1, and its /metrics, read with prometheus-client's own parser, carries each figure
the issue lists with the lane's real values: the journal's counts and size, the device
status, the version, the disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from kiosk.ops.version import package_version
from tests.conftest import _lanes
from tests.fixtures.sample_items import MILK  # 1.89: declined (ends in 93), then 3.87 approved
from tests.harness import REPO, SAMPLE_CSV, CoreProcess, kiosk_cli, kiosk_env, start_broker
from tests.integration.flow import to_receipt
from tests.metrics.prom import Exporter
from tests.systemd.notify_listener import NotifyListener
from tests.systemd.sandbox import ran_under, sandbox_env


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_real_lane_as_metrics_under_the_units_rules(lane_env, shopper, start_core, tmp_path):
    start_core(KIOSK__SIM__PAYMENT__DECLINE_SUFFIXES='["93"]')
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.send("checkout")
    shopper.send("pay", method="card")
    shopper.wait_state(lambda s: s["state"] == "declined")
    assert shopper.send("back")["ok"]
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.send("checkout")
    shopper.send("pay", method="card")
    to_receipt(shopper)
    assert shopper.send("device", device="door", ok=False, detail="open")["ok"]
    shopper.wait_state(lambda s: "door" in s["faults"])

    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    with NotifyListener() as notify:
        env = dict(sandbox_env(lane_env, "kiosk-metrics.service", tmp_path / "rules"),
                   NOTIFY_SOCKET=notify.address)
        exporter = Exporter(env, tmp_path / "metrics.log").start()
        try:
            notify.wait_for("READY=1", timeout=60)
            # the retained state reaches the exporter after READY=1; its heartbeat is the
            # core's own stamp of its latest state (as the shopper's screen got it), not
            # when that retained state reached the exporter
            got = wait_scrape(exporter.port, lambda got: got[("kiosk_core_online", ())] == 1
                              and got[("kiosk_core_heartbeat_timestamp_seconds", ())]
                              == shopper.state["server_time"])
        finally:
            exporter.proc.send_signal(signal.SIGTERM)
            exporter.proc.wait(30)
    assert ran_under((tmp_path / "metrics.log").read_text(), "kiosk-metrics.service")

    # its store: config/defaults.toml's store.store_id (the fleet page's lane-to-store label)
    assert got[("kiosk_lane_info", (("lane", lane), ("store", "S001"),
                                    ("version", package_version())))] == 1
    assert got[("kiosk_core_online", ())] == 1
    assert got[("kiosk_bus_connected", ())] == 1
    assert got[("kiosk_items_added_total", ())] == 1  # the second milk raised the line's qty
    assert got[("kiosk_baskets_total", ())] == 1
    assert got[("kiosk_declines_total", ())] == 1
    journal = state / "journal.sqlite"
    assert got[("kiosk_journal_bytes", ())] == sum(
        p.stat().st_size for p in (journal, Path(f"{journal}-wal")) if p.exists())
    assert {labels: v for (name, labels), v in got.items() if name == "kiosk_device_ok"} == {
        (("device", "printer"),): 1, (("device", "scanner"),): 1, (("device", "door"),): 0}
    assert got[("kiosk_printer_paper_out", ())] == 0
    assert got[("kiosk_reversal_pending", ())] == 0
    assert got[("kiosk_reversal_pending_age_seconds", ())] == 0
    size = shutil.disk_usage(state).total
    assert got[("kiosk_disk_size_bytes", (("path", str(state)),))] == size
    assert 0 < got[("kiosk_disk_free_bytes", (("path", str(state)),))] <= size
    # no kiosk-sync on this lane: no lag is reported rather than a made-up zero
    assert not any(name.startswith("kiosk_sync_") for name, _ in got)


def wait_scrape(port: int, until, timeout: float = 30) -> dict[tuple[str, tuple], float]:
    """Scrape until ``until(metrics)`` holds (as Prometheus would, every so often)."""
    deadline = time.monotonic() + timeout
    while True:
        got = scrape(port)
        if until(got):
            return got
        assert time.monotonic() < deadline, f"never: {got}"
        time.sleep(0.1)


def test_the_broker_gone_reads_as_lane_down_and_a_bad_address_is_refused(tmp_path):
    """The lane's broker dies under a running core: the exporter still answers, saying the
    core is not online (the lane cannot sell; the lane-down rule fires on it), never the
    last status it saw; an address that is not HOST:PORT is a clear error."""
    port, broker = start_broker(tmp_path / "broker")
    env = kiosk_env(tmp_path / "state", port, f"T{os.getpid()}x{next(_lanes)}")
    assert kiosk_cli(env, "catalog", "import", str(SAMPLE_CSV)).returncode == 0
    core = CoreProcess(env, tmp_path / "core.log").start()
    exporter = Exporter(env, tmp_path / "metrics.log").start()
    try:
        wait_scrape(exporter.port, lambda got: got[("kiosk_core_online", ())] == 1)
        broker.kill()  # SIGKILL: gone without a word (a clean stop delivers the core's will)
        broker.wait(10)
        got = wait_scrape(exporter.port, lambda got: got[("kiosk_bus_connected", ())] == 0)
        assert got[("kiosk_core_online", ())] == 0
    finally:
        exporter.stop()
        core.stop()
        if broker.poll() is None:
            broker.terminate()
    bad = subprocess.run([sys.executable, "-m", "kiosk.cli", "metrics", "--listen", "9464"],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not HOST:PORT: '9464'" in bad.stderr
