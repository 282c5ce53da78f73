"""The e-receipt page in a real browser: headless Chromium at a phone's 390x844 viewport.

One Chromium session (Debian ``chromium`` + ``chromium-driver``, driven by selenium) for
every page: each is loaded with JavaScript off (the page needs none) and photographed
whole into var/test-artifacts/ereceipt/ (look at them: tofu, clipping, English on a
Chinese or Korean page; zxing-cpp reads the return barcode off it), then loaded again
with JavaScript on to measure it (nothing wider than the phone, CJK text drawn with a CJK
font) and to run axe-core (vendored, see
vendor/axe-core/README.md): no serious or critical violation. The pages: a receipt in
en, zh_Hans and ko, and the expired, tampered and unreadable links; and one receipt over
the service's own HTTPS (a test CA's certificate, the one key Chromium is told to trust:
``--ignore-certificate-errors-spki-list``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kiosk.printing.ereceipt import make_token
from kiosk.services.ereceipt import EReceiptServer, ServerTls
from tests.backoffice.sync.tls import Tls, make_tls
from tests.chromium import CHROMIUM, DRIVER, start_chromium
from tests.harness import REPO
from tests.wallet.ereceipt.conftest import TXNS

ARTIFACTS = REPO / "var" / "test-artifacts" / "ereceipt"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Debian chromium + chromium-driver not installed")


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("ereceipt-tls"))


def spki_sha256(cert: Path) -> str:
    """The base64 SHA-256 of a certificate's public key, as Chromium pins it."""
    spki = x509.load_pem_x509_certificate(cert.read_bytes()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def browser(tls):
    pytest.importorskip("selenium.webdriver")
    driver = start_chromium(f"--ignore-certificate-errors-spki-list={spki_sha256(tls.cert)}")
    driver.set_script_timeout(30)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def load(driver, url: str, script: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": not script})
    driver.get(url)


def screenshot(driver, name: str) -> Path:
    """The whole page (beyond the viewport) as the phone shows it."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True})
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def read_code128(png: Path) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(png) as img:
        return [r.text for r in zxingcpp.read_barcodes(
            img.convert("L"), formats=zxingcpp.BarcodeFormat.Code128)]


def measure(driver) -> dict:
    return driver.execute_script("""
        const vw = window.innerWidth, out = [];
        for (const e of document.querySelectorAll('body *')) {
            const r = e.getBoundingClientRect();
            if (r.width && (r.left < -0.5 || r.right > vw + 0.5)) out.push(e.tagName);
            if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
                out.push('clipped ' + e.tagName);
        }
        return {vw: vw, scroll: document.documentElement.scrollWidth, outside: out,
                lang: document.documentElement.lang};""")


def fonts_of(driver, selector: str) -> set[str]:
    """The fonts Chromium drew a node's text with (CSS.getPlatformFontsForNode)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root,
                                                       "selector": selector})["nodeId"]
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"] for f in fonts if f["glyphCount"]}


def axe(driver) -> list[dict]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    assert driver.execute_script("return axe.version") == AXE_VERSION
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
           .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                 nodes: v.nodes.map(n => n.target.join(' '))}))))
           .catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]));""")


TEXTS = {"en": ["Receipt number", "Shin Ramyun 5-pack", "Total", "Visa"],
         "zh_Hans": ["小票号", "辛拉面 5连包", "合计", "退换货"],
         "ko": ["영수증 번호", "신라면 5입", "합계", "고객센터"]}


def test_receipt_and_link_error_pages_on_a_phone(served, browser):
    pages = {f"receipt-{lc}": (served.link(lc), lc, TEXTS[lc], 200) for lc in TEXTS}
    expired = make_token(served.key, TXNS["ko"], "ko", 1_000_000)
    tampered = served.link("zh_Hans").replace(TXNS["zh_Hans"], TXNS["en"])
    pages["expired-ko"] = (served.base + "/r/" + expired, "ko", ["만료"], 410)
    pages["tampered-zh_Hans"] = (tampered, "zh-Hans", ["链接无效"], 403)
    pages["unreadable"] = (served.base + "/r/nonsense", "en",
                           ["not valid", "无效", "유효하지"], 404)
    report: dict[str, dict] = {}
    for name, (url, lang, texts, _status) in pages.items():
        # 1. no JavaScript: the page as the shopper's phone shows it
        load(browser, url, script=False)
        body = browser.find_element("tag name", "body").text
        for text in texts:
            assert text in body, f"{name}: {text!r} not shown"
        if name.startswith("receipt-") and lang != "en":
            assert "Receipt number" not in body and "Items" not in body  # no English left
        shot = screenshot(browser, name)
        if name.startswith("receipt-"):      # the returns desk's scanner reads the barcode
            assert read_code128(shot) == [TXNS[name.removeprefix("receipt-")]], name
        # 2. JavaScript on, for the measurements and axe only
        load(browser, url, script=True)
        m = measure(browser)
        assert m["lang"] == lang.replace("_", "-")
        assert m["vw"] == 390 and m["scroll"] <= 390 and m["outside"] == [], (name, m)
        if lang in ("ko", "zh-Hans", "zh_Hans"):
            drawn = fonts_of(browser, "h1" if not name.startswith("receipt") else "th")
            assert any("CJK" in f for f in drawn), (name, drawn)
        violations = axe(browser)
        report[name] = {"screenshot": str(shot.relative_to(REPO)), "violations": violations}
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name}: {bad}"
    (ARTIFACTS / "axe-report.json").write_text(json.dumps(
        {"axe_version": AXE_VERSION, "viewport": PHONE, "pages": report}, indent=1,
        ensure_ascii=False))


def test_the_receipt_page_over_the_services_own_https(config, served, browser, tls):
    server = EReceiptServer(("127.0.0.1", 0), served.key, config.receipts_dir,
                            tls=ServerTls(tls.cert, tls.key))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        url = served.link("ko").replace(served.base,
                                        f"https://127.0.0.1:{server.server_address[1]}")
        load(browser, url, script=True)
        assert browser.execute_script("return [location.protocol, window.isSecureContext]"
                                      ) == ["https:", True]
        body = browser.find_element("tag name", "body").text
        assert all(text in body for text in TEXTS["ko"]), body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
