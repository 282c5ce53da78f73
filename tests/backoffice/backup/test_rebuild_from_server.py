"""End to end: a lane's journal synced to the real back office (``kiosk backoffice serve``
over TLS on a real PostgreSQL), the lane's SD card dies, ``kiosk restore --from-backoffice``
rebuilds it over HTTPS with the lane's own token, and ``journal verify`` passes."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading

import httpx

from kiosk.cli import main
from kiosk.sim.qrpay_keys import make_demo_keys
from tests.backoffice.server.support import rows

BACKOFFICE = [sys.executable, "-m", "kiosk.cli", "backoffice"]


def _first_line(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


def test_a_dead_lane_is_rebuilt_from_the_real_back_office(lane, pg_url, tmp_path, capsys):
    env = {**os.environ, "KIOSK_BACKOFFICE_DB": pg_url}
    subprocess.run([*BACKOFFICE, "migrate"], env=env, check=True, capture_output=True)
    token = tmp_path / "sync.token"
    subprocess.run([*BACKOFFICE, "lane", "add", lane.store.store_id, lane.store.lane_id,
                    "--token-file", str(token)], env=env, check=True, capture_output=True)
    keys = make_demo_keys(tmp_path / "tls")
    server = subprocess.Popen([*BACKOFFICE, "serve", "--port", "0", "--cert",
                               str(keys.server_pem), "--key", str(keys.server_key)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = _first_line(server).split()[-1]
        synced = rows(lane.journal_path)
        with httpx.Client(base_url=url, verify=str(keys.ca_pem), timeout=60) as http:
            answer = http.post(f"/v1/lanes/{lane.store.lane_id}/events", json={"events": synced},
                               headers={"Authorization": f"Bearer {token.read_text().strip()}"})
            assert answer.json() == {"acked_seq": len(synced), "flags": []}
        shutil.rmtree(lane.paths.state_dir)  # the SD card dies

        assert main(["restore", "--from-backoffice", url, "--token-file", str(token),
                     "--ca-file", str(keys.ca_pem)]) == 0
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert f"up to seq {len(synced)}, verify OK" in capsys.readouterr().out
    assert main(["journal", "verify"]) == 0
    assert rows(lane.journal_path) == synced
