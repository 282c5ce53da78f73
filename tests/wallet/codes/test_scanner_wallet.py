"""The real scanner service reads wallet payment codes from rendered camera frames (a video
file is the camera) and hands each to kiosk-core as a ``wallet_code`` command, on the real
mosquitto with the lane's ACLs: kiosk-core's login receives every code; the UI's, voice's,
the GPIO's and the operator tools' logins, subscribed to everything they can, receive none
of them (they do receive what they are meant to: events, feedback); nothing is retained;
the code is in no log line, event or feedback."""

from __future__ import annotations

import logging
import os
import queue
import threading

import paho.mqtt.client as mqtt
import pytest
from kiosk_drivers.scanner.config import ScannerConfig
from kiosk_drivers.scanner.sim.synth import SPECS, Placement, Presentation, write_session

from kiosk.bus.messages import Topics, command, encode, parse_command
from kiosk.services.scanner import ScannerService
from tests.harness import bus_login
from tests.scanner.conftest import packaged_variable_measure

pytestmark = pytest.mark.integration

WALLETS = {"wechat_code128": "wechat", "alipay_qr": "alipay", "unionpay_code128": "unionpay",
           "emvco_cpm_qr": "emvco_cpm"}
CODES = [SPECS[name].text for name in WALLETS]


class Spy:
    """A raw MQTT client with one service's login, subscribed to all it may ask for."""

    def __init__(self, port: int, username: str, topics: tuple[str, ...]) -> None:
        login = bus_login(port, username)
        self.username = username
        self.got: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.seen: list[tuple[str, bytes, bool]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-spy-{username}-{os.getpid()}")
        self.client.username_pw_set(login.username, login.password)
        self.client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.got.put((m.topic, m.payload, m.retain))
        self.client.connect_async(login.host, login.port, keepalive=10)
        self.client.loop_start()
        assert self.subscribed.wait(10), username

    def wait_for(self, predicate, timeout: float = 20) -> tuple[str, bytes, bool]:
        while True:
            item = self.got.get(timeout=timeout)
            self.seen.append(item)
            if predicate(*item):
                return item

    def drain(self) -> list[tuple[str, bytes, bool]]:
        while True:
            try:
                self.seen.append(self.got.get_nowait())
            except queue.Empty:
                return self.seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def wallet_video(tmp_path_factory):
    """Each wallet code shown to the camera by a hand, then a product (a scan, as ever)."""
    pres = [Presentation(name, hold=10, gap=25, placement=Placement(angle=a))
            for name, a in (("wechat_code128", 4), ("alipay_qr", -7), ("unionpay_code128", 0),
                            ("emvco_cpm_qr", 9), ("ean13_ramyun", -3))]
    path = tmp_path_factory.mktemp("wallet-video") / "wallets.avi"
    write_session(path, pres, (640, 480), seed=11)
    return path


def test_wallet_codes_reach_kiosk_core_only(broker_port, wallet_video, caplog):
    lane = f"W{os.getpid()}"
    topics = Topics(lane)
    scanner_cmds = topics.command_from("scanner")
    everything = ("#", f"kiosk/v1/{lane}/#", scanner_cmds, topics.commands)
    core = Spy(broker_port, "kiosk-core", (topics.commands,))
    spies = [Spy(broker_port, u, everything)
             for u in ("kiosk-ui", "kiosk-voice", "kiosk-gpio", "kiosk-cli")]
    caplog.set_level(logging.DEBUG)
    service = ScannerService(ScannerConfig(), lane, bus_login(broker_port, "kiosk-scanner"),
                             packaged_variable_measure())
    try:
        assert service.run(threading.Event(), source=str(wallet_video), pace="lockstep") == 0
        # kiosk-core gets every wallet code, with its kind, then the product's scan
        cmds = []
        while len(cmds) < 5:
            topic, payload, retained = core.wait_for(lambda t, _p, _r: t == scanner_cmds)
            assert not retained
            cmds.append(parse_command(payload, 16384))
        # each spy is listening: it receives what its login may read
        ui, voice, gpio, cli = spies
        cli.wait_for(lambda t, p, _r: t == topics.scanner_events and b'"scan"' not in p
                     and b'"product"' in p)
        for spy in (ui, gpio):
            spy.wait_for(lambda t, _p, _r: t == topics.feedback)
        gpio_login = bus_login(broker_port, "kiosk-gpio")
        probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{lane}")
        probe.username_pw_set(gpio_login.username, gpio_login.password)
        probe.connect(gpio_login.host, gpio_login.port)
        probe.loop_start()
        probe.publish(topics.command_from("gpio"), encode(command("help", source="gpio")),
                      qos=1).wait_for_publish(5)
        voice.wait_for(lambda t, _p, _r: t == topics.command_from("gpio"))
        # nothing is retained on the scanner's command topic: a new subscriber gets only
        # a marker published after it subscribed
        late = Spy(broker_port, "kiosk-core", (scanner_cmds,))
        scanner_login = bus_login(broker_port, "kiosk-scanner")
        marker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"marker-{lane}")
        marker.username_pw_set(scanner_login.username, scanner_login.password)
        marker.connect(scanner_login.host, scanner_login.port)
        marker.loop_start()
        marker.publish(scanner_cmds, b"marker", qos=1).wait_for_publish(5)
        first = late.wait_for(lambda *_a: True)
        assert first == (scanner_cmds, b"marker", False)
        for client in (probe, marker):
            client.disconnect()
            client.loop_stop()
        late.close()
    finally:
        core.close()
        for spy in spies:
            spy.close()

    wallet_cmds = [c for c in cmds if c["type"] == "wallet_code"]
    assert [(c["code"], c["kind"], c["source"]) for c in wallet_cmds] == [
        (SPECS[name].text, kind, "scanner") for name, kind in WALLETS.items()]
    assert [c["type"] for c in cmds] == ["wallet_code"] * 4 + ["scan"]
    # no other login ever saw a code, in any message
    for spy in spies:
        for topic, payload, _ in spy.drain():
            assert topic != scanner_cmds, spy.username
            for code in CODES:
                assert code.encode() not in payload, (spy.username, topic)
    # the read events say the kind, never the code; the log lines likewise
    events = [p for t, p, _ in cli.seen if t == topics.scanner_events]
    assert sum(b'"class":"wallet"' in p for p in events) == 4
    for code in CODES:
        assert code not in caplog.text
    for kind in WALLETS.values():
        assert f"<{kind} payment code>" in caplog.text


