"""The dashboard's lane-health page on the real Prometheus (Debian ``prometheus``) scraping a
real lane (kiosk-core and its kiosk-metrics exporter, tests/metrics/prom.py), with the shipped
rules.

One test, in steps (a Prometheus server is slow to start: one for all of them): the store's
manager sees the lane up, with its version and healthy devices; the printer runs out of
paper on the lane and the page shows it, with the alert the rule fired (also in Korean, and
in the CSV); the chain admin sees the lane in the chain view, the other store's manager gets
403 there and does not see it in their own store; the exporter dies and the lane reads "not
answering" under its store still; Prometheus stops and the page still answers 200, saying
so in the manager's language. A back office with no Prometheus set says that instead, and
one whose Prometheus takes the connection but never answers says so after its short timeout.
With ``KIOSK_BENCH_TESTS=1`` (and Debian chromium + chromium-driver) the page with the fault
is also opened in headless Chromium, in each language at desktop and tablet size (uvicorn,
as tests/backoffice/web/test_browser.py does), photographed into var/test-artifacts/dashboard/
and checked with axe-core (no serious or critical violation) and for overflow.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
from html import unescape

import pytest
from starlette.testclient import TestClient

from kiosk.backoffice.app import create_app, listen_socket
from kiosk.ops.version import package_version
from tests.backoffice.web.conftest import PASSWORD
from tests.harness import REPO
from tests.metrics.prom import Exporter, Prometheus
from tests.wallet.ereceipt.test_browser import (  # noqa: F401 - the fixtures, reused
    CHROMIUM,
    DRIVER,
    axe,
    browser,
    load,
    tls,
)

ARTIFACTS = REPO / "var" / "test-artifacts" / "dashboard"
SIZES = {"desktop": (1366, 900), "tablet": (820, 1180)}
BROWSE = os.environ.get("KIOSK_BENCH_TESTS") == "1" and bool(CHROMIUM and DRIVER)


def cells(html: str, table: str, lane: str) -> list[str]:
    """The shown cells of ``lane``'s row in the page's table ``table``."""
    assert f'<table id="{table}">' in html, f"no table {table}: {html[-1500:]}"
    body = html.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr>(.*?)</tr>", body):
        got = [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if lane in got:
            return got
    raise AssertionError(f"lane {lane} not in {table}: {body}")


def sign_in(client: TestClient, user: str) -> None:
    client.get("/dash/login")
    answer = client.post("/dash/login", data={"csrf": client.cookies["kb_csrf"],
                                              "username": user, "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text


def photograph(driver, db_url: str, prometheus_url: str, cookie: str, path: str) -> None:
    """``path`` in Chromium, signed in with ``cookie``: each language and size photographed
    and checked with axe-core and for overflow."""
    import uvicorn

    sock = listen_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(db_url, pool_max=2,
                                                      prometheus_url=prometheus_url),
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        load(driver, base + "/dash/login", script=True)
        driver.add_cookie({"name": "kb_session", "value": cookie, "path": "/dash"})
        for locale in ("en", "zh_Hans", "ko"):
            for size, (width, height) in SIZES.items():
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                    "width": width, "height": height, "deviceScaleFactor": 1,
                    "mobile": False})
                load(driver, f"{base}{path}?lang={locale}", script=True)
                name = f"fleet-live-{locale}-{size}"
                assert driver.find_elements("css selector", "table#alerts"), name
                shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True})
                (ARTIFACTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
                wide = driver.execute_script(
                    "return [document.documentElement.scrollWidth, window.innerWidth]")
                assert wide[0] <= wide[1], (name, wide)
                bad = [v for v in axe(driver) if v["impact"] in ("serious", "critical")]
                assert bad == [], f"{name}: {bad}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_a_prometheus_url_that_is_not_one_is_refused_at_start():
    bad = subprocess.run([sys.executable, "-m", "kiosk.cli", "backoffice", "--db",
                          "postgresql://nowhere/none", "serve", "--prometheus-url",
                          "127.0.0.1:9090"], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1, bad
    assert "must be http(s)://HOST[:PORT][/PATH], not '127.0.0.1:9090'" in bad.stderr


def test_lane_health_from_prometheus_faults_alerts_roles_and_prometheus_down(
        shop, lane_env, start_core, shopper, tmp_path, request: pytest.FixtureRequest):
    lane = lane_env["KIOSK__STORE__LANE_ID"]  # of store S001 (config/defaults.toml)
    page = "/dash/store/S001/fleet"
    with TestClient(shop.http.app) as unset:  # no --prometheus-url: said, not a 500
        sign_in(unset, "mgr1")
        answer = unset.get(page)
        assert answer.status_code == 200 and "--prometheus-url" in answer.text
        assert 'id="unavailable"' in answer.text
    # a Prometheus that takes the connection and never answers: the page waits its short
    # timeout (fleet.TIMEOUT_S), then says so
    with socket.create_server(("127.0.0.1", 0)) as hung, TestClient(create_app(
            shop.url, pool_max=2,
            prometheus_url=f"http://127.0.0.1:{hung.getsockname()[1]}")) as stuck:
        sign_in(stuck, "mgr1")
        answer = stuck.get(page + "?lang=ko")
        assert answer.status_code == 200 and 'id="unavailable"' in answer.text
        assert "연결할 수 없어" in answer.text

    start_core()
    exporter = Exporter(lane_env, tmp_path / "metrics.log").start()
    prom = Prometheus(tmp_path, [exporter.target])
    # with a user and password (a reverse proxy's basic auth): never shown on a page
    app = create_app(shop.url, pool_max=2,
                     prometheus_url=f"http://fleet:s3cret@127.0.0.1:{prom.port}/")
    try:
        with TestClient(app) as mgr1, TestClient(app) as mgr2, TestClient(app) as admin:
            for client, user in ((mgr1, "mgr1"), (mgr2, "mgr2"), (admin, "admin")):
                sign_in(client, user)
            shopper.wait_online()
            prom.wait("scraped the lane", lambda: prom.query("kiosk_core_online == 1"))

            html = mgr1.get(page).text
            row = cells(html, "lanes", lane)
            assert row[:4] == ["S001", lane, "Up", package_version()], row
            assert row[5:9] == ["All working", "Loaded", "None", "No sync"], row
            assert "ago" in row[4] and row[9].endswith("%"), row
            assert "No alert is firing." in html

            shopper.send("device", device="printer", ok=False, detail="paper_out")
            prom.wait("fired paper out", lambda: prom.active("KioskPrinterPaperOut",
                                                             {"instance": exporter.target}))
            html = mgr1.get(page).text
            row = cells(html, "lanes", lane)
            assert row[5:7] == ["Receipt printer: Not working", "Out of paper"], row
            assert cells(html, "alerts", lane)[2] == "Printer out of paper"
            korean = mgr1.get(page + "?lang=ko").text
            assert cells(korean, "alerts", lane)[2] == "프린터 용지 없음"
            assert cells(korean, "lanes", lane)[2] == "작동 중"
            csv = mgr1.get(page + ".csv?table=alerts")
            assert csv.status_code == 200 and f"S001,{lane},KioskPrinterPaperOut," in csv.text
            if BROWSE:
                photograph(request.getfixturevalue("browser"), shop.url,
                           f"http://127.0.0.1:{prom.port}", mgr1.cookies["kb_session"], page)

            assert cells(admin.get("/dash/chain/fleet").text, "lanes", lane)[0] == "S001"
            assert mgr2.get(page).status_code == 403
            assert mgr2.get("/dash/chain/fleet").status_code == 403
            own = mgr2.get("/dash/store/S002/fleet")
            assert own.status_code == 200 and lane not in own.text

            exporter.stop()  # the whole lane gone: listed still, under its store, as down
            prom.wait("lane down", lambda: prom.active("KioskLaneDown",
                                                       {"instance": exporter.target}))
            html = mgr1.get(page).text
            assert cells(html, "lanes", lane)[:3] == ["S001", lane, "Not answering"]
            assert "Lane down" in cells(html, "alerts", lane)

            prom.stop()
            for lang, said in (("en", "cannot be reached"), ("zh_Hans", "无法连接")):
                answer = mgr1.get(f"{page}?lang={lang}")
                assert answer.status_code == 200, answer.text
                assert 'id="unavailable"' in answer.text and said in answer.text, lang
                assert f"http://127.0.0.1:{prom.port}" in answer.text
                assert "s3cret" not in answer.text and "fleet:" not in answer.text
            assert mgr1.get(page + ".csv?table=lanes").status_code == 404
    finally:
        prom.stop()
        exporter.stop()


def test_alerts_of_other_jobs_are_left_out_and_prometheus_times_are_read():
    """A Prometheus shared with other jobs (a node exporter on the same host) fires alerts
    the lane page must not show; ``activeAt`` comes with nanoseconds."""
    from kiosk.backoffice.web.fleet import _fleet

    up = {"metric": {"__name__": "up", "job": "kiosk-lanes", "instance": "10.0.0.5:9464"},
          "value": [1000.0, "1"]}
    alerts = [{"state": "firing", "activeAt": "2026-12-07T02:30:01.123456789Z",
               "labels": {"alertname": "KioskPrinterPaperOut", "job": "kiosk-lanes",
                          "instance": "10.0.0.5:9464"}},
              {"state": "firing", "activeAt": "2026-12-07T02:00:00Z",
               "labels": {"alertname": "HostDown", "job": "node",
                          "instance": "10.0.0.5:9100"}},
              {"state": "pending", "activeAt": "2026-12-07T02:30:00Z",
               "labels": {"alertname": "KioskSyncLag", "job": "kiosk-lanes",
                          "instance": "10.0.0.5:9464"}}]
    fleet = _fleet([up], [], alerts)
    assert [h.instance for h in fleet.lanes] == ["10.0.0.5:9464"]
    (name, since), = fleet.lanes[0].alerts
    assert name == "KioskPrinterPaperOut"
    assert since is not None and since.isoformat() == "2026-12-07T02:30:01.123456+00:00"


def test_every_shipped_alert_has_a_name_on_the_page_in_every_language():
    import yaml

    from kiosk.backoffice.web.fleet import ALERTS
    from kiosk.i18n import messages
    from tests.metrics.prom import RULES

    shipped = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
               for rule in group["rules"] if "alert" in rule}
    assert shipped == set(ALERTS)  # else the page shows a rule's raw name
    for locale in ("zh_Hans", "ko"):
        table = messages(locale)
        assert [n for n in ALERTS.values() if not table.get(n)] == [], locale
