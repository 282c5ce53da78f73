"""The shipped alerting rules on the real Prometheus server scraping real lanes.

Two lanes on the test broker, each with a real kiosk-core and its kiosk-metrics exporter;
the server (Debian ``prometheus``) scrapes both every :data:`SCRAPE_S` and evaluates
config/prometheus/kiosk-rules.yml every :data:`EVALUATE_S`. For each rule a real fault is
injected: the printer reports paper out; the lane's back office (the real one, ``kiosk
backoffice serve`` on PostgreSQL, behind a TCP proxy) goes away while the lane sells, so
kiosk-sync's journal events wait unacknowledged: a real sync lag, measured by a kiosk-sync
whose clock runs 20 minutes ahead (faketime: the events are then 20 minutes old without the
test waiting 15), cleared when the back office is back and takes them; the state dir's
file system (a tmpfs of its own) fills past 90 %;
kiosk-core stops; the exporter itself dies; and, on the second lane, a payment whose host
does not answer leaves a reversal owed, seen by an exporter whose clock runs 6 minutes ahead
(faketime: the reversal is then 6 minutes old without the test waiting 5). Each alert must
fire (its first ``ALERTS`` sample, an evaluation time of the server) within one scrape
interval plus one rule evaluation (plus the time a scrape of that lane takes, when its sample
lands) of the moment the fault became real on the lane, on the lane that has it only, then
clear once the fault is gone.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, parse_sync_status
from tests.backoffice.sync.conftest import RealBackOffice, SyncProcess, journal_rows
from tests.backoffice.sync.proxy import CutProxy
from tests.backoffice.sync.tls import make_tls
from tests.conftest import _lanes
from tests.fixtures.sample_items import MILK  # 1.89: ends in 93, the host times out on it
from tests.harness import SAMPLE_CSV, CoreProcess, Shopper, bus_login, kiosk_cli, kiosk_env
from tests.metrics.prom import EVALUATE_S, SCRAPE_S, Exporter, Prometheus

TMPFS_MB = 32
#: one scrape interval and one rule evaluation: the most a fault may take to fire its alert
WITHIN_S = SCRAPE_S + EVALUATE_S


@pytest.fixture
def tmpfs_state(tmp_path: Path):
    """The lane's state dir on a small tmpfs of its own, so the test can fill its disk."""
    state = tmp_path / "kiosk-state"
    state.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0700",
                           "tmpfs", str(state)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield state
    subprocess.run(["umount", "-l", str(state)], check=False)


