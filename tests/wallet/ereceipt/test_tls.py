"""The e-receipt server's own TLS (``ereceipt.tls_cert``/``tls_key``): ``kiosk ereceipt
serve`` as the unit runs it, a process on 127.0.0.1 with a certificate of a test CA
(:func:`tests.backoffice.sync.tls.make_tls`), fetched with httpx verifying that CA. Plain
HTTP to that port gets no page; clients that send garbage or stall in the handshake do not
stop it; a loose key file, half a pair, a non-loopback address without TLS and, on a
production lane, a demo certificate are refused at start with one line."""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import ssl
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest

from kiosk.payments.wallet.config import DEMO_MARK
from kiosk.printing.ereceipt import LinkSigner, load_key
from kiosk.printing.ereceipt_page import CSP
from kiosk.printing.store import ReceiptStore
from kiosk.services.ereceipt import ListenError, serve_main, tls_context
from tests.backoffice.sync.tls import make_tls
from tests.drivers.receipts import make_receipt
from tests.harness import REPO

URL = "https://receipts.store.test/r/{txn}"
TXN = "S001-L01-000042"


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset: it closed with our bytes
    unread)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def start(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ereceipt", "serve",
                             "--port", "0"], env=env, cwd=REPO, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stderr.readline()
    assert "listening on https://127.0.0.1:" in line, line + proc.stderr.read()
    return proc, int(line.rsplit(":", 1)[1])


def test_the_page_is_served_over_tls_and_bad_clients_never_stop_it(config, tmp_path):
    tls = make_tls(tmp_path / "tls")
    key = load_key(config.ereceipt_key_file, create=True)   # as kiosk-core makes it
    ReceiptStore(config.receipts_dir).save(make_receipt(config, "ko", link=False))
    path = urlsplit(LinkSigner(key, URL, 3600).link(TXN, "ko")).path
    env = dict(os.environ, KIOSK__STORE__E_RECEIPT_URL=URL,
               KIOSK__ERECEIPT__TLS_CERT=str(tls.cert), KIOSK__ERECEIPT__TLS_KEY=str(tls.key))
    proc, port = start(env)
    base = f"https://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=tls.ca)
    try:
        with httpx.Client(verify=verify, timeout=10) as client:
            resp = client.get(base + path)
        assert resp.status_code == 200 and "영수증 번호" in resp.text
        assert resp.headers["content-security-policy"] == CSP
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["referrer-policy"] == "no-referrer"

        # plain HTTP to the TLS port: the connection is closed, never a page
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            conn.request("GET", path)
            conn.getresponse().read()
        conn.close()

        # one client stalls in the handshake (connected, says nothing) while others send
        # garbage or half a ClientHello and hang up: each costs its own thread only
        stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
        for raw in (b"\x00\xff\r\n\r\n" * 50, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                    b""):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(raw)
                s.shutdown(socket.SHUT_WR)
                assert b"HTTP/" not in answer(s)   # no page (a TLS alert at most)
        with httpx.Client(verify=verify, timeout=10) as client:
            resp = client.get(base + path)
        assert resp.status_code == 200 and "영수증 번호" in resp.text
        stalled.close()
        # a client that does not trust the test CA is refused (the certificate is checked)
        with pytest.raises(httpx.ConnectError), httpx.Client(timeout=10) as client:
            client.get(base + path)
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
    assert path.rsplit(".", 1)[1] not in proc.stderr.read()   # the token never logged


def refused(capsys, monkeypatch, host: str | None = None, **env: str) -> str:
    """serve_main's exit 2 and its one line, with ``env`` (``KIOSK__ERECEIPT__*``) set."""
    monkeypatch.setenv("KIOSK__STORE__E_RECEIPT_URL", URL)
    for name, value in env.items():
        monkeypatch.setenv(f"KIOSK__ERECEIPT__{name.upper()}", value)
    capsys.readouterr()
    assert serve_main(argparse.Namespace(host=host, port=0)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_a_tls_key_readable_by_others_is_refused_with_one_line(config, tmp_path, capsys,
                                                               monkeypatch):
    tls = make_tls(tmp_path / "tls")
    load_key(config.ereceipt_key_file, create=True)
    tls.key.chmod(0o644)
    err = refused(capsys, monkeypatch, tls_cert=str(tls.cert), tls_key=str(tls.key))
    assert f"e-receipt TLS key {tls.key} has mode 0644: chmod 600" in err


def test_without_tls_it_listens_on_loopback_only(config, tmp_path, capsys, monkeypatch):
    tls = make_tls(tmp_path / "tls")
    load_key(config.ereceipt_key_file, create=True)
    assert "0.0.0.0 is not a loopback address: ereceipt.tls_cert and" in refused(
        capsys, monkeypatch, host="0.0.0.0")
    assert "10.0.0.7 is not a loopback address" in refused(capsys, monkeypatch,
                                                            listen_host="10.0.0.7")
    assert "set both ereceipt.tls_cert and ereceipt.tls_key" in refused(
        capsys, monkeypatch, tls_cert=str(tls.cert))


def test_a_production_lane_refuses_the_demo_certificate(tmp_path):
    tls = make_tls(tmp_path / "tls")
    assert tls_context(tls.cert, tls.key, production=True).minimum_version == (
        ssl.TLSVersion.TLSv1_2)
    tls.cert.write_text(DEMO_MARK + "\n" + tls.cert.read_text())   # as `kiosk sim qrpay`
    tls_context(tls.cert, tls.key)   # a demo lane may use it
    with pytest.raises(ListenError, match="security.production: .* demo files"):
        tls_context(tls.cert, tls.key, production=True)
    tls.cert.write_text("not a certificate\n")
    with pytest.raises(ListenError, match="not a PEM certificate chain"):
        tls_context(tls.cert, tls.key)
