"""The attendant station end to end: headless Chromium, the real station, a real store broker
over TLS and two real lanes (each its own mosquitto bridged to the store broker, its own
kiosk-core process).

* An age check on lane A1 shows on the page with its wait; the attendant signs in with the
  staff PIN and approves it remotely; the shopper then pays and the sale completes. The
  lane's journal holds the approval with the attendant's id.
* That very command sent again (replayed), a forged one (tampered, or certified by another
  key) and a genuine one for lane A2 delivered to A1 are refused by A1 and journaled with
  their reason; A1's store credential cannot publish for A2 or command it (the store
  broker's ACL answers "not authorized").
* An attendant takes a lane out of service and puts it back.
* A lane's new alert rings the chime once and is highlighted; none rings for the alerts on
  the lanes when the page opens, for one that stays, or with sound off.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bus.acl import REMOTE_SENDER, STATION_USER, lane_user
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, encode
from kiosk.journal.store import Journal
from kiosk.security.remote import open_session
from tests.fixtures.sample_items import MILK, SOJU
from tests.harness import REPO, bus_login
from tests.integration.flow import to_receipt

WAIT_S = 15


def journal(rig) -> list[dict]:
    j = Journal(Path(rig.env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite")
    try:
        return [e.event() for e in j.entries()]
    finally:
        j.close()


def remote_events(rig) -> list[dict]:
    return [e for e in journal(rig) if e["type"] == "remote_command"]


def wait_css(driver, css: str, timeout: float = WAIT_S):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def click(driver, css: str, timeout: float = WAIT_S) -> None:
    """Click the element once it is there (found again if the page redrew it meanwhile)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def attempt(d) -> bool:
        found = d.find_elements("css selector", css)
        if not found:
            return False
        found[0].click()
        return True

    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
                  ).until(attempt)


def wait_text(driver, css: str, text: str, timeout: float = WAIT_S) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def open_page(driver, base: str, lang: str = "en") -> None:
    """The station page, signed in (the browser's session cookie outlives a test)."""
    driver.get(f"{base}/?lang={lang}")
    if driver.find_elements("css selector", "#pin"):
        sign_in(driver, base, "2468")
    wait_css(driver, "#signout")


def sign_in(driver, base: str, pin: str) -> None:
    from selenium.webdriver.common.by import By

    box = wait_css(driver, "#pin")
    box.clear()
    box.send_keys(pin)
    driver.find_element(By.ID, "signin-button").click()


class Captured:
    """The station's commands as a lane's own broker delivers them (read as kiosk-cli)."""

    def __init__(self, rig) -> None:
        self.payloads: queue.Queue[bytes] = queue.Queue()
        self.client = BusClient(bus_login(rig.port), f"capture-{rig.lane}")
        self.client.subscribe(Topics(rig.lane).command_from(REMOTE_SENDER),
                              lambda _t, p: self.payloads.put(p))
        assert self.client.start(wait_s=10)


def station_client(store) -> BusClient:
    client = BusClient(store.login(STATION_USER), f"attacker-{id(store)}")
    assert client.start(wait_s=10)
    return client


def publish_v5(login, topic: str, payload: bytes) -> int:
    """Publish at QoS 1 over MQTT 5 as ``login``: the broker's PUBACK reason code (0: taken,
    0x87: not authorized by its ACL)."""
    answered = threading.Event()
    code: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"v5-{id(answered)}",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(login.username, login.password)
    client.tls_set(ca_certs=login.cafile)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()

    def on_publish(_c, _u, _mid, reason_code, _props) -> None:
        code.append(reason_code.value)
        answered.set()

    client.on_publish = on_publish
    client.connect(login.host, login.port)
    client.loop_start()
    try:
        assert connected.wait(10)
        client.publish(topic, payload, qos=1)
        assert answered.wait(10), "no PUBACK"
        return code[0]
    finally:
        client.disconnect()
        client.loop_stop()


