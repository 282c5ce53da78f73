"""Round trip of an attendant's command, measured on the real stack (not a test; run by hand):

    .venv/bin/python -m tests.attendant.bench_roundtrip 50

A store broker over TLS, one lane (its mosquitto bridged to the store broker, its kiosk-core
process), the station's board: ``N`` close_lane / open_lane pairs, each timed from signing
at the station to the lane's answer back at the station (through both brokers and the
bridge twice, the lane's signature check and its journal write). Prints the median, p95, max.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from kiosk.attendant.board import LaneBoard
from kiosk.bus.acl import STATION_USER, lane_user
from kiosk.bus.bridge import StoreLink, bridge_text
from kiosk.bus.broker import credentials_dir, start_store_broker
from kiosk.bus.credentials import BusLogin, read_password
from kiosk.security.remote import open_session, public_text, station_key
from tests.attendant.conftest import make_tls
from tests.harness import SAMPLE_CSV, CoreProcess, Shopper, kiosk_cli, kiosk_env, start_broker


def main(pairs: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    tls = make_tls(tmp / "tls")
    store_port, store = start_store_broker(tmp / "store", ["R1"], tls)
    store_creds = credentials_dir(tmp / "store")
    key = station_key(tmp / "st.key", create=True)
    (tmp / "st.pub").write_text(public_text(key))
    link = StoreLink("127.0.0.1", store_port, tls[0],
                     read_password(lane_user("R1"), store_creds))
    port, lane_broker = start_broker(tmp / "bus", extra_conf=bridge_text("R1", link))
    env = kiosk_env(tmp / "lane", port, "R1", KIOSK__ATTENDANT__STATION_KEY=str(tmp / "st.pub"))
    kiosk_cli(env, "catalog", "import", str(SAMPLE_CSV))
    core = CoreProcess(env, tmp / "core.log").start()
    shopper = Shopper(port, "R1")
    shopper.wait_online()
    board = LaneBoard(BusLogin("127.0.0.1", store_port, STATION_USER,
                               read_password(STATION_USER, store_creds), cafile=str(tls[0])))
    assert board.start(10)
    session = open_session(key, "S100", "Demo")
    times: list[float] = []
    try:
        for _ in range(pairs):
            for action in ("close_lane", "open_lane"):
                start = time.perf_counter()
                answer = board.send(session, "R1", action)
                times.append((time.perf_counter() - start) * 1000)
                assert answer["ok"], answer
    finally:
        board.stop()
        shopper.close()
        core.stop()
        lane_broker.terminate()
        store.terminate()
    times.sort()
    print(f"n={len(times)} median={statistics.median(times):.1f} ms"
          f" p95={times[int(len(times) * 0.95) - 1]:.1f} ms max={times[-1]:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
