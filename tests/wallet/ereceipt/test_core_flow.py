"""A real sale's e-receipt end to end: kiosk-core makes the key (0600), signs the sale's link,
publishes it with the approved state and keeps the receipt before any choice; ``kiosk
ereceipt serve`` (the unit's command, as a process) opens the link; the paper receipt
carries the same link."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.harness import REPO
from tests.integration.test_card_flow import state_dir, to_payment, verify

URL = "http://127.0.0.1:8088/r/{txn}"


def wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():  # the core keeps it on a worker thread: poll its result
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)


def serve(env: dict) -> tuple[subprocess.Popen, int]:
    """``kiosk ereceipt serve`` on a free loopback port; its port from its first line."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ereceipt", "serve",
                             "--port", "0"], env=env, cwd=REPO, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stderr.readline()
    assert "listening on 127.0.0.1:" in line, line + proc.stderr.read()
    return proc, int(line.rsplit(":", 1)[1])


def fetch(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8")
    finally:
        conn.close()


def test_a_sale_gets_a_signed_link_its_kept_receipt_is_served(start_core, shopper, lane_env):
    core = start_core(KIOSK__STORE__E_RECEIPT_URL=URL)
    key = state_dir(lane_env) / "ereceipt.key"
    to_payment(shopper)
    assert shopper.send("set_language", locale="ko")["ok"]
    assert shopper.send("pay", method="card")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "approved")
    txn, link = st["txn"], st["e_receipt"]
    assert link.startswith(f"http://127.0.0.1:8088/r/{txn}.ko.")
    assert key.stat().st_mode & 0o777 == 0o600
    kept = state_dir(lane_env) / "receipts" / f"{txn}.json"
    wait_for(kept)                        # before any receipt choice
    assert json.loads(kept.read_text())["qr_payload"] == link
    proc, port = serve(dict(lane_env, KIOSK__STORE__E_RECEIPT_URL=URL))
    try:
        status, page = fetch(port, urlsplit(link).path)
        assert status == 200 and 'lang="ko"' in page and txn in page
        assert "영수증 번호" in page and "Receipt number" not in page
        status, page = fetch(port, urlsplit(link).path.replace(".ko.", ".en."))
        assert status == 403
        assert shopper.send("receipt", choice="print")["ok"]
        st = shopper.wait_state(lambda s: s["state"] == "receipt")
        assert st["e_receipt"] == link      # the receipt screen still shows the same link
        printed = Path(st["receipt"]["path"]).read_text(encoding="utf-8")
        assert link in printed              # and the paper carries it
        assert fetch(port, urlsplit(link).path)[0] == 200
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
    assert shopper.send("done")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attract")
    assert st.get("e_receipt") is None
    verify(core, lane_env)


def test_without_an_e_receipt_url_there_is_nothing_to_serve(lane_env):
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "ereceipt", "serve"],
                          env=lane_env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "e_receipt_url is not set" in done.stderr
