"""The receipt-choice screen's "Receipt on my phone" in a real Kivy window (Xvfb), in Korean:
it shows the sale's link as a QR code; zxing-cpp reads the code off the screenshot, and the
decoded URL, fetched as a phone would, opens the sale's receipt page. The shopper can still
print or finish ("Done")."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import pytest

from kiosk.printing.ereceipt import load_key
from kiosk.services.ereceipt import EReceiptServer
from tests.integration.test_card_flow import state_dir, to_payment
from tests.ui.conftest import shots, ui_factory, ui_fonts, xvfb  # noqa: F401 - fixtures
from tests.ui.test_purchase_ui import Screens

pytestmark = pytest.mark.ui


def read_qr(png) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(png) as img:
        return [r.text for r in zxingcpp.read_barcodes(img.convert("L"),
                                                       formats=zxingcpp.BarcodeFormat.QRCode)]


def test_receipt_on_my_phone_shows_a_qr_that_opens_the_receipt(
        start_core, shopper, lane_env, ui_factory, shots, ui_fonts):  # noqa: F811
    # the key first (kiosk-core would make it), then the service, then the lane using its port
    key = load_key(state_dir(lane_env) / "ereceipt.key", create=True)
    server = EReceiptServer(("127.0.0.1", 0), key, state_dir(lane_env) / "receipts")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        start_core(KIOSK__STORE__E_RECEIPT_URL=f"http://127.0.0.1:{port}/r/{{txn}}")
        ui = ui_factory()
        ui.wait_screen("attract")
        to_payment(shopper)
        assert shopper.send("set_language", locale="ko")["ok"]
        assert shopper.send("pay", method="card")["ok"]
        st = shopper.wait_state(lambda s: s["state"] == "approved")
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
        assert "휴대폰 영수증" not in texts
        decoded = read_qr(shots / "02-approved-phone-qr-ko.png")
        assert decoded == [st["e_receipt"]]
        url = urlsplit(decoded[0])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", url.path)
        resp = conn.getresponse()
        page = resp.read().decode("utf-8")
        conn.close()
        assert resp.status == 200 and st["txn"] in page and 'lang="ko"' in page
        ui.tap("receipt:none")               # "Done": no paper, the phone has it
        st = shopper.wait_state(lambda s: s["state"] == "receipt")
        assert st["payment"]["receipt_choice"] == "none"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
