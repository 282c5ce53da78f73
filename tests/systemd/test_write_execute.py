"""What the units' ``MemoryDenyWriteExecute=`` choices rest on, measured on the real code.

systemd's ``MemoryDenyWriteExecute=yes`` refuses memory that is writable and executable.
Linux 6.3 and later offer the same rule to a process itself, ``prctl(PR_SET_MDWE,
PR_MDWE_REFUSE_EXEC_GAIN)`` (what systemd uses for the setting where the kernel has it).
A ``sitecustomize.py`` on ``PYTHONPATH`` turns it on before anything is imported, so the
real service processes run under it here: kiosk-core and kiosk-scanner selling from a
video, kiosk-gpio reaching READY=1, kiosk-fault closing the lane. For the two units left
without it the reason is measured too: the voice service's microphone callback (a cffi
callback, as sounddevice makes it) cannot be made, and the UI on Mesa's llvmpipe dies
before its first frame.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from drivers.scanner.synth import Placement, Presentation, write_session
from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics
from tests.harness import REPO
from tests.integration.flow import to_receipt
from tests.systemd.notify_listener import NotifyListener
from tests.systemd.test_units import read_unit

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
MARK = "kiosk-test: write-xor-execute on"
SITECUSTOMIZE = textwrap.dedent(f"""\
    import ctypes, sys
    if ctypes.CDLL(None, use_errno=True).prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN},
                                               0, 0, 0) != 0:
        raise SystemExit("PR_SET_MDWE refused: errno %d" % ctypes.get_errno())
    print({MARK!r}, file=sys.stderr, flush=True)
    """)
#: the units that set MemoryDenyWriteExecute=yes; each is run under it below
DENIED = {"kiosk-core.service", "kiosk-scanner.service", "kiosk-gpio.service",
          "kiosk-fault@.service", "kiosk-firstboot.service"}


def kernel_has_mdwe() -> bool:
    """PR_SET_MDWE in a throwaway child (it cannot be undone in a process)."""
    done = subprocess.run([sys.executable, "-c", SITECUSTOMIZE], capture_output=True, text=True)
    return done.returncode == 0 and MARK in done.stderr


pytestmark = pytest.mark.skipif(not kernel_has_mdwe(),
                                reason="kernel without PR_SET_MDWE (Linux < 6.3)")


@pytest.fixture(scope="module")
def mdwe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mdwe")
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


def under_mdwe(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` with the write-xor-execute sitecustomize first on the path."""
    path = os.pathsep.join(p for p in (str(folder), str(REPO), env.get("PYTHONPATH")) if p)
    return dict(env, PYTHONPATH=path)


def test_the_measured_units_are_the_ones_that_deny_write_execute():
    """This file measures every unit with the setting, and the two without it (below)."""
    names = [p.name for p in (REPO / "systemd").glob("*.service")]
    have = {n for n in names
            if read_unit(n)["Service"].get("MemoryDenyWriteExecute") == ["yes"]}
    assert have == DENIED
    for name in set(names) - DENIED:
        assert "no MemoryDenyWriteExecute=" in (REPO / "systemd" / name).read_text(), name


@pytest.mark.integration
def test_core_and_scanner_sell_under_write_xor_execute(start_core, shopper, lane_env,
                                                       tmp_path, mdwe_dir):
    """The real kiosk-core (journal, catalog, receipts, payment) and kiosk-scanner
    (OpenCV capture, zxing-cpp and zbar) under the rule: a basket from a video, paid."""
    core = start_core(PYTHONPATH=under_mdwe(lane_env, mdwe_dir)["PYTHONPATH"])
    shopper.wait_online()
    assert MARK in core.log()
    video = tmp_path / "basket.avi"
    write_session(video, [Presentation(name, hold=10, gap=28, placement=Placement(angle=a))
                          for name, a in (("ean13_ramyun", 5), ("upca_cupnoodle", 0))],
                  (640, 480), seed=7)
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "scanner", "--source", str(video),
                           "--pace", "lockstep"], env=under_mdwe(lane_env, mdwe_dir), cwd=REPO,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert MARK in done.stderr
    shopper.wait_state(lambda s: sum(ln["qty"] for ln in s["lines"]) == 2, timeout=30)
    shopper.send("checkout")
    shopper.wait_state(lambda s: s["state"] == "payment")
    shopper.send("pay", method="card")
    final = to_receipt(shopper, timeout=60)  # the receipt printed and kept under the rule
    assert sum(ln["qty"] for ln in final["lines"]) == 2
    assert core.proc is not None and core.proc.poll() is None


