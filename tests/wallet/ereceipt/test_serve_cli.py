"""``kiosk ereceipt serve`` as the unit runs it: a process on loopback that opens a kept
receipt's link, names its port, and stops cleanly on SIGTERM; refused without e-receipts."""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
from urllib.parse import urlsplit

from kiosk.printing.ereceipt import LinkSigner, load_key
from kiosk.printing.store import ReceiptStore
from kiosk.services.ereceipt import serve_main
from tests.drivers.receipts import make_receipt
from tests.harness import REPO

URL = "http://127.0.0.1:8088/r/{txn}"


def test_the_service_process_serves_a_kept_receipt_and_stops_on_sigterm(config, tmp_path):
    key = load_key(config.ereceipt_key_file, create=True)   # as kiosk-core makes it
    ReceiptStore(config.receipts_dir).save(make_receipt(config, "zh_Hans", link=False))
    link = LinkSigner(key, URL, 3600).link("S001-L01-000042", "zh_Hans")
    env = dict(os.environ, KIOSK__STORE__E_RECEIPT_URL=URL)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ereceipt", "serve",
                             "--port", "0"], env=env, cwd=REPO, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line, line + proc.stderr.read()
        conn = http.client.HTTPConnection("127.0.0.1", int(line.rsplit(":", 1)[1]), timeout=10)
        conn.request("GET", urlsplit(link).path)
        resp = conn.getresponse()
        page = resp.read().decode("utf-8")
        conn.close()
        assert resp.status == 200 and 'lang="zh-Hans"' in page and "小票号" in page
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
    assert link.rsplit(".", 1)[1] not in proc.stderr.read()   # the token never logged


def test_without_e_receipts_or_with_a_loose_key_it_refuses_to_start(config, monkeypatch,
                                                                    capsys):
    args = argparse.Namespace(host=None, port=0)
    assert serve_main(args) == 2
    assert "e_receipt_url is not set" in capsys.readouterr().err
    monkeypatch.setenv("KIOSK__STORE__E_RECEIPT_URL", URL)
    load_key(config.ereceipt_key_file, create=True).hex()
    config.ereceipt_key_file.chmod(0o644)
    assert serve_main(args) == 2
    assert "looser than 0600" in capsys.readouterr().err
