"""The station page's guards, through Starlette's test client (no broker needed: the board is
never started): signed-out requests, another origin, a missing CSRF token, the PIN lockout."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kiosk.attendant.board import LaneBoard
from kiosk.attendant.web import COOKIE, Station, make_app
from kiosk.bus.credentials import BusLogin
from kiosk.security.remote import station_key

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client(config, tmp_path):
    board = LaneBoard(BusLogin("127.0.0.1", 1, "kiosk-attendant"))
    staff = config.staff.model_copy(update={"lockout_attempts": 2})
    station = Station(board, staff, station_key(tmp_path / "k", create=True),
                      tmp_path / "lockout.json")
    return TestClient(make_app(station))


def test_signed_out_and_cross_origin_requests_are_refused(client):
    assert client.get("/api/lanes").status_code == 401
    assert client.post("/api/command", json={"lane": "L1", "action": "clear"},
                       headers=ORIGIN).status_code == 401
    assert client.post("/api/signin", json={"pin": "2468"}).status_code == 403  # no Origin
    assert client.post("/api/signin", json={"pin": "2468"},
                       headers={"origin": "http://evil.example"}).status_code == 403
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    # the chime is made with Web Audio (static/chime.js): the page loads no media at all
    assert "default-src 'self'" in csp and "media-src 'none'" in csp and "unsafe" not in csp
    assert '"csrf": ""' in page.text  # signed out: the page offers the sign-in only


def test_the_page_speaks_the_browsers_language(client):
    for header, lang, title in (("ko-KR,ko;q=0.9", "ko", "직원"),
                                ("zh-CN,en;q=0.5", "zh-Hans", "服务员"),
                                ("de", "en", "Attendant station")):
        page = client.get("/", headers={"Accept-Language": header}).text
        assert f'<html lang="{lang}">' in page and title in page, header
    assert '<html lang="en">' in client.get("/?lang=en", headers={"Accept-Language": "ko"}).text


def test_sign_in_then_csrf_is_required(client):
    done = client.post("/api/signin", json={"pin": "2468"}, headers=ORIGIN)
    assert done.status_code == 200
    cookie = done.headers["set-cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/lanes").json()["lanes"] == []
    no_csrf = client.post("/api/command", json={"lane": "L1", "action": "clear"},
                          headers=ORIGIN)
    assert (no_csrf.status_code, no_csrf.json()["reason"]) == (403, "csrf")
    assert client.post("/api/signout", headers=ORIGIN).status_code == 200
    assert client.get("/api/lanes").status_code == 401


def test_wrong_pins_lock_the_sign_in(client):
    reasons = [client.post("/api/signin", json={"pin": "1111"}, headers=ORIGIN).json()["reason"]
               for _ in range(2)]
    assert reasons == ["wrong_pin", "locked"]
    # locked: even the right PIN is refused until the lockout ends
    assert client.post("/api/signin", json={"pin": "2468"},
                       headers=ORIGIN).json()["reason"] == "locked"


def test_the_setup_commands(tmp_path):
    """`kiosk attendant key`, `store-provision` and `bridge`: the files a store sets up."""
    from kiosk.bus.acl import store_acl_text
    from tests.harness import kiosk_cli, kiosk_env

    env = kiosk_env(tmp_path / "state", 1883, "L1")
    creds, conf = tmp_path / "creds", tmp_path / "bridge.conf"
    steps = [("key", "--key", str(tmp_path / "station.key"), "--public",
              str(tmp_path / "station.pub")),
             ("store-provision", "--lane", "L1", "--lane", "L2", "--credentials-dir",
              str(creds), "--passwd", str(tmp_path / "passwd"), "--acl", str(tmp_path / "acl")),
             ("bridge", "--lane", "L2", "--store-host", "10.0.0.5", "--cafile", "/etc/ca.crt",
              "--credentials-dir", str(creds), "-o", str(conf))]
    for step in steps:
        done = kiosk_cli(env, "attendant", *step)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "station.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "acl").read_text() == store_acl_text(["L1", "L2"])
    assert conf.stat().st_mode & 0o777 == 0o600
    text = conf.read_text()
    password = (creds / "lane-L2.password").read_text().strip()
    assert f"remote_username lane-L2\nremote_password {password}\n" in text
    assert "address 10.0.0.5:8883" in text and "topic kiosk/v1/L2/state out 1" in text


def test_amounts_and_waits_are_shown_in_the_pages_language(client):
    """A Korean or Chinese attendant sees money as their lane shows it ("US$4.64", not
    "4.64 USD") and a wait in their own unit (초, 秒), not an English "s"."""
    import json

    client.app.state.station.board._update("A1", online=True, state={
        "state": "shopping", "currency": {"code": "USD", "exponent": 2},
        "totals": {"total": 464},
        "lines": [{"line_id": 1, "names": {"en": "Milk"}, "qty": 1, "amount": 189}]})
    assert client.post("/api/signin", json={"pin": "2468"}, headers=ORIGIN).status_code == 200
    for lang, total, line, seconds in (("en", "$4.64", "$1.89", "5 s"),
                                       ("ko", "US$4.64", "US$1.89", "5초"),
                                       ("zh_Hans", "US$4.64", "US$1.89", "5 秒")):
        lane = client.get(f"/api/lanes?lang={lang}").json()["lanes"][0]
        assert (lane["total_text"], lane["lines"][0]["amount_text"]) == (total, line), lang
        page = client.get(f"/?lang={lang}").text
        data = json.loads(page.split('id="data">')[1].split("</script>")[0])
        assert data["texts"]["seconds"].replace("{seconds}", "5") == seconds, lang


#: refusals only an action the station never sends can meet (REMOTE_ACTIONS has no training)
NOT_FROM_THE_STATION = {"unknown_action", "training_already_on", "training_not_on",
                        "basket_not_empty"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "ko"])
def test_a_refused_command_is_explained_in_words(client, lang):
    """Every reason a lane refuses a station command for has a sentence in the page's
    language: the page shows it in "The lane refused the command: {reason}", not the code."""
    import inspect
    import json
    import re

    from kiosk.domain import checkout

    source = inspect.getsource(checkout.decide_remote) + inspect.getsource(
        checkout._staff_action)
    codes = {code for args in re.findall(r"Rejected\(([^)]*)\)", source)
             for code in re.findall(r'"(\w+)"', args)} - NOT_FROM_THE_STATION
    codes |= {"no_answer", "session_expired", "stale"}   # the board's wait, the signature
    assert {"not_allowed_now", "unknown_line", "age_check_open"} <= codes
    page = client.get(f"/?lang={lang}").text
    texts = json.loads(page.split('id="data">')[1].split("</script>")[0])["texts"]
    # one sentence around the reason: no Latin ": " glued after "收银通道拒绝了该指令："
    assert texts["refused"].count("{reason}") == 1
    for code in codes:
        words = texts.get(f"reason_{code}", "")
        assert words and code not in words, (lang, code)
        if lang != "en":
            assert not re.search(r"[A-Za-z]{3,}", words), (lang, code, words)


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "ko"])
def test_a_declined_payment_is_explained_in_the_pages_language(client, lang):
    """A lane whose payment was declined shows "Payment trouble" with what the shopper was
    told, in the page's language, not the acquirer's code ("do_not_honour")."""
    from kiosk.shopper_texts import DECLINE_MESSAGES
    from kiosk.ui.i18n import Translator

    client.app.state.station.board._update("A1", online=True, state={
        "state": "declined", "currency": {"code": "USD", "exponent": 2},
        "totals": {"total": 464}, "lines": [], "entered_at": 1000.0,
        "payment": {"method": "card", "status": "declined", "reason": "do_not_honour",
                    "message": "card_declined"}})
    assert client.post("/api/signin", json={"pin": "2468"}, headers=ORIGIN).status_code == 200
    lane = client.get(f"/api/lanes?lang={lang}").json()["lanes"][0]
    [alert] = [a for a in lane["alerts"] if a["type"] == "payment_trouble"]
    assert alert["detail_text"] == Translator(lang).tr(DECLINE_MESSAGES["card_declined"])
    assert "do_not_honour" not in alert["detail_text"]
    assert lang == "en" or not alert["detail_text"].isascii()


#: a lane's faults as its producers write them (kiosk.domain.checkout.device_events)
FAULTS = {"printer": "paper_out", "door": "open", "scanner": "",
          "scale_bagging": "no_response", "provisioning": "rejected: lane id S001/ missing"}
#: what the station says of each, in en / zh_Hans / ko
FAULT_TEXTS = {
    "en": {"printer": "Receipt printer: Out of paper", "door": "Door: Open",
           "scanner": "Scanner: Not working", "scale_bagging": "Bagging scale: Not answering",
           "provisioning": "Lane setup: Setup file rejected"},
    "zh_Hans": {"printer": "小票打印机：缺纸", "door": "机柜门：未关闭",
                "scanner": "扫码器：故障", "scale_bagging": "装袋区秤：无响应",
                "provisioning": "收银通道配置：配置文件被拒绝"},
    "ko": {"printer": "영수증 프린터: 용지 없음", "door": "기기 문: 열림",
           "scanner": "스캐너: 작동 안 함", "scale_bagging": "포장대 저울: 응답 없음",
           "provisioning": "계산대 설정: 설정 파일 거부됨"},
}


def _device_alerts(client, lang: str, faults: dict) -> dict:
    client.app.state.station.board._update("A1", online=True, state={
        "state": "out_of_service", "currency": {"code": "USD", "exponent": 2},
        "totals": {"total": 0}, "lines": [], "entered_at": 1000.0, "faults": faults})
    assert client.post("/api/signin", json={"pin": "2468"}, headers=ORIGIN).status_code == 200
    lane = client.get(f"/api/lanes?lang={lang}").json()["lanes"][0]
    return {a["device"]: a["detail_text"] for a in lane["alerts"]
            if a["type"] == "device_fault"}


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "ko"])
def test_a_device_fault_names_the_device_and_what_is_wrong_in_the_pages_language(
        client, lang):
    """A lane's device fault reads "Receipt printer: Out of paper" in the page's language,
    not "paper_out": the device by name, the fault in words, no code left over."""
    import re

    texts = _device_alerts(client, lang, FAULTS)
    assert texts == FAULT_TEXTS[lang]
    for device, text in texts.items():
        assert "_" not in text and "S001" not in text, (lang, device, text)  # no code
        if lang != "en":
            assert not re.search(r"[A-Za-z]{3,}", text), (lang, device, text)


#: an unknown device, a known one with an unknown code: the generic sentence
UNKNOWN_TEXTS = {"en": ("Other device: Not working", "Receipt printer: Not working"),
                 "zh_Hans": ("其他设备：故障", "小票打印机：故障"),
                 "ko": ("기타 장치: 작동 안 함", "영수증 프린터: 작동 안 함")}


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "ko"])
def test_an_unknown_device_or_fault_is_a_generic_sentence_not_its_code(client, lang):
    """A device or fault code the station has no words for (a newer lane's) still reads as a
    sentence in the page's language ("Other device: Not working"), never the raw code."""
    texts = _device_alerts(client, lang, {"toaster": "on_fire", "printer": "E_9000"})
    assert (texts["toaster"], texts["printer"]) == UNKNOWN_TEXTS[lang]


def test_every_device_and_fault_a_lane_reports_has_words():
    """Each device a lane names in its faults and each fault code its producers write (the
    printer's status and port faults, the door switch, a scale not answering, a rejected
    provisioning file) has words in kiosk.staff_texts, and so do the devices the back
    office's lane-health page lists (kiosk-metrics)."""
    import dataclasses
    import re
    import typing
    from pathlib import Path

    import kiosk_drivers.printer
    from kiosk_drivers.printer.status import PrinterStatus

    from kiosk.bus.messages import SCALE_STATUSES, Device
    from kiosk.config import KioskConfig
    from kiosk.printing import escpos
    from kiosk.services.gpio import door_command
    from kiosk.services.metrics import DEVICES
    from kiosk.staff_texts import DEVICE_NAMES, FAULT_SENTENCES

    scales = typing.get_args(typing.get_args(KioskConfig.model_fields["scale"].annotation)[0])
    devices = {*typing.get_args(Device.model_fields["device"].annotation), "provisioning",
               *(f"scale_{name}" for name in scales), *DEVICES}
    assert {"printer", "door", "scanner", "scale_bagging", "scale_produce"} <= devices
    assert devices <= DEVICE_NAMES.keys()

    status = {PrinterStatus(**{f.name: f.name != "online"}).fault
              for f in dataclasses.fields(PrinterStatus) if f.type in (bool, "bool")}
    status.add(PrinterStatus(online=False).fault)
    sources = [p.read_text() for p in Path(kiosk_drivers.printer.__file__).parent.glob("*.py")]
    port = {code for text in sources for code in re.findall(r'PrinterFault\(\s*"(\w+)"', text)}
    printed = set(re.findall(r'PrintResult\(False, path, "(\w+)"\)',
                             Path(escpos.__file__).read_text()))
    scale = {"no_response", "bad_frame"}   # kiosk.services.core: a scale not answering
    codes = (status | port | printed | scale | {door_command(True)["detail"], "rejected"})
    assert {"paper_out", "cover_open", "offline", "port_busy", "write_timeout",
            "encode_error"} <= codes and scale <= set(SCALE_STATUSES)
    assert codes - {""} <= FAULT_SENTENCES.keys()
