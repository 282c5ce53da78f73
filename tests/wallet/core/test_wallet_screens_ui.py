"""The phone-wallet screens in the real UI (Kivy under Xvfb), in en, zh_Hans and ko: show
your code (with why the last one did not pay, and "scan a code with my phone instead"),
checking, confirm on your phone, the kiosk's own QR with the amount (read back from the
screenshot by the scanner's decoder, its CRC checked), a wallet decline.
Each is photographed and its texts checked (fonts, glyphs, fit, touch targets); taps send
the right command."""

from __future__ import annotations

import os

import cv2
import pytest
from kiosk_drivers.scanner.decoders import ZxingDecoder

from kiosk.domain.emvqr import MerchantAccount, build_mpm, parse_mpm
from kiosk.domain.money import Currency
from kiosk.ui.i18n import Translator
from tests.ui.conftest import shots, ui_factory, ui_fonts, xvfb  # noqa: F401 (fixtures)
from tests.ui.test_first_hour_ui import Lane, tids
from tests.ui.test_purchase_ui import Screens, money
from tests.ui.test_viewmodel import state

pytestmark = pytest.mark.ui

QR = build_mpm(accounts=[MerchantAccount("26", "kiosk.generic", (("01", "KT1_00000007"),))],
               mcc="5411", currency=Currency("USD", 840, 2), amount_minor=375, country="CN",
               name="Demo Store", city="S001", bill_number="KT1_00000007")


def wallet(st: str = "authorizing", **payment) -> dict:
    return state(state=st, payment={"method": "qr", "amount": 375, "stan": 3, "status": st,
                                    **payment})


SOAK = pytest.mark.skipif(os.environ.get("KIOSK_SOAK_TESTS") != "1",
                          reason="KIOSK_SOAK_TESTS=1 (the default run takes zh_Hans)")


@pytest.mark.parametrize("locale", [pytest.param("en", marks=SOAK), "zh_Hans",
                                    pytest.param("ko", marks=SOAK)])
def test_wallet_screens(locale, lane_env, broker_port, ui_factory, shots, ui_fonts):  # noqa: F811
    t = Translator(locale)
    lane = Lane(lane_env, broker_port, locale)
    try:
        lane.show(state(state="payment"))
        ui = ui_factory()
        ui.wait_screen("payment", locale=locale)
        screens = Screens(ui, shots, locale, ui_fonts())

        def step(msg: dict, screen: str, name: str) -> list[str]:
            seq = lane.show(msg)
            ui.wait(lambda st: st.get("seq") == seq and st["screen"] == screen, name)
            return screens.snap(name, screen)

        texts = step(wallet(step="show_code", notice="code_used"), "wallet_show",
                     "show-code-used")
        assert t.tr("Show your payment code to the scanner") in texts
        assert t.tr("This payment code has already been used. Please show a new code.") in texts
        assert money(375, locale) in texts
        assert {"wallet:scan_instead", "card:cancel"} <= tids(ui)
        ui.tap("wallet:scan_instead")
        assert lane.sent("choose_app")["index"] == 1

        texts = step(wallet(step="checking"), "wallet_checking", "checking")
        assert t.tr("Checking the payment…") in texts and "card:cancel" not in tids(ui)

        texts = step(wallet(step="user_paying"), "wallet_confirm", "confirm-on-phone")
        assert t.tr("Confirm the payment on your phone") in texts
        ui.tap("card:cancel")
        assert lane.sent("cancel")

        texts = step(wallet(step="scan_code", qr=QR, expires_at=1090.0), "wallet_scan",
                     "scan-this-code")
        # the scanner's decoder reads the code back from the photograph; its CRC checks
        shot = cv2.imread(str(sorted(shots.glob("*-scan-this-code.png"))[-1]))
        read = [sym.text for sym in ZxingDecoder(["QRCode"]).decode(shot)]
        assert read == [QR] and parse_mpm(read[0])["amount"] == "3.75"
        assert t.tr("Scan this code with your payment app") in texts
        assert money(375, locale) in texts
        assert any(t.ntr("This code expires in {n} second.", "This code expires in {n} seconds.",
                         n) in texts for n in range(60, 91))     # counting down from 90 s

        texts = step(wallet("declined", message="wallet_insufficient_funds", reason="x"),
                     "declined", "declined-insufficient")
        assert t.tr("Your payment app's balance is not enough for this payment.") in texts
        assert t.tr("Show another code") in texts
    finally:
        lane.stop()