def libfaketime() -> str:
    """libfaketime's preload library (the exporter runs with it, no wrapper process)."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not found:
        pytest.skip("faketime is not installed (./setup.sh installs it)")
    return found[0]


def _lane(tmp_path: Path, broker_port: int, name: str, **overrides: str) -> dict[str, str]:
    env = kiosk_env(tmp_path / name, broker_port, f"T{os.getpid()}x{next(_lanes)}", **overrides)
    done = kiosk_cli(env, "catalog", "import", str(SAMPLE_CSV))
    assert done.returncode == 0, done.stderr
    return env


class SyncLagWatch:
    """When kiosk-sync first says, on its retained status, that it lags over 15 minutes (the
    moment the lag fault is real on the lane; the exporter hears the same message)."""

    def __init__(self, port: int, lane: str) -> None:
        self.over: float | None = None
        self.client = BusClient(bus_login(port, "kiosk-metrics"), f"test-lag-{lane}")
        self.client.subscribe(Topics(lane).sync_status, self._on_status)
        assert self.client.start(wait_s=10)

    def _on_status(self, _topic: str, payload: bytes) -> None:
        lag = parse_sync_status(payload).get("lag_s")
        if self.over is None and lag is not None and lag > 900:
            self.over = time.time()


def test_each_rule_fires_within_a_scrape_of_its_fault_and_clears(tmpfs_state, lane_env,
                                                                   broker_port, tmp_path,
                                                                   backoffice_url):
    lane_a = lane_env["KIOSK__STORE__LANE_ID"]
    assert Path(lane_env["KIOSK__PATHS__STATE_DIR"]) == tmpfs_state
    # lane A's back office, behind a proxy (the back office restarts on another port)
    (tmp_path / "backoffice").mkdir()
    tls = make_tls(tmp_path / "tls")
    token = tmp_path / "sync-token"
    office = RealBackOffice(tmp_path / "backoffice", tls, backoffice_url, lane_a, token).start()
    proxy = CutProxy(lambda: office.port)
    sync = SyncProcess(dict(
        lane_env, KIOSK__SYNC__URL=f"https://127.0.0.1:{proxy.port}",
        KIOSK__SYNC__TOKEN_FILE=str(token), KIOSK__SYNC__CA_FILE=str(tls.ca),
        KIOSK__SYNC__INTERVAL_S="0.1", KIOSK__SYNC__BACKOFF_MIN_S="0.05",
        KIOSK__SYNC__BACKOFF_MAX_S="0.5", KIOSK__SYNC__STATUS_INTERVAL_S="0.5",
        KIOSK__SYNC__PULL_CATALOG="false", LD_PRELOAD=libfaketime(), FAKETIME="+20m",
        FAKETIME_DONT_FAKE_MONOTONIC="1"), tmp_path).start()
    lag = SyncLagWatch(broker_port, lane_a)
    env_b = _lane(tmp_path, broker_port, "lane-b",
                  KIOSK__SIM__PAYMENT__UNAVAILABLE_SUFFIXES='["93"]')
    cores = [CoreProcess(lane_env, tmp_path / "core-a.log").start(),
             CoreProcess(env_b, tmp_path / "core-b.log").start()]
    shop_a = Shopper(broker_port, lane_a)
    shop_b = Shopper(broker_port, env_b["KIOSK__STORE__LANE_ID"])
    exp_a = Exporter(lane_env, tmp_path / "metrics-a.log").start()
    exp_b = Exporter(dict(env_b, LD_PRELOAD=libfaketime(), FAKETIME="+6m",
                          FAKETIME_DONT_FAKE_MONOTONIC="1"), tmp_path / "metrics-b.log").start()
    prom = Prometheus(tmp_path, [exp_a.target, exp_b.target])
    a, b = {"instance": exp_a.target}, {"instance": exp_b.target}
    measured: dict[str, float] = {}
    start = time.time()

    def scrape_took(where: dict[str, str]) -> float:
        """The longest a scrape of that lane took lately: a sample lands when it is done."""
        sel = f'scrape_duration_seconds{{instance="{where["instance"]}"}}'
        got = prom.query(f"max_over_time({sel}[1m])")
        return float(got[0]["value"][1]) if got else 0.0

    def fires_and_clears(alert: str, where: dict[str, str], inject: Callable[[], object],
                         repair: Callable[[], object],
                         also: dict[str, str] | None = None) -> None:
        labels = {**where, **(also or {})}
        assert prom.fired_at(alert, labels) is None, f"{alert} fired before its fault"
        t0 = time.time()
        became = inject()  # when the fault became real, where it takes the lane a while
        t0 = became if isinstance(became, float) else t0
        print(f"{time.time() - start:6.1f} s: {alert} injected")
        fired = prom.wait(f"fired {alert}", lambda: prom.fired_at(alert, labels))
        measured[alert] = fired - t0
        assert fired - t0 <= WITHIN_S + scrape_took(where), \
            f"{alert} fired {fired - t0:.2f} s after its fault"
        other = b if where is a else a
        assert prom.fired_at(alert, {**other, **(also or {})}) is None, "the other lane too"
        repair()
        prom.wait(f"cleared {alert}", lambda: not prom.active(alert, labels))
        print(f"{time.time() - start:6.1f} s: {alert} cleared")

    try:
        shop_a.wait_online()
        shop_b.wait_online()
        prom.wait("scraped both lanes", lambda: sorted(
            r["metric"]["instance"] for r in prom.query("kiosk_core_online == 1")) == sorted(
            [exp_a.target, exp_b.target]))
        # lane A's kiosk-sync has reached its back office: no lag
        prom.wait("lane A in sync", lambda: prom.query(
            f'kiosk_sync_lag_seconds{{instance="{exp_a.target}"}} == 0'))
        # nothing fires on two healthy lanes
        assert prom.api("alerts")["alerts"] == []

        def paper_out() -> float:
            shop_a.send("device", device="printer", ok=False, detail="paper_out")
            return shop_a.wait_state(lambda s: "printer" in s["faults"])["server_time"]

        fires_and_clears("KioskPrinterPaperOut", a, paper_out,
                         lambda: shop_a.send("device", device="printer", ok=True))

        def office_gone_while_selling() -> float:
            office.kill9()  # the back office host goes away (a clean stop waits for
            # the lane's open connection to end)
            assert shop_a.send("scan", code=MILK)["ok"]  # journaled; the back office is away
            prom.wait("kiosk-sync said it lags", lambda: lag.over)
            assert lag.over is not None
            return lag.over

        fires_and_clears("KioskSyncLag", a, office_gone_while_selling, office.start)
        # the back office holds the whole journal again, the sale made while it was away too
        assert office.acked(lane_a) == journal_rows(tmpfs_state)[-1][0]

        filler = tmpfs_state / "filler"

        def fill() -> None:
            free = os.statvfs(tmpfs_state)
            keep = free.f_blocks * free.f_frsize // 20  # leave 5 % free
            with filler.open("wb") as out:
                out.truncate(0)
                out.write(b"\0" * max(0, free.f_bavail * free.f_frsize - keep))

        fires_and_clears("KioskDiskNearlyFull", a, fill, filler.unlink,
                         also={"path": str(tmpfs_state)})

        def pay_host_down() -> float:
            assert shop_b.send("scan", code=MILK)["ok"]
            assert shop_b.send("checkout")["ok"]
            assert shop_b.send("pay", method="card")["ok"]
            st = shop_b.wait_state(lambda s: s["reversal_owed"])
            assert st["totals"]["total"] == 193
            return st["server_time"]  # kiosk-core published the reversal owed (its clock)

        fires_and_clears(  # the sim host answers again after a few seconds: the reversal goes
            "KioskReversalOwed", b, pay_host_down,
            lambda: shop_b.wait_state(lambda s: not s["reversal_owed"], timeout=60))

        def core_stops() -> float:
            cores[0].stop()
            shop_a.wait_online(False)  # the core's offline status, as the lane's clients
            return time.time()  # heard it (kiosk-metrics with them; it carries no time)

        fires_and_clears("KioskLaneDown", a, core_stops,
                         lambda: cores.append(CoreProcess(lane_env,
                                                          tmp_path / "core-a2.log").start()))
        # the whole lane gone (the exporter does not answer the scrape): up == 0
        port_b = exp_b.port
        prom.wait("lane B up again", lambda: not prom.active("KioskLaneDown", b))
        t0 = time.time()
        exp_b.stop()
        prom.wait("lane B down", lambda: prom.active("KioskLaneDown", b))
        fired = prom.fired_at("KioskLaneDown", b)
        assert fired is not None and fired - t0 <= WITHIN_S
        measured["KioskLaneDown (no scrape)"] = fired - t0
        exp_b.start(port_b)
        prom.wait("lane B back", lambda: not prom.active("KioskLaneDown", b))
    finally:
        prom.stop()
        for exporter in (exp_a, exp_b):
            exporter.stop()
        sync.stop()
        lag.client.stop()
        proxy.close()
        office.kill9()
        shop_a.close()
        shop_b.close()
        for core in cores:
            core.stop()
    (tmp_path / "fired.json").write_text(json.dumps(measured))
    print("alert latency after the fault (s):", json.dumps(measured, indent=1))