def test_a_wedge_read_is_judged_by_shape_and_goes_as_wallet_code(broker_port, caplog):
    """A USB keyboard-wedge scanner does not say the symbology: a WeChat-shaped number it
    types is a wallet code (handed to kiosk-core only), a GTIN it types is a scan."""
    from kiosk_drivers.scanner.config import ClassifyConfig

    from kiosk.bus.client import BusClient
    from kiosk.services.scanner import ReadPublisher, classifier_for

    lane = f"WW{os.getpid()}"
    topics = Topics(lane)
    core = Spy(broker_port, "kiosk-core", (topics.commands,))
    cli = Spy(broker_port, "kiosk-cli", (f"kiosk/v1/{lane}/#",))
    bus = BusClient(bus_login(broker_port, "kiosk-scanner"), f"test-wedge-{lane}")
    assert bus.start(wait_s=10)
    classify = classifier_for(ScannerConfig(), packaged_variable_measure())
    publisher = ReadPublisher(bus, lane, ClassifyConfig())
    caplog.set_level(logging.DEBUG)
    try:
        for text in ("134567890123456789", "8801043444279"):
            publisher.publish(classify(text), symbology="wedge", t_first=0.0, backend="wedge")
        publisher.flush()
        got = [parse_command(core.wait_for(lambda *_a: True)[1], 16384) for _ in range(2)]
        cli.wait_for(lambda t, p, _r: t == topics.scanner_events and b'"product"' in p)
    finally:
        bus.stop()
        core.close()
        cli.close()
    assert [(c["type"], c["code"], c.get("kind")) for c in got] == [
        ("wallet_code", "134567890123456789", "wechat"), ("scan", "8801043444279", None)]
    assert not any(b"134567890123456789" in p for _t, p, _r in cli.drain())
    assert "134567890123456789" not in caplog.text


def test_sim_scan_presents_a_wallet_code_as_the_scanner_does(broker_port, lane_env):
    """`kiosk sim scan <code>` (the demo's simulated scanner): a wallet code goes to
    kiosk-core as the scanner's wallet_code (kiosk-cli may not send one), never in clear on
    any topic kiosk-cli reads; a barcode stays a scan."""
    from tests.harness import kiosk_cli

    topics = Topics(lane_env["KIOSK__STORE__LANE_ID"])
    core = Spy(broker_port, "kiosk-core", (topics.commands,))
    cli = Spy(broker_port, "kiosk-cli", ("#",))
    try:
        done = kiosk_cli(lane_env, "sim", "scan", "281234567890123456", "8801043444279")
        assert done.returncode == 0, done.stderr
        got = [core.wait_for(lambda *_a: True) for _ in range(2)]
    finally:
        core.close()
        cli.close()
    cmds = [(t, parse_command(p, 16384)) for t, p, _r in got]
    assert [(t, c["type"], c["code"], c.get("kind")) for t, c in cmds] == [
        (topics.command_from("scanner"), "wallet_code", "281234567890123456", "alipay"),
        (topics.command_from("cli"), "scan", "8801043444279", None)]
    assert not any(b"281234567890123456" in p for _t, p, _r in cli.drain())
    assert "281234567890123456" not in done.stdout + done.stderr
