"""The dashboard in a real browser: headless Chromium (Debian ``chromium`` and
``chromium-driver``, selenium; the e-receipt test's browser fixture and vendored axe-core,
tests/wallet/ereceipt/) against ``kiosk backoffice serve``'s app on uvicorn, on the shop's
two weeks of sales (tests/backoffice/web/shop.py), signed in through the form as the chain
admin.

The default run opens one page (store S001's today, English, desktop: 1366x900): a smoke
test of the browser path, kept small for CI. ``KIOSK_BENCH_TESTS=1`` (the ``bench`` marker)
opens every page in en, zh_Hans and ko at desktop and tablet (820x1180) size, and times each
English desktop page (median of 5 loads, Navigation Timing) over its default range and over
the shop's whole 14 days, into report.json beside the screenshots.

Each page is photographed whole into var/test-artifacts/dashboard/ (look at them: clipped
labels, English left on a Chinese or Korean page). On each: the charts drew (SVG bars of
non-zero height), the figures shown are the ledger's (formatted as the page formats money),
no English page-furniture word is left in zh/ko, nothing is wider than the window, no card
number shows, and axe-core finds no serious or critical violation.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import statistics
import threading

import pytest

from kiosk.backoffice.app import create_app, listen_socket
from kiosk.backoffice.web.pages import LABELS, PAGES
from kiosk.backoffice.web.routes import CODES
from kiosk.domain.money import currency_for, format_money
from tests.backoffice.web.conftest import PASSWORD
from tests.backoffice.web.shop import DAY, DAYS, LANES
from tests.harness import REPO
from tests.wallet.ereceipt.test_browser import (  # noqa: F401 - the fixtures, reused
    AXE_VERSION,
    CHROMIUM,
    DRIVER,
    axe,
    browser,
    fonts_of,
    load,
    tls,
)

ARTIFACTS = REPO / "var" / "test-artifacts" / "dashboard"
SIZES = {"desktop": (1366, 900), "tablet": (820, 1180)}
LOCALES = ("en", "zh_Hans", "ko")
#: English words of the page furniture that must not be left on a zh/ko page
ENGLISH = [w for w in (*LABELS, *PAGES.values(), "Payment mix", "Takings", "Average basket",
                       "Mobile QR", "Card", *CODES.values(), "Best sellers", "Promotions",
                       "Given away", "Units sold", "Milk: 2 for 1", "Suggested order",
                       "On hand", "Safety stock")
           if w not in ("Back", "Show")]

#: (size, locale, page) of the full run: every page in every language at both sizes
VIEWS = list(itertools.product(SIZES, LOCALES, PAGES))

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Debian chromium + chromium-driver not installed")


@contextlib.contextmanager
def _serving(url: str):
    """``kiosk backoffice serve``'s app on uvicorn over the database at ``url``."""
    import uvicorn

    sock = listen_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(url, pool_max=4),
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def served(shop):
    with _serving(shop.url) as base:
        yield base, shop


def _size(driver, name: str) -> None:
    width, height = SIZES[name]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _shot(driver, name: str):
    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True})
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _load_ms(driver, url: str) -> float:
    driver.get(url)
    return driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        " return n.loadEventEnd - n.startTime;")


def _sign_in(browser, base: str, check: bool) -> None:  # noqa: F811
    """Through the form; ``check``: the Korean tablet log-in page photographed, axe-checked."""
    from selenium.webdriver.support.ui import WebDriverWait

    load(browser, base + "/dash/login?lang=ko", script=True)
    _size(browser, "tablet")
    assert "로그인" in browser.find_element("tag name", "body").text
    if check:
        _shot(browser, "login-ko-tablet")
        bad = [v for v in axe(browser) if v["impact"] in ("serious", "critical")]
        assert bad == [], f"login: {bad}"
    browser.find_element("id", "username").send_keys("admin")
    browser.find_element("id", "password").send_keys(PASSWORD)
    browser.find_element("css selector", "button[type=submit]").click()
    try:
        WebDriverWait(browser, 30).until(lambda d: "/dash/chain/today" in d.current_url)
    except Exception:
        raise AssertionError(f"not signed in: {browser.current_url}"
                             f" {browser.find_element('tag name', 'body').text}") from None


