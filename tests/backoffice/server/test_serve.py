"""The commands end to end: `kiosk backoffice migrate`, `lane add` (a 0600 token file, never
overwritten), `serve` over TLS on a port the OS chose (and no plain HTTP off loopback)."""

from __future__ import annotations

import os
import queue
import ssl
import subprocess
import sys
import threading

import httpx

from kiosk.sim.qrpay_keys import make_demo_keys
from tests.backoffice.server.support import V0_JOURNAL, rows

KIOSK = [sys.executable, "-m", "kiosk.cli", "backoffice"]


def _kiosk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, env=env, timeout=120)


def _first_line(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


def test_migrate_issue_a_token_and_serve_over_tls(pg_url, tmp_path):
    env = {**os.environ, "KIOSK_BACKOFFICE_DB": pg_url}
    assert "applied: 001_events" in _kiosk("migrate", env=env).stdout
    assert "schema is current" in _kiosk("migrate", env=env).stdout
    token_file = tmp_path / "lane" / "sync.token"
    added = _kiosk("lane", "add", "S001", "S001-L07", "--token-file", str(token_file), env=env)
    assert added.returncode == 0, added.stderr
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    again = _kiosk("lane", "add", "S001", "S001-L07", "--token-file", str(tmp_path / "t2"),
                   env=env)
    assert again.returncode == 1 and "exists" in again.stderr
    assert token_file.read_text().strip() == token

    open_port = _kiosk("serve", "--host", "0.0.0.0", "--port", "0", env=env)
    assert open_port.returncode != 0 and "TLS" in open_port.stderr

    keys = make_demo_keys(tmp_path / "tls")
    server = subprocess.Popen([*KIOSK, "serve", "--port", "0", "--cert", str(keys.server_pem),
                               "--key", str(keys.server_key)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = _first_line(server)
        assert line.startswith("kiosk-backoffice: listening on https://127.0.0.1:"), line
        url = line.split()[-1]
        tls = ssl.create_default_context(cafile=str(keys.ca_pem))
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, verify=tls, timeout=60) as http:
            answer = http.post("/v1/lanes/S001-L07/events", headers=auth,
                               json={"events": rows(V0_JOURNAL, 0, 30)})
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"acked_seq": 30, "flags": []}
            assert http.get("/v1/lanes/S001-L07/acked", headers=auth).json() == {
                "acked_seq": 30}
        with httpx.Client(base_url=url.replace("https:", "http:"), timeout=60) as plain:
            try:
                refused = plain.get("/v1/lanes/S001-L07/acked", headers=auth).status_code
            except httpx.HTTPError:
                refused = None
            assert refused != 200
    finally:
        server.terminate()
        server.wait(timeout=60)
