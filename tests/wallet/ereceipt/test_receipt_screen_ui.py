"""The receipt-choice screen's "Receipt on my phone" in a real Kivy window (Xvfb), in Korean,
on a real sale: kiosk-core makes the signing key (0600), signs the sale's link and keeps the
receipt at approval; the screen shows the link as a QR code; zxing-cpp reads it off the
screenshot, and the decoded URL, fetched as a phone would, opens the sale's receipt page (a
changed link: 403). The shopper can still print or finish ("Done")."""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import pytest

from kiosk.printing.ereceipt import load_key
from kiosk.services.ereceipt import EReceiptServer
from tests.integration.test_card_flow import FAST, state_dir, to_payment, verify
from tests.ui.conftest import shots, ui_factory, ui_fonts, xvfb  # noqa: F401 - fixtures
from tests.ui.test_purchase_ui import Screens

pytestmark = pytest.mark.ui


def read_qr(png) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(png) as img:
        return [r.text for r in zxingcpp.read_barcodes(img.convert("L"),
                                                       formats=zxingcpp.BarcodeFormat.QRCode)]


def kept_in(path, locale: str, link: str) -> None:
    """Wait for kiosk-core's worker to keep the receipt in ``locale`` with ``link``."""
    deadline = time.monotonic() + 10
    while True:
        try:
            kept = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            kept = {}
        if kept.get("locale") == locale and kept.get("qr_payload") == link:
            return
        assert time.monotonic() < deadline, f"receipt not kept in {locale}: {kept}"
        time.sleep(0.05)


def fetch(url: str) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8")
    finally:
        conn.close()


def test_receipt_on_my_phone_shows_a_qr_that_opens_the_receipt(
        start_core, shopper, lane_env, ui_factory, shots, ui_fonts):  # noqa: F811
    state = state_dir(lane_env)
    # the page service first, for its port; it gets the key once kiosk-core has made it
    server = EReceiptServer(("127.0.0.1", 0), b"", state / "receipts")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        core = start_core(**FAST, KIOSK__STORE__E_RECEIPT_URL=(
            f"http://127.0.0.1:{server.server_address[1]}/r/{{txn}}"))
        ui = ui_factory()
        to_payment(shopper)                      # core online: its key is made
        key_file = state / "ereceipt.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        server.key = load_key(key_file)
        assert shopper.send("set_language", locale="ko")["ok"]
        assert shopper.send("pay", method="card")["ok"]
        st = shopper.wait_state(lambda s: s["state"] == "approved")
        kept = state / "receipts" / f"{st['txn']}.json"
        # the language changed on this screen: a link in it, and the receipt kept again in it
        for locale in ("zh_Hans", "ko"):
            assert shopper.send("set_language", locale=locale)["ok"]
            st = shopper.wait_state(lambda s, lc=locale: f".{lc}." in (s["e_receipt"] or ""))
            kept_in(kept, locale, st["e_receipt"])
        link = st["e_receipt"]
        assert link.startswith(f"http://127.0.0.1:{server.server_address[1]}/r/{st['txn']}.ko.")
        ui.sync(st)
        ui.wait_screen("approved", locale="ko")
        screens = Screens(ui, shots, "ko", ui_fonts())
        before = screens.snap("approved-ko", "approved")
        assert "휴대폰 영수증" in before
        assert read_qr(shots / "01-approved-ko.png") == []      # no code until asked
        ui.tap("receipt:phone")
        texts = screens.snap("approved-phone-qr-ko", "approved")
        assert "휴대폰으로 이 코드를 스캔하여 영수증을 확인하세요." in texts
        assert "완료" in texts and "영수증 인쇄" in texts   # still print, or finish
        decoded = read_qr(shots / "02-approved-phone-qr-ko.png")
        assert decoded == [link]
        assert json.loads(kept.read_text())["qr_payload"] == link   # the paper's link too
        status, page = fetch(decoded[0])
        assert status == 200 and st["txn"] in page and 'lang="ko"' in page
        assert "영수증 번호" in page and "Receipt number" not in page
        assert fetch(link.replace(".ko.", ".en."))[0] == 403
        ui.tap("receipt:none")               # "Done": no paper, the phone has it
        st = shopper.wait_state(lambda s: s["state"] == "receipt")
        assert st["payment"]["receipt_choice"] == "none" and st["e_receipt"] == link
        assert shopper.send("done")["ok"]
        assert shopper.wait_state(lambda s: s["state"] == "attract").get("e_receipt") is None
        verify(core, lane_env)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
