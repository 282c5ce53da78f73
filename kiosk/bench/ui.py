"""``kiosk bench ui``: shopper UI start-up time, idle CPU and memory, under Xvfb.

A private mosquitto, a real kiosk-core (sample catalog) and an Xvfb display;
then:

* first frame: five cold starts of ``kiosk ui`` (a new process each time);
  from just before the process is spawned to the UI's first ``on_flip``
  (reported by the UI through ``KIOSK_UI_BENCH_FILE``). Also the first frame
  that shows the core's retained state. One warm-up start comes first: it
  extracts the regional font faces into the font cache, which happens once per
  device, and is reported on its own.
* idle: the UI on the shopping screen with a few items, left alone for 10 s:
  CPU time of the UI process over wall time, and its RSS at the end. Measured
  as on a kiosk (no demo panel: real devices), and again with the demo panel
  that ``kiosk run`` shows for the simulated scanner.

Readable figures first; the last line is one JSON object.
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

from kiosk.bench.stats import rss_mb
from kiosk.bus.broker import credentials_dir, private_login, start_private_broker_on_free_port
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, command
from kiosk.catalog import SAMPLE_CATALOG
from kiosk.ui.xvfb import XvfbError, start_xvfb

COLD_STARTS = 5
IDLE_S = 10.0
LANE = "BENCHUI"
#: the UI as on a kiosk with real devices; the demo panel (simulated scanner) is measured too
PRODUCTION = ("--no-demo",)
DEMO = ("--demo",)
BASKET = ("8801115954255", "070666928444", "070666928444", "8801052240329")


def _start_ui(env: dict[str, str], note: Path,
              flags: tuple[str, ...] = PRODUCTION) -> tuple[subprocess.Popen, float]:
    note.unlink(missing_ok=True)
    env = dict(env, KIOSK_UI_BENCH_FILE=str(note))
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ui", "--windowed", *flags],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, t0


def _wait_note(note: Path, key: str, proc: subprocess.Popen, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"kiosk ui exited with {proc.returncode}")
        if note.exists():
            for line in note.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return float(value)
        time.sleep(0.01)
    raise SystemExit(f"kiosk ui did not report {key} within {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle(ui: subprocess.Popen, client: BusClient, topics: Topics, states: list[dict],
          changed: threading.Condition) -> tuple[float, float]:
    """(CPU %, RSS MB) of the UI left alone on the shopping screen with a few items."""
    with changed:
        before = states[-1]["seq"]
    client.publish(topics.command_from("cli"), command("cancel", source="bench"))
    for code in BASKET:
        client.publish(topics.command_from("cli"), command("scan", source="bench", code=code))
    with changed:
        if not changed.wait_for(lambda: states[-1]["seq"] > before and len(states[-1]["lines"])
                                == 3 and states[-1]["state"] == "shopping", 15):
            raise SystemExit("the bench basket did not reach the shopping screen")
    time.sleep(3.0)  # the UI's frame rate drops 2 s after the last change
    cpu0, wall0 = _cpu_s(ui.pid), time.monotonic()
    time.sleep(IDLE_S)
    cpu1, wall1 = _cpu_s(ui.pid), time.monotonic()
    rss = rss_mb(ui.pid)
    if ui.poll() is not None:
        raise SystemExit(f"kiosk ui exited with {ui.returncode} while idling")
    return 100 * (cpu1 - cpu0) / (wall1 - wall0), rss


def bench_ui() -> int:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-ui-") as tmp:
        work = Path(tmp)
        port, broker = start_private_broker_on_free_port(work / "broker")
        try:
            xvfb, display = start_xvfb()
        except XvfbError as exc:
            raise SystemExit(f"kiosk bench ui: {exc}") from None
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
        env.update(KIOSK_CONFIG_DIR=str(work / "etc"), KIOSK__PATHS__STATE_DIR=str(work / "state"),
                   KIOSK__BUS__PORT=str(port), KIOSK__STORE__LANE_ID=LANE, DISPLAY=display,
                   KIOSK__BUS__CREDENTIALS_DIR=str(credentials_dir(work / "broker")))
        subprocess.run([sys.executable, "-m", "kiosk.cli", "catalog", "import",
                        str(SAMPLE_CATALOG)],
                       env=env, check=True, capture_output=True)
        core = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "core"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        topics = Topics(LANE)
        states: list[dict] = []
        changed = threading.Condition()

        def on_state(_t: str, payload: bytes) -> None:
            with changed:
                states.append(json.loads(payload))
                changed.notify_all()

        client = BusClient(private_login(work / "broker", port, "kiosk-cli"), "kiosk-bench-ui")
        client.subscribe(topics.state, on_state)
        note = work / "ui-note.txt"
        ui = None
        try:
            client.start(wait_s=10)
            with changed:
                if not changed.wait_for(lambda: states, 30):
                    raise SystemExit("kiosk-core did not publish its state")
            proc, t0 = _start_ui(env, note)
            warm = _wait_note(note, "first_frame_at", proc) - t0
            _stop(proc)
            first, first_state = [], []
            for _ in range(COLD_STARTS):
                proc, t0 = _start_ui(env, note)
                first.append(_wait_note(note, "first_frame_at", proc) - t0)
                first_state.append(_wait_note(note, "first_state_frame_at", proc) - t0)
                _stop(proc)

            idle = {}
            for flags in (PRODUCTION, DEMO):
                ui, _t0 = _start_ui(env, note, flags)
                _wait_note(note, "first_state_frame_at", ui)
                idle[flags] = _idle(ui, client, topics, states, changed)
                _stop(ui)
                ui = None
        finally:
            if ui is not None:
                _stop(ui)
            client.stop()
            _stop(core)
            _stop(xvfb)
            broker.terminate()
            broker.wait(10)

    med, med_state = statistics.median(first), statistics.median(first_state)
    idle_cpu, ui_rss = idle[PRODUCTION]
    demo_cpu, demo_rss = idle[DEMO]
    print("kiosk bench ui: 1280x800 window on Xvfb (Mesa llvmpipe), 2-core machine")
    print(f"  first frame after process start:  median {med:.3f} s of {COLD_STARTS} cold starts"
          f" ({', '.join(f'{v:.3f}' for v in first)})")
    print(f"  first frame showing core state:   median {med_state:.3f} s")
    print(f"  first start on a new device (extracts the font faces once): {warm:.3f} s")
    print(f"  idle on the shopping screen, {IDLE_S:.0f} s: CPU {idle_cpu:.2f} %,"
          f" RSS {ui_rss:.1f} MB")
    print(f"  the same with the demo panel (simulated scanner, kiosk run): CPU {demo_cpu:.2f} %,"
          f" RSS {demo_rss:.1f} MB")
    print("  targets: first frame <= 1.0 s, idle CPU <= 1 %, RSS <= 200 MB")
    print(json.dumps({
        "first_frame_s": round(med, 3),
        "idle_cpu_pct": round(idle_cpu, 2),
        "ui_rss_mb": round(ui_rss, 1),
        "first_state_frame_s": round(med_state, 3),
        "first_start_with_font_extraction_s": round(warm, 3),
        "idle_cpu_pct_demo_panel": round(demo_cpu, 2),
        "ui_rss_mb_demo_panel": round(demo_rss, 1),
        "cold_starts": COLD_STARTS,
        "idle_s": IDLE_S,
    }))
    return 0
