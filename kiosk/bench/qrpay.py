"""``kiosk bench qrpay``: a phone's payment code read → the sale approved, through the lane.

A real mosquitto and a real kiosk-core process whose ``qr`` method talks to the simulated
wallet gateway (kiosk/sim/wallet_gateway.py, in kiosk-core's process, no added delay). Each
sale: one item, checkout, ``pay qr``; once the state asks for a code (step ``show_code``) the
bench sends the scanner's ``wallet_code`` command and times the arrival of the approved
state. That is the code-read → approved latency the shopper sees once the scanner has the
code: bus hop, kiosk-core's decision, the order written to the order book (fsync) before the
request, the gateway call, the journal append (fsync), the state published.

The simulator's own time (its ledger write and fsync per call, which a real gateway's
network round trip replaces) is measured inside it (``took_ms`` per call, in
sim-wallet-timing.jsonl) and printed separately; the lane's own time is total − simulator
time. The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kiosk.bench.stats import percentile, summary_ms
from kiosk.bus.broker import credentials_dir, free_port, private_login, start_private_broker
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, command
from kiosk.catalog import SAMPLE_CATALOG
from kiosk.sim.wallet_gateway import CONTROL, TIMING

ITEM = "8801115954255"
LANE = "QRBENCH"


class _States:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.state: dict = {}
        self.online = False

    def on_state(self, _topic: str, payload: bytes) -> None:
        with self.cond:
            self.state = json.loads(payload)
            self.cond.notify_all()

    def on_status(self, _topic: str, payload: bytes) -> None:
        with self.cond:
            self.online = json.loads(payload)["online"]
            self.cond.notify_all()

    def wait(self, pred, timeout: float = 20) -> dict:  # type: ignore[no-untyped-def]
        with self.cond:
            if not self.cond.wait_for(lambda: bool(self.state) and pred(self.state), timeout):
                raise TimeoutError(f"state never matched (last {self.state.get('state')})")
            return self.state


def _code() -> str:
    return "13" + "".join(str(b % 10) for b in os.urandom(16))


def bench_qrpay(sales: int = 200) -> int:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-qrpay-") as tmp:
        work = Path(tmp)
        port = free_port()
        broker = start_private_broker(work / "broker", port)
        state_dir = work / "state"
        state_dir.mkdir()
        (state_dir / CONTROL).write_text(json.dumps({"scenario": "success"}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
        env.update(KIOSK_CONFIG_DIR=str(work / "etc"), KIOSK__PATHS__STATE_DIR=str(state_dir),
                   KIOSK__BUS__PORT=str(port), KIOSK__STORE__LANE_ID=LANE,
                   KIOSK__BUS__CREDENTIALS_DIR=str(credentials_dir(work / "broker")))
        subprocess.run([sys.executable, "-m", "kiosk.cli", "catalog", "import",
                        str(SAMPLE_CATALOG)], env=env, check=True, capture_output=True)
        core = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "core"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = BusClient(private_login(work / "broker", port, "kiosk-cli"), "qrpay-bench")
        # the code comes as the scanner sends it (only kiosk-scanner may send a wallet_code)
        scanner = BusClient(private_login(work / "broker", port, "kiosk-scanner"),
                            "qrpay-bench-scanner")
        topics = Topics(LANE)
        states = _States()
        client.subscribe(topics.state, states.on_state)
        client.subscribe(topics.core_status, states.on_status)
        cmd_topic = topics.command_from("cli")

        def send(kind: str, **fields: object) -> None:
            client.publish(cmd_topic, command(kind, source="bench", **fields))

        totals: list[float] = []
        try:
            client.start(wait_s=10)
            scanner.start(wait_s=10)
            with states.cond:
                states.cond.wait_for(lambda: states.online, 20)
            for _ in range(sales):
                states.wait(lambda s: s["state"] == "attract")
                send("scan", code=ITEM)
                states.wait(lambda s: s["state"] == "shopping")
                send("checkout")
                states.wait(lambda s: s["state"] == "payment")
                send("pay", method="qr")
                states.wait(lambda s: (s.get("payment") or {}).get("step") == "show_code")
                msg = command("wallet_code", source="scanner", code=_code(), kind="wechat")
                t0 = time.perf_counter()
                scanner.publish(topics.command_from("scanner"), msg)
                states.wait(lambda s: s["state"] == "approved")
                totals.append(time.perf_counter() - t0)
                send("receipt", choice="none")
                states.wait(lambda s: s["state"] == "receipt")
                send("done")
        finally:
            client.stop()
            scanner.stop()
            core.terminate()
            core.wait(10)
            broker.terminate()
            broker.wait(10)
        timing = [json.loads(x) for x in (state_dir / TIMING).read_text().splitlines()]
    sim_per_order: dict[str, float] = {}
    for entry in timing:
        sim_per_order[entry["order_no"]] = (sim_per_order.get(entry["order_no"], 0.0)
                                            + entry.get("took_ms", 0.0))
    sim = list(sim_per_order.values())
    own = [t * 1000 - s for t, s in zip(totals, sim, strict=True)]
    med, p95 = summary_ms(totals)
    sim_med, sim_p95 = summary_ms([s / 1000 for s in sim])
    own_med, own_p95 = summary_ms([o / 1000 for o in own])
    print(f"kiosk bench qrpay: {sales} sales, one item each, simulated gateway (no added"
          " delay) in kiosk-core's process, real mosquitto")
    print(f"  code read → approved state:  median {med:.2f} ms, p95 {p95:.2f} ms")
    print(f"  of which the simulator:       median {sim_med:.2f} ms, p95 {sim_p95:.2f} ms"
          " (its ledger write + fsync)")
    print(f"  lane's own time (total − sim): median {own_med:.2f} ms, p95 {own_p95:.2f} ms"
          "  (target p95 < 150 ms)")
    print(json.dumps({
        "read_to_approved_ms_median": round(med, 2),
        "read_to_approved_ms_p95": round(p95, 2),
        "simulator_ms_median": round(sim_med, 2),
        "simulator_ms_p95": round(sim_p95, 2),
        "lane_own_ms_median": round(own_med, 2),
        "lane_own_ms_p95": round(own_p95, 2),
        "lane_own_ms_max": round(percentile(own, 100), 2),
        "sales": sales,
    }))
    return 0