def _check(browser, base: str, led, size: str, locale: str, page: str) -> dict:  # noqa: F811
    """Open one page and check it (see the module's docstring); its report entry."""
    stores = {s for s in LANES.values() if s == "S001"}
    money = currency_for("USD")
    _size(browser, size)
    name = f"{page}-{locale}-{size}"
    url = f"{base}/dash/store/S001/{page}?day={DAY.isoformat()}&lang={locale}"
    load(browser, url, script=True)
    body = browser.find_element("tag name", "body").text
    html = browser.page_source
    assert browser.execute_script("return document.documentElement.lang") == \
        locale.replace("_", "-")
    if locale != "en":
        left = [w for w in ENGLISH if w in body]
        assert left == [], f"{name}: English left: {left}"
        drawn = fonts_of(browser, "h1")
        assert any("CJK" in f for f in drawn), (name, drawn)
    assert "******" not in html and "masked_pan" not in html
    wide = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], (name, wide)
    if page in ("today", "sales"):
        heights = browser.execute_script(
            "return [...document.querySelectorAll('svg.chart rect.bar')]"
            ".map(r => r.getBBox().height)")
        assert heights and sum(h > 0 for h in heights) >= 5, name
    if page == "today":
        shown = {e.get_attribute("data-key"): e.text for e in
                 browser.find_elements("css selector", ".kpis dd")}
        sales = led.total(led.sales, stores, {DAY})
        amount = led.total(led.amount, stores, {DAY})
        assert shown["amount"] == format_money(amount, money, locale), name
        assert shown["sales"] == str(sales)
        assert shown["average"] == format_money(
            (2 * amount + sales) // (2 * sales), money, locale)
    if page == "items":
        assert len(browser.find_elements("css selector", "#promotions tbody tr")) == 2, name
    if page == "forecast":  # the chosen item's forecast band and its sales drew
        band = browser.execute_script(
            "const b = document.querySelector('svg.chart polygon.band').getBBox();"
            " return [b.width, b.height, document.querySelectorAll('rect.sold').length]")
        assert band[0] > 0 and band[1] > 0 and band[2] > 0, (name, band)
    shot = _shot(browser, name)
    violations = axe(browser)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"
    return {"screenshot": str(shot.relative_to(REPO)), "violations": violations}


def test_one_page_in_chromium(served, browser):  # noqa: F811
    """The default run's smoke test: one page, one language, one size."""
    base, shop = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _sign_in(browser, base, check=False)
    _check(browser, base, shop.ledger, "desktop", "en", "today")


@pytest.mark.bench
def test_every_page_in_each_language_at_desktop_and_tablet_size(served, browser):  # noqa: F811
    base, shop = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _sign_in(browser, base, check=True)
    report: dict[str, dict] = {}
    for size, locale, page in VIEWS:
        report[f"{page}-{locale}-{size}"] = _check(browser, base, shop.ledger, size, locale,
                                                   page)
    times = {}
    for page in PAGES:
        url = f"{base}/dash/store/S001/{page}?lang=en&to={DAY.isoformat()}"
        first = (DAY - dt.timedelta(days=DAYS - 1)).isoformat()
        _size(browser, "desktop")
        times[page] = {
            "load_ms_median_of_5": statistics.median(_load_ms(browser, url) for _ in range(5)),
            f"load_ms_median_of_5_{DAYS}_days": statistics.median(
                _load_ms(browser, f"{url}&from={first}") for _ in range(5))}
    import psycopg

    with psycopg.connect(shop.url) as conn:
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    (ARTIFACTS / "report.json").write_text(json.dumps(
        {"axe_version": AXE_VERSION, "sizes": SIZES,
         "data": {"events": events, "days": DAYS, "lanes": len(LANES),
                  "sales": sum(shop.ledger.sales.values())},
         "load_times_en_desktop": times, "pages": report}, indent=1, ensure_ascii=False))


@pytest.mark.bench
def test_load_times_with_a_synthetic_year(backoffice_url, browser):  # noqa: F811
    """Each page's load time (median of 5, English, desktop) on a store's synthetic year
    (kiosk/sim/salesyear.py, ending on DAY), over its default range and the longest (92
    days): into year-report.json."""
    import psycopg

    from kiosk.backoffice.web.accounts import add_user
    from kiosk.sim.salesyear import generate, write_events

    year = generate(stores=1, items=200, days=365, start=DAY - dt.timedelta(days=364), seed=18)
    with psycopg.connect(backoffice_url) as conn:
        events = sum(write_events(conn, year).values())
        add_user(conn, "admin", PASSWORD, "chain_admin", None)
        conn.execute("ANALYZE")
        sales = conn.execute("SELECT count(*) FROM events WHERE type = 'auth_approved'"
                             " AND day > %s", (DAY - dt.timedelta(days=7),)).fetchone()[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    times = {}
    with _serving(backoffice_url) as base:
        _sign_in(browser, base, check=False)
        _size(browser, "desktop")
        for page in PAGES:
            url = f"{base}/dash/store/S001/{page}?lang=en&to={DAY.isoformat()}"
            longest = (DAY - dt.timedelta(days=91)).isoformat()
            load(browser, url, script=True)
            assert "S001" in browser.find_element("tag name", "body").text
            times[page] = {
                "load_ms_median_of_5": statistics.median(
                    _load_ms(browser, url) for _ in range(5)),
                "load_ms_median_of_5_92_days": statistics.median(
                    _load_ms(browser, f"{url}&from={longest}") for _ in range(5))}
    (ARTIFACTS / "year-report.json").write_text(json.dumps(
        {"data": {"events": events, "days": 365, "stores": 1, "items": 200,
                  "sales_last_7_days": sales},
         "load_times_en_desktop": times}, indent=1))