def test_remote_age_check_sale_and_refused_commands(browser, station, lanes, store):
    a1, a2 = lanes["A1"], lanes["A2"]
    captured = Captured(a1)
    # what the lanes journaled before this test (another test may have used them first)
    a1_before, a2_before = len(journal(a1)), len(remote_events(a2))
    browser.delete_all_cookies()
    browser.get(station.base + "/?lang=en")
    sign_in(browser, station.base, "1111")
    wait_text(browser, "#signin-msg", "Wrong PIN.")
    sign_in(browser, station.base, "2468")
    wait_css(browser, "#lane-A1")
    wait_css(browser, "#lane-A2[data-state=attract]")

    # the shopper on A1 scans an age-restricted item: the page shows the alert and its wait
    assert a1.shopper.send("scan", code=MILK)["ok"]
    assert a1.shopper.send("scan", code=SOJU)["ok"]
    st = a1.shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    wait_text(browser, "#lane-A1 .alert[data-type=age_restricted]", "Age check")
    wait_text(browser, "#lane-A1 .alert[data-type=age_restricted] .wait", "waiting")
    # 1.89 + 2.49, tax 0.04 (reduced 2.25 %) + 0.22 (standard 8.875 %)
    assert st["totals"]["total"] == 464
    wait_text(browser, "#lane-A1 .amount", "$4.64")  # as the lane shows it
    click(browser, "#lane-A1 button[data-action=approve_age]")
    st = a1.shopper.wait_state(lambda s: s["state"] == "shopping")
    assert [ln["age_status"] for ln in st["lines"]] == ["none", "approved"]
    wait_css(browser, "#lane-A1[data-state=shopping]:not(.alerting)")

    # the sale completes
    assert a1.shopper.send("checkout")["ok"]
    assert a1.shopper.send("pay", method="card")["ok"]
    assert to_receipt(a1.shopper)["payment"]["status"] == "approved"
    assert a1.shopper.send("done")["ok"]
    events = journal(a1)[a1_before:]
    approved = [e for e in events if e["type"] == "age_approved"]
    assert [e["staff_id"] for e in approved] == ["S100"]
    assert [(e["action"], e["staff_id"], e["ok"]) for e in events
            if e["type"] == "remote_command"] == \
        [("approve_age", "S100", True)]
    assert any(e["type"] == "auth_approved" for e in events)

    # replayed: the very payload the station sent, again, through the store broker
    original = captured.payloads.get(timeout=WAIT_S)
    attacker = station_client(store)
    attacker.publish(Topics("A1").command_from(REMOTE_SENDER), original).wait_for_publish(5)
    cmd_id = json.loads(original)["id"]
    # the lane's answer to the original is remembered: the replay's answer is a refusal
    result = a1.shopper.wait_result(cmd_id)
    assert (result["ok"], result["reason"]) == (False, "replayed")

    # forged: a tampered action, and a session certified by a key that is not the station's
    session = open_session(station.key, "S100", "Demo Supervisor")
    tampered = session.sign("A1", "close_lane")
    tampered["action"] = "cancel_basket"
    rogue = open_session(Ed25519PrivateKey.generate(), "S999", "Mallory").sign("A1",
                                                                              "close_lane")
    # a genuine command for lane A2, delivered to A1
    other_lane = session.sign("A2", "close_lane")
    for msg, reason in ((tampered, "bad_signature"), (rogue, "bad_certificate"),
                        (other_lane, "wrong_lane")):
        attacker.publish(Topics("A1").command_from(REMOTE_SENDER), encode(msg)).wait_for_publish(5)
        result = a1.shopper.wait_result(msg["id"])
        assert (result["ok"], result["reason"]) == (False, reason)
    attacker.stop()
    refused = [(e["reason"], e["staff_id"]) for e in journal(a1)[a1_before:]
               if e["type"] == "remote_command" and not e["ok"]]
    assert refused == [("replayed", "S100"), ("bad_signature", "S100"),
                       ("bad_certificate", ""), ("wrong_lane", "S100")]
    assert "lane" not in a1.shopper.state["faults"]
    assert len(remote_events(a2)) == a2_before  # nothing reached lane A2

    # A1's store credential speaks only for A1: A2's state and commands are not its to send
    a1_login = store.login(lane_user("A1"))
    forged_state = encode({"v": 1, "type": "state", "seq": 1, "state": "shopping"})
    assert publish_v5(a1_login, Topics("A2").state, forged_state) == 0x87
    assert publish_v5(a1_login, Topics("A2").command_from(REMOTE_SENDER),
                      encode(session.sign("A2", "close_lane"))) == 0x87
    assert publish_v5(a1_login, Topics("A1").command_from(REMOTE_SENDER),
                      encode(session.sign("A1", "close_lane"))) == 0x87
    assert publish_v5(a1_login, Topics("A1").state, forged_state) == 0  # its own: taken
    captured.client.stop()