@pytest.mark.integration
def test_gpio_is_ready_under_write_xor_execute(lane_env, mdwe_dir):
    """`kiosk gpio` (gpiozero's mock pins here; lgpio on the device) claims its pins,
    connects and says READY=1 under the rule."""
    with NotifyListener() as notify:
        env = dict(under_mdwe(lane_env, mdwe_dir), NOTIFY_SOCKET=notify.address,
                   KIOSK__GPIO__PIN_FACTORY="mock", GPIOZERO_PIN_FACTORY="mock")
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "gpio"], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            notify.wait_for("READY=1", timeout=60)  # TimeoutError if it never comes
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert MARK in err


@pytest.mark.integration
def test_fault_closes_the_lane_under_write_xor_execute(lane_env, broker_port, mdwe_dir):
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    done = subprocess.run([sys.executable, str(REPO / "systemd" / "kiosk-fault"),
                           "kiosk-ui.service"], env=under_mdwe(lane_env, mdwe_dir), cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert MARK in done.stderr
    got: list[dict] = []
    seen = threading.Event()

    def on_status(_topic: str, payload: bytes) -> None:
        got.append(json.loads(payload))
        seen.set()

    client = BusClient("127.0.0.1", broker_port, f"test-mdwe-fault-{lane}")
    client.subscribe(Topics(lane).core_status, on_status)
    assert client.start(wait_s=10)
    try:
        assert seen.wait(10), "no retained core status"
    finally:
        client.stop()
    assert got[-1]["online"] is False and got[-1]["failed_unit"] == "kiosk-ui.service"


def test_voice_microphone_callback_needs_write_execute(mdwe_dir):
    """Why kiosk-voice has no MemoryDenyWriteExecute=: sounddevice hands PortAudio a cffi
    callback for the microphone stream, and cffi cannot make one under the rule."""
    probe = ("import sounddevice\n"
             "cb = sounddevice._ffi.callback('PaStreamCallback', error=-1)(lambda *a: 0)\n"
             "print('callback made')\n")
    free = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert free.returncode == 0 and "callback made" in free.stdout, free.stderr
    ruled = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env=under_mdwe(dict(os.environ), mdwe_dir), timeout=60)
    assert MARK in ruled.stderr
    assert ruled.returncode != 0 and "Cannot allocate write+execute memory" in ruled.stderr


@pytest.mark.ui
def test_ui_on_llvmpipe_needs_write_execute(mdwe_dir, tmp_path):
    """Why kiosk-ui has no MemoryDenyWriteExecute=: Kivy's OpenGL on Mesa's llvmpipe
    (software rendering: JIT-compiled shaders) draws its first frame without the rule and
    dies before it with the rule."""
    from kiosk.ui.xvfb import XvfbError, start_xvfb

    try:
        xvfb, display = start_xvfb()
    except XvfbError as exc:
        pytest.skip(str(exc))
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    base.update(DISPLAY=display, KIOSK__PATHS__STATE_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    try:
        outcomes = {}
        for name, env in (("free", base), ("ruled", under_mdwe(base, mdwe_dir))):
            with NotifyListener() as notify:
                proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ui", "--windowed"],
                                        env=dict(env, NOTIFY_SOCKET=notify.address), cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
                ready = _ready_or_exit(notify, proc, timeout=90)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
                outcomes[name] = (ready, proc.returncode, err)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert outcomes["free"][0], outcomes["free"][2][-2000:]
    ready, code, err = outcomes["ruled"]
    assert MARK in err
    assert not ready and code not in (0, None), (code, err[-2000:])


def _ready_or_exit(notify: NotifyListener, proc: subprocess.Popen, timeout: float) -> bool:
    """True once READY=1 arrives; False as soon as the process has exited without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = notify.recv(0.5)
        if msg is not None and "READY=1" in msg.split("\n"):
            return True
        if msg is None and proc.poll() is not None:
            return False
    return False


def test_mdwe_is_really_on_in_the_children(mdwe_dir):
    """The sitecustomize does what it says: an executable+writable mapping is refused."""
    probe = ("import mmap, sys\n"
             "try:\n"
             "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
             "except OSError as exc:\n"
             "    sys.exit(f'refused: {exc.errno}')\n"
             "print('mapped')\n")
    assert "mapped" in subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                      text=True, timeout=30).stdout
    ruled = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env=under_mdwe(dict(os.environ), mdwe_dir), timeout=30)
    assert "refused:" in ruled.stderr and "mapped" not in ruled.stdout
