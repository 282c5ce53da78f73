"""The scanner service on a real mosquitto: scan commands, read events, feedback, status;
end to end with a real kiosk-core process filling a basket from a video; and sd_notify
(READY=1 once it really works, WATCHDOG=1 from its main loop) as a Type=notify unit."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from kiosk_drivers.scanner.config import ScannerConfig
from kiosk_drivers.scanner.sim.synth import SPECS, Placement, Presentation, write_session

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, parse_command
from kiosk.services.scanner import ScannerService
from tests.harness import REPO, bus_login, kiosk_env
from tests.systemd.notify_listener import NotifyListener

pytestmark = pytest.mark.integration


class Collector:
    """Everything on a lane: the operator tools' login (kiosk-cli) reads all but the
    scanner's commands, which only kiosk-core's login may read (a wallet code travels there)."""

    def __init__(self, port: int, lane: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.cond = threading.Condition()
        self.client = BusClient(bus_login(port), f"test-scanner-collector-{lane}")
        self.client.subscribe(f"kiosk/v1/{lane}/#", self._on)
        self.core = BusClient(bus_login(port, "kiosk-core"), f"test-scanner-cmds-{lane}")
        self.core.subscribe(Topics(lane).command_from("scanner"), self._on)
        assert self.client.start(wait_s=10) and self.core.start(wait_s=10)

    def stop(self) -> None:
        self.client.stop()
        self.core.stop()

    def _on(self, topic: str, payload: bytes) -> None:
        with self.cond:
            self.messages.append((topic, json.loads(payload)))
            self.cond.notify_all()

    def on(self, topic: str) -> list[dict]:
        with self.cond:
            return [m for t, m in self.messages if t == topic]

    def wait(self, topic: str, count: int, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len([1 for t, _ in self.messages if t == topic]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        return self.on(topic)


def test_service_publishes_scans_events_feedback_and_status(
        broker_port, session_video, session_run, vm_config, caplog):
    path, _ = session_video
    reads, _, _ = session_run
    lane = f"SCAN{os.getpid()}"
    topics = Topics(lane)
    col = Collector(broker_port, lane)
    caplog.set_level(logging.INFO)
    service = ScannerService(ScannerConfig(), lane, bus_login(broker_port, "kiosk-scanner"),
                             vm_config)
    try:
        assert service.run(threading.Event(), source=str(path), pace="lockstep") == 0
        events = col.wait(Topics(lane).scanner_events, len(reads))
        forwarded = [r for r in reads if r.info.forward and r.info.ok]
        commands = col.wait(topics.command_from("scanner"), len(forwarded))
        col.wait(Topics(lane).scanner_status, 2)
    finally:
        col.stop()

    # one event per confirmed read, in order, with its class
    assert [(e["class"], e["ok"]) for e in events] == [(r.info.cls, r.info.ok) for r in reads]
    # products, variable-measure codes and staff badges reach kiosk-core as scans, wallet
    # codes as wallet_code commands (with their kind), nothing else
    wallets = [r for r in reads if r.info.cls == "wallet"]
    scans = [c for c in commands if c["type"] == "scan"]
    assert [c["code"] for c in scans] == [r.info.code for r in forwarded]
    assert [(c["code"], c["kind"]) for c in commands if c["type"] == "wallet_code"] == [
        (r.info.code, r.info.detail["kind"]) for r in wallets]
    assert len(commands) == len(scans) + len(wallets) and len(wallets) == 4
    for c in commands:
        assert parse_command(json.dumps(c).encode(), 16384)["source"] == "scanner"
    assert {e["class"] for e in events if "cmd_id" in e} == {
        "product", "variable_measure", "staff_badge", "wallet"}
    pay = [e for e in events if e["class"] in ("payment", "coupon")]
    assert len(pay) == 3 and all("cmd_id" not in e for e in pay)
    assert not {e["code"] for e in pay} & {c["code"] for c in commands}
    # a wallet read's event says its kind, never its code
    for e in events:
        if e["class"] == "wallet":
            assert "code" not in e and e["masked"] == f"<{e['detail']['kind']} payment code>"
    # badges are credentials: masked in the event, never in clear
    for e in events:
        if e["class"] == "staff_badge":
            assert "code" not in e and e["masked"].startswith("*")
    # feedback from the scanner: good for wallet/payment/coupon reads, bad for rejected ones
    feedback = [m for m in col.on(topics.feedback) if m.get("source") == "scanner"]
    assert sorted(m["kind"] for m in feedback) == sorted(
        ["good_read"] * 7 + ["bad_read"] * sum(not r.info.ok for r in reads))
    # status: online while running, then offline with counters (retained)
    statuses = col.on(Topics(lane).scanner_status)
    assert statuses[0]["online"] is True and statuses[-1]["online"] is False
    assert statuses[-1]["engine"]["published"] == sum(r.info.ok for r in reads)
    # payment codes and coupons never appear in clear in the logs
    logged = caplog.text
    for spec in SPECS.values():
        if spec.cls in ("wallet", "payment", "coupon", "staff_badge"):
            assert spec.text not in logged
    assert "<wechat payment code>" in logged and "<emvco_cpm payment code>" in logged


def test_scanner_process_fills_a_basket_in_kiosk_core(core, shopper, lane_env, tmp_path):
    """`python -m kiosk.services.scanner` (what `kiosk scanner` runs) on a video, with a
    real kiosk-core: products and the weighed bananas land in the basket, the payment
    code does not."""
    shopper.wait_online()
    pres = [Presentation(name, hold=10, gap=28, placement=Placement(angle=a))
            for name, a in (("ean13_ramyun", 5), ("alipay_qr", -8), ("upca_cupnoodle", 0),
                            ("vm_bananas", 10), ("ean8", -4), ("ean13_ramyun", 0))]
    video = tmp_path / "basket.avi"
    write_session(video, pres, (640, 480), seed=7)
    done = subprocess.run([sys.executable, "-m", "kiosk.services.scanner", "--source",
                           str(video), "--pace", "lockstep"], env=lane_env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    st = shopper.wait_state(lambda s: sum(ln["qty"] for ln in s["lines"]) == 5, timeout=20)
    lines = {(ln["gtin"] or ln["plu"]): ln for ln in st["lines"]}
    assert lines["08801043444279"]["qty"] == 2  # scanned, taken away, scanned again
    assert {"00070666928444", "00000040045467"} <= set(lines)
    bananas = next(ln for ln in st["lines"] if ln["plu"] == "04011")
    assert bananas["weight_g"] == 1200
    assert "281234567890123456" not in done.stderr
    assert "<alipay payment code>" in done.stderr


def test_scanner_process_ready_then_pings_from_its_main_loop(broker_port, session_video,
                                                             tmp_path):
    """The real `kiosk scanner` on a looping video with $NOTIFY_SOCKET: READY=1 once the
    bus is connected and frames arrive, then WATCHDOG=1 pings that stop while the process
    is stopped (a hung main loop) and resume after SIGCONT."""
    path, _ = session_video
    env = kiosk_env(tmp_path / "kiosk-state", broker_port, f"SN{os.getpid()}")
    with NotifyListener(abstract=True) as listener, \
            (tmp_path / "scanner.log").open("wb") as log:
        env.update(NOTIFY_SOCKET=listener.address, WATCHDOG_USEC="1000000")
        env.pop("WATCHDOG_PID", None)
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "scanner", "--source",
                                 str(path), "--loop"], env=env, cwd=REPO, stdout=log,
                                stderr=log)

        def output() -> str:
            return (tmp_path / "scanner.log").read_text(errors="replace")[-3000:]

        try:
            seen = listener.wait_for("READY=1", timeout=60)
            ready = next(m for m in seen if "READY=1" in m.split("\n"))
            assert f"STATUS=bus connected, camera {path} delivering frames" in ready, output()
            listener.wait_for("WATCHDOG=1", timeout=10, count=3)
            proc.send_signal(signal.SIGSTOP)  # a hung main loop
            try:
                time.sleep(0.6)  # a datagram sent just before the stop may still be queued
                listener.drain()
                assert listener.recv(2.0) is None, "a stopped scanner kept pinging"
            finally:
                proc.send_signal(signal.SIGCONT)
            listener.wait_for("WATCHDOG=1", timeout=10, count=2)  # the loop turns again
            assert proc.poll() is None, output()
        finally:
            proc.terminate()
            try:
                code = proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(5)
        assert code == 0, output()
        assert sum("READY=1" in m.split("\n") for _, m in listener.received) == 1


def test_wedge_ready_only_once_the_device_is_grabbed(broker_port, vm_config, monkeypatch):
    """Wedge backend: ticks from the loop that runs `run` while the device is missing, and
    READY (once) only after the device is open and grabbed with the bus connected."""
    evdev = pytest.importorskip("evdev")
    present, grabbed = threading.Event(), threading.Event()
    rfd, wfd = os.pipe()

    class FakeDevice:  # no /dev/uinput here: evdev.InputDevice on a pipe that stays quiet
        name = "Fake HID scanner"

        def __init__(self, path: str) -> None:
            if not present.is_set():
                raise OSError(errno.ENOENT, "No such file or directory", path)
            self.fd = rfd

        def grab(self) -> None:
            grabbed.set()

        def ungrab(self) -> None:
            pass

        def read(self) -> list:
            os.read(rfd, 64)
            return []

        def close(self) -> None:
            pass

    monkeypatch.setattr(evdev, "InputDevice", FakeDevice)
    cfg = ScannerConfig.model_validate({"backend": "wedge", "camera": {"reopen_s": 0.5},
                                        "wedge": {"device": "/dev/input/fake-scanner"}})
    service = ScannerService(cfg, f"WEDGE{os.getpid()}", bus_login(broker_port, "kiosk-scanner"),
                             vm_config)
    stop, ready, ticks = threading.Event(), [], []
    runner = threading.Thread(target=service.run, args=(stop,), kwargs={
        "on_ready": lambda status: ready.append((status, grabbed.is_set())),
        "on_tick": lambda: ticks.append(threading.get_ident())})
    runner.start()

    def wait_until(cond, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while not cond() and time.monotonic() < deadline:
            time.sleep(0.05)
        return cond()

    try:
        assert wait_until(lambda: len(ticks) >= 4)  # ticking through the reopen waits
        assert ready == [] and not grabbed.is_set()
        present.set()
        assert wait_until(lambda: ready)
        n = len(ticks)
        assert wait_until(lambda: len(ticks) >= n + 3)  # and from the evdev loop
    finally:
        stop.set()
        runner.join(15)
        os.close(rfd)
        os.close(wfd)
    assert not runner.is_alive()
    assert ready == [("bus connected, wedge /dev/input/fake-scanner grabbed", True)]
    assert set(ticks) == {runner.ident}  # never from a helper thread


def test_a_gs1_weight_code_goes_to_the_core_with_its_weight(broker_port, vm_config, tmp_path):
    """A GS1-128 with a net weight (3103), which both decoders read (zxing-cpp bracketed,
    zbar as raw digits with a GS): confirmed once, and sent to kiosk-core as its HRI (which
    prices it: tests/gs1), never as its bare GTIN without the weight."""
    lane = f"SCANW{os.getpid()}"
    topics = Topics(lane)
    video = tmp_path / "weight.avi"
    write_session(video, [Presentation("gs1_128_weight", hold=10, gap=20)], (640, 480), seed=5)
    col = Collector(broker_port, lane)
    service = ScannerService(ScannerConfig(), lane, bus_login(broker_port, "kiosk-scanner"),
                             vm_config)
    try:
        assert service.run(threading.Event(), source=str(video), pace="lockstep") == 0
        scans = col.wait(topics.command_from("scanner"), 1)
        events = col.wait(Topics(lane).scanner_events, 1)
    finally:
        col.stop()
    assert [(e["class"], e["ok"], e["code"]) for e in events] == [
        ("variable_measure", True, SPECS["gs1_128_weight"].text)]
    assert [(m["type"], m["code"]) for m in scans] == [
        ("scan", "(01)06907992910659(10)L7(3103)001234")]