def test_take_a_lane_out_of_service_and_back(browser, station, lanes):
    a2 = lanes["A2"]
    before = len(remote_events(a2))
    open_page(browser, station.base)
    click(browser, "#lane-A2 button[data-action=close_lane]")
    a2.shopper.wait_state(lambda s: s["state"] == "out_of_service")
    assert a2.shopper.send("scan", code=MILK)["reason"] == "not_allowed_now"
    click(browser, "#lane-A2 button[data-action=open_lane]")
    a2.shopper.wait_state(lambda s: s["state"] == "attract")
    assert [(e["action"], e["staff_id"]) for e in remote_events(a2)[before:]] == \
        [("close_lane", "S100"), ("open_lane", "S100")]

    # the lane's printer runs out of paper: the page names the device and the fault in words
    assert a2.shopper.send("device", device="printer", ok=False, detail="paper_out")["ok"]
    fault = "#lane-A2 .alert[data-type=device_fault]"
    wait_text(browser, fault + " .title", "Device fault")
    wait_text(browser, fault + " .detail", "Receipt printer: Out of paper")
    assert a2.shopper.send("device", device="printer", ok=True)["ok"]
    wait_css(browser, "#lane-A2[data-state=attract]:not(.alerting)")


ARTIFACTS = REPO / "var" / "test-artifacts" / "attendant"
AXE = REPO / "tests" / "wallet" / "ereceipt" / "vendor" / "axe-core" / "axe.min.js"
#: a string of each page that must be in the page's own language
LANGUAGE = {"en": "Age check", "zh_Hans": "年龄核验", "ko": "연령 확인"}
#: the soju line's name in each (from the catalog)
SOJU_NAME = {"en": "Jinro Chamisul Soju", "zh_Hans": "真露", "ko": "참이슬"}
#: the sound toggle, sound on: playing, or waiting for a tap on the page to start the audio
SOUND_ON = {"en": ("Sound on", "Tap for sound"), "zh_Hans": ("声音：开", "轻触以开启声音"),
            "ko": ("소리 켜짐", "소리를 켜려면 누르세요")}


