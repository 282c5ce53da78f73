"""The e-receipt service on loopback: a kept receipt as a page, clear pages for links that
open nothing, security headers, and bad input that never stops it."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from kiosk.printing.ereceipt import load_key, make_token
from kiosk.printing.ereceipt_page import CSP
from kiosk.services.ereceipt import EReceiptServer
from tests.wallet.ereceipt.conftest import TXNS

WORDS = {"en": ("Receipt number", "Shin Ramyun 5-pack", "Subtotal", "Total"),
         "zh_Hans": ("小票号", "辛拉面 5连包", "小计", "合计"),
         "ko": ("영수증 번호", "신라면 5입", "소계", "합계")}
LANG_ATTR = {"en": 'lang="en"', "zh_Hans": 'lang="zh-Hans"', "ko": 'lang="ko"'}


def get(url: str, method: str = "GET", path: str | None = None) -> tuple[int, dict, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path if path is not None else parts.path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8")
    finally:
        conn.close()


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_a_link_opens_its_kept_receipt_in_its_language(served, locale):
    status, headers, page = get(served.link(locale))
    assert status == 200
    assert LANG_ATTR[locale] in page.split(">", 2)[1]        # <html lang=...>
    for word in WORDS[locale]:
        assert word in page, word
    assert TXNS[locale] in page and "Harbour Street Market" in page
    assert "12 Harbour Street" in page                       # the store's address
    assert "US$19.03" in page or "$19.03" in page            # the total
    assert "0119" in page and "******0119" not in page       # last 4 only, as printed
    assert "<script" not in page.lower()
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in page  # the barcode
    assert headers["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_the_barcode_is_code_128_of_the_receipt_number(served):
    from barcode import Code128

    page = get(served.link("en"))[2]
    svg = page[page.index("<svg"):page.index("</svg>")]
    bars = [(int(x), int(w)) for x, w in
            re.findall(r'<rect x="(\d+)" y="0" width="(\d+)" height="1"/>', svg)]
    modules = ["0"] * (max(x + w for x, w in bars) - 10)
    for x, w in bars:
        modules[x - 10:x - 10 + w] = ["1"] * w
    assert "".join(modules) == Code128(TXNS["en"]).build()[0].rstrip("0")


def test_an_expired_link_gets_410_in_its_language(served):
    token = make_token(served.key, TXNS["ko"], "ko", 1_000_000)
    status, headers, page = get(served.base + "/r/" + token)
    assert status == 410 and 'lang="ko"' in page and "만료" in page
    assert "expired" not in page                              # no English on a Korean page
    assert headers["Content-Security-Policy"] == CSP


def test_a_tampered_link_gets_403_in_the_language_it_names(served):
    link = served.link("zh_Hans")
    forged = link.replace(TXNS["zh_Hans"], TXNS["en"])
    status, _, page = get(forged)
    assert status == 403 and 'lang="zh-Hans"' in page and "链接无效" in page


def test_an_unknown_receipt_gets_404(served):
    token = make_token(served.key, "S001-L01-999999", "en", 4_000_000_000)
    status, _, page = get(served.base + "/r/" + token)
    assert status == 404 and "Receipt not found" in page


def test_an_unreadable_link_gets_one_page_in_every_language(served):
    status, _, page = get(served.base + "/r/nonsense")
    assert status == 404
    for word in ("not valid", "无效", "유효하지"):
        assert word in page
    for attr in ('lang="en"', 'lang="zh-Hans"', 'lang="ko"'):
        assert attr in page


def test_bad_input_never_stops_the_service(served):
    base = served.base
    assert get(base, path="/")[0] == 404
    assert get(base, path="/r/%ff%fe.en.1.x")[0] == 404
    assert get(base, path="/r/" + "%" * 3000)[0] == 404
    assert get(base, method="POST", path="/r/x")[0] == 405
    assert get(base, path="/r/" + "A" * 70_000)[0] in (404, 414)
    host, port = urlsplit(base).hostname, urlsplit(base).port
    for raw in (b"\x00\xff\r\n\r\n", b"GET\r\n\r\n", b"GET /r/x HTTP/9.9\r\n\r\n",
                b"GET /r/x HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", b""):
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            s.recv(65536)
    # a kept receipt that does not load: a clear 500, and the service goes on
    served.store.path("S001-L01-000050").write_text("{not json")
    token = make_token(served.key, "S001-L01-000050", "en", 4_000_000_000)
    assert get(base + "/r/" + token)[0] == 500
    served.store.path("S001-L01-000051").write_text(json.dumps({"txn": 5}))
    token = make_token(served.key, "S001-L01-000051", "en", 4_000_000_000)
    assert get(base + "/r/" + token)[0] == 500
    assert get(served.link("en"))[0] == 200


def test_the_access_log_never_holds_the_token(served, caplog):
    link = served.link("en")
    with caplog.at_level("DEBUG", logger="kiosk.ereceipt"):
        assert get(link)[0] == 200
        assert get(link[:-1] + ("A" if link[-1] != "A" else "B"))[0] == 403
    sig = urlsplit(link).path.rsplit(".", 1)[1]
    assert caplog.records and all(sig not in r.getMessage() for r in caplog.records)
    assert any(TXNS["en"] in r.getMessage() for r in caplog.records)


def test_clients_beyond_the_limit_are_turned_away_not_given_threads(config, tmp_path):
    server = EReceiptServer(("127.0.0.1", 0), load_key(tmp_path / "k", create=True),
                            config.receipts_dir, max_clients=2)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    addr = server.server_address[:2]
    try:
        idle = [socket.create_connection(addr, timeout=10) for _ in range(2)]
        for s in idle:   # each holds a thread: it has sent half a request line
            s.sendall(b"GET /r/")
        deadline = time.monotonic() + 10
        while server._slots._value:   # both accepted (the semaphore says so)
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with socket.create_connection(addr, timeout=10) as extra:
            extra.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert extra.recv(100) == b""       # closed without an answer
        for s in idle:
            s.close()
        deadline = time.monotonic() + 10
        while True:   # slots come back as the idle clients go
            status = None
            try:
                status = get(f"http://{addr[0]}:{addr[1]}", path="/")[0]
            except (ConnectionError, http.client.HTTPException):
                pass
            if status == 404:
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
