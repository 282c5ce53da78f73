"""The payment QR widget under Xvfb: its code, read back from the window's own frame by the
scanner's decoding path (the scan engine and its decoders), is the payload, whose CRC checks;
every module is the same whole number of pure black or white pixels; the amount and the
countdown are shown in English, Chinese and Korean; once the deadline passes the code is
gone. The pictures are kept in var/ui-screenshots/pay_qr/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from kiosk.domain.emvqr import AltLanguage, MerchantAccount, build_mpm, parse_mpm
from kiosk.domain.money import Currency
from tests.harness import REPO
from tests.ui.driver import SHOTS_ROOT, Xvfb

pytestmark = pytest.mark.ui

CNY = Currency("CNY", 156, 2)
PAYLOAD = build_mpm(
    accounts=[MerchantAccount("26", "com.example.qrpay", (("01", "M100200300"),))],
    mcc="5411", currency=CNY, amount_minor=12345, country="CN", name="Harbour Street Market",
    city="Shanghai", bill_number="L01T000042", reference_label="K01L01A7",
    language=AltLanguage("ZH", "港湾街市场", "上海"))


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    out = SHOTS_ROOT / "pay_qr"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    display = Xvfb()
    try:
        env = dict(os.environ, DISPLAY=display.display)
        env["KIOSK__PATHS__STATE_DIR"] = str(tmp_path_factory.mktemp("payqr-state"))
        done = subprocess.run([sys.executable, "-m", "tests.wallet.codes.payqr_app", str(out),
                               PAYLOAD], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=180)
    finally:
        display.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"screenshots: {out}")
    return out, json.loads(done.stdout.strip().splitlines()[-1])


def _grey(path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert img is not None, path
    return img


def _scan(img) -> list:
    from kiosk_drivers.scanner.config import ScannerConfig
    from kiosk_drivers.scanner.engine import Frame, ScanEngine

    from kiosk.domain.gtin import VariableMeasureConfig
    from kiosk.services.scanner import classifier_for

    engine = ScanEngine(ScannerConfig(), classifier_for(ScannerConfig(), VariableMeasureConfig()))
    reads = []
    for seq in range(3):  # a held screen: a few frames, as a camera would see it
        reads += engine.process(Frame(seq, seq / 30, img))
    return reads


TITLES = {"en": "Scan this code with your payment app", "zh_Hans": "请用支付应用扫描此二维码",
          "ko": "결제 앱으로 이 코드를 스캔하세요"}


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_the_scanner_reads_the_shown_code_and_its_crc_checks(shown, locale):
    from kiosk.ui.i18n import Translator

    out, report = shown
    info = report[locale]
    reads = _scan(_grey(out / f"pay_qr-{locale}.png"))
    assert [r.text for r in reads] == [PAYLOAD]
    parsed = parse_mpm(reads[0].text)  # raises unless lengths, order and CRC all hold
    assert parsed["crc"] == PAYLOAD[-4:] and parsed["amount"] == "123.45"
    t = Translator(locale, CNY)
    assert (info["title"], info["amount"]) == (TITLES[locale], t.money(12345))
    left = info["seconds_left"]  # the frame was taken within the 45 s
    assert 0 < left <= 45
    assert info["countdown"] == t.ntr("This code expires in {n} second.",
                                      "This code expires in {n} seconds.", left)
    assert str(left) in info["countdown"]
    assert not info["title_overflows"] and not info["countdown_overflows"]


def test_every_module_is_whole_black_or_white_pixels(shown):
    out, report = shown
    info = report["en"]
    m = info["module_px"]
    assert isinstance(m, int) and m >= 3
    x, y = (int(v) for v in info["qr_pos"])
    side = int(info["qr_size"][0])
    img = _grey(out / "pay_qr-en.png")
    top = info["window"][1] - y - side  # window y is from the bottom, the PNG's from the top
    square = img[top:top + side, x:x + side]
    assert side % m == 0 and square.shape == (side, side)
    assert set(square.flatten().tolist()) == {0, 255}  # no grey: nothing was interpolated
    cells = square.reshape(side // m, m, side // m, m)
    assert (cells.min(axis=(1, 3)) == cells.max(axis=(1, 3))).all()  # one colour per module
    quiet = 4 * m  # the quiet zone is white all round
    assert square[:quiet].min() == 255 and square[-quiet:].min() == 255
    assert square[:, :quiet].min() == 255 and square[:, -quiet:].min() == 255


def test_the_code_is_gone_once_expired(shown):
    out, report = shown
    info = report["expired"]
    assert info["expired"] and info["countdown"] == "This code has expired."
    assert info["title"] == ""  # no "scan this code" over an empty space
    assert info["module_px"] == 0
    assert _scan(_grey(out / "pay_qr-expired.png")) == []