def axe(driver) -> list[dict]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
           .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact}))))
           .catch(e => done([{id: 'axe-error', impact: 'critical'}]));""")


def test_each_language_then_void_a_line_clear_help_and_cancel_the_basket(browser, station,
                                                                         lanes):
    """The page in en, zh_Hans and ko (screenshots in var/test-artifacts/attendant/, axe-core:
    no serious or critical violation), then a line voided, a help call cleared and the basket
    cancelled remotely."""
    a1 = lanes["A1"]
    assert a1.shopper.send("scan", code=MILK)["ok"]
    assert a1.shopper.send("scan", code=SOJU)["ok"]
    a1.shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for lang, text in LANGUAGE.items():
        open_page(browser, station.base, lang)
        wait_text(browser, "#lane-A1 .alert[data-type=age_restricted]", text)
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        (ARTIFACTS / f"station-{lang}.png").write_bytes(base64.b64decode(shot["data"]))
        bad = [v for v in axe(browser) if v["impact"] in ("serious", "critical")]
        assert bad == [], (lang, bad)
        body = browser.find_element("css selector", "body").text
        assert SOJU_NAME[lang] in body
        assert browser.find_element("css selector", "#sound").text in SOUND_ON[lang]
        if lang != "en":
            assert "Age check" not in body and "Soju" not in body and "Sound" not in body
            # money as the lane shows it, a wait in the page's own unit
            assert "USD" not in body and "US$" in body
            total = browser.find_element("css selector", "#lane-A1 .total").text
            assert total == {"zh_Hans": "合计：US$4.64", "ko": "합계: US$4.64"}[lang], total
            wait = browser.find_element("css selector", "#lane-A1 .wait").text
            assert not wait.endswith(" s"), wait
    open_page(browser, station.base, "en")
    soju = max(ln["line_id"] for ln in a1.shopper.state["lines"])
    click(browser, f"#lane-A1 button[data-action=void_line][data-line='{soju}']")
    st = a1.shopper.wait_state(lambda s: s["state"] == "shopping")
    assert len(st["lines"]) == 1
    # a shopper's help call, cleared from the station
    assert a1.shopper.send("help")["ok"]
    a1.shopper.wait_state(lambda s: (s.get("attendant") or {}).get("reason") == "help")
    wait_text(browser, "#lane-A1 .alert[data-type=help]", "Help requested")
    click(browser, "#lane-A1 button[data-action=clear]")
    a1.shopper.wait_state(lambda s: s["state"] == "shopping" and not s.get("attendant"))
    click(browser, "#lane-A1[data-state=shopping] button[data-action=cancel_basket]")
    a1.shopper.wait_state(lambda s: s["state"] == "attract" and not s["lines"])
    events = journal(a1)
    cleared = [e for e in events if e["type"] == "attendant_cleared"][-1]
    assert cleared["staff_id"] == "S100"
    assert [e["by"] for e in events if e["type"] == "line_removed"][-1:] == ["S100"]
    voided = [e for e in events if e["type"] == "basket_voided"][-1]
    assert (voided["reason"], voided["staff_id"]) == ("staff", "S100")


def chimes(driver) -> int:
    return int(driver.find_element("css selector", "body").get_attribute("data-chimes"))


def test_a_new_alert_chimes_once_unless_sound_is_off(browser, station, lanes):
    """The chime (Web Audio, under the page's CSP) rings once for a lane's new alert, which is
    highlighted until its time is up; not for the alerts on the lanes when the page opens,
    not again while an alert stays, not with sound off (remembered across a reload).
    <body data-chimes> counts the chimes rung, data-audio is the AudioContext's state."""
    from selenium.webdriver.support.ui import WebDriverWait

    a1, a2 = lanes["A1"], lanes["A2"]
    printer = "#lane-A2 .alert[data-type=device_fault]"
    help_call = "#lane-A1 .alert[data-type=help]"
    # A2's printer is out of paper before the page opens: shown, not rung, not highlighted
    assert a2.shopper.send("device", device="printer", ok=False, detail="paper_out")["ok"]
    WebDriverWait(browser, WAIT_S).until(lambda _: any(
        a["type"] == "device_fault" for lane in station.board.lanes() for a in lane["alerts"]))
    open_page(browser, station.base)
    browser.get(station.base + "/?lang=en")  # signed in, opened without a tap on the page
    wait_css(browser, printer + ":not(.fresh)")
    assert chimes(browser) == 0
    # the browser holds the audio back until a tap: the toggle asks for one
    wait_text(browser, "#sound[data-sound=blocked]", "Tap for sound")
    click(browser, "#sound")
    wait_css(browser, "body[data-audio=running]")
    wait_text(browser, "#sound[data-sound=on]", "Sound on")

    # a shopper on A1 calls for help: one chime, the alert and its lane highlighted
    assert a1.shopper.send("help")["ok"]
    wait_css(browser, "#lane-A1.fresh .alert[data-type=help].fresh")
    assert chimes(browser) == 1
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    (ARTIFACTS / "station-new-alert.png").write_bytes(base64.b64decode(shot["data"]))

    # sound off: A2's printer runs out of paper again, a new alert, highlighted but silent
    click(browser, "#sound")
    wait_text(browser, "#sound[data-sound=off]", "Sound off")
    assert a2.shopper.send("device", device="printer", ok=True)["ok"]
    wait_css(browser, "#lane-A2:not(.alerting)")
    assert a2.shopper.send("device", device="printer", ok=False, detail="paper_out")["ok"]
    wait_css(browser, printer + ".fresh")
    assert chimes(browser) == 1

    # the help call stays on the page past its highlight: it did not ring again
    wait_css(browser, help_call + ":not(.fresh)")
    assert chimes(browser) == 1

    # the setting outlives a reload; turned back on for whoever opens the page next
    open_page(browser, station.base)
    wait_text(browser, "#sound[data-sound=off]", "Sound off")
    click(browser, "#sound")
    wait_text(browser, "#sound", "Sound on")  # the click let the audio start as well
    assert a2.shopper.send("device", device="printer", ok=True)["ok"]
    assert a1.shopper.send("cancel_help")["ok"]
    assert a1.shopper.send("cancel")["ok"]
    a1.shopper.wait_state(lambda s: s["state"] == "attract")
