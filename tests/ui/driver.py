"""Drive a real UI process: Xvfb, ``kiosk ui`` with its test control socket, and a client.

The UI runs in its own process (Kivy allows one App per process) on an Xvfb
display; the test talks to it over the Unix socket named by KIOSK_UI_TESTCTL
(see kiosk/sim/ui_testctl.py): taps go through Kivy's own event loop.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.ui.xvfb import start_xvfb
from tests.harness import REPO, stop_process

#: the languages a whole-flow UI test runs in: Chinese opt-in (KIOSK_SOAK_TESTS=1) for the
#: default suite's 15 minutes (its screens are checked by the catalog and layout tests)
LIVE_LOCALES = ["en", pytest.param("zh_Hans", marks=pytest.mark.skipif(
    os.environ.get("KIOSK_SOAK_TESTS") != "1", reason="this flow in zh: KIOSK_SOAK_TESTS=1")),
    "ko"]

SHOTS_ROOT = REPO / "var" / "ui-screenshots"


class Xvfb:
    """A private X server; ``display`` is ":N"."""

    def __init__(self, width: int = 1280, height: int = 1024) -> None:
        self.proc, self.display = start_xvfb(width, height)

    def stop(self) -> None:
        stop_process(self.proc, 10)


class UIError(AssertionError):
    pass


class UIProcess:
    """``kiosk ui --windowed`` under Xvfb with the test control channel."""

    def __init__(self, env: dict[str, str], display: str, workdir: Path,
                 size: str = "1280x800", args: tuple[str, ...] = ()) -> None:
        self.sock_path = str(workdir / f"ui-{time.monotonic_ns()}.sock")
        self.log_path = workdir / "ui.log"
        self.env = dict(env, DISPLAY=display, KIOSK_UI_TESTCTL=self.sock_path)
        self.size = size
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.fh = None

    def start(self, timeout: float = 60) -> UIProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "ui", "--windowed", "--size", self.size,
             *self.args], env=self.env, cwd=REPO, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise UIError(f"UI exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(self.sock_path)
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise UIError(f"UI test control never came up:\n{self.log()[-3000:]}") from None
                time.sleep(0.05)
        self.sock = sock
        self.fh = sock.makefile("rwb")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def call(self, op: str, **fields: object) -> dict:
        assert self.fh is not None, "UI not started"
        self.fh.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        self.fh.flush()
        line = self.fh.readline()
        if not line:
            raise UIError(f"UI closed the control channel:\n{self.log()[-3000:]}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise UIError(f"{op} {fields}: {reply.get('error')}")
        return reply

    def status(self) -> dict:
        return self.call("status")

    def wait(self, predicate: Callable[[dict], bool], what: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if predicate(st):
                return st
            if time.monotonic() > deadline:
                raise UIError(f"UI never reached {what}; last status {st}")
            time.sleep(0.05)

    def wait_screen(self, screen: str, timeout: float = 20, **more: object) -> dict:
        return self.wait(lambda st: st["screen"] == screen
                         and all(st.get(k) == v for k, v in more.items()),
                         f"screen {screen} {more}", timeout)

    def sync(self, state: dict, timeout: float = 20) -> dict:
        """Wait until the UI shows this state message (or a later one) from the core."""
        return self.wait(lambda st: (st.get("seq") or 0) >= state["seq"] and st["online"],
                         f"state seq {state['seq']}", timeout)

    def tap(self, tid: str) -> None:
        self.call("tap", tid=tid)

    def type(self, tid: str, text: str, enter: bool = True) -> None:
        self.call("type", tid=tid, text=text, enter=enter)

    def texts(self) -> list[dict]:
        return self.call("texts")["texts"]

    def screenshot(self, path: Path, part: str = "kiosk") -> dict:
        return self.call("screenshot", path=str(path), part=part)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        for closer in (self.fh, self.sock):
            try:
                if closer is not None:
                    closer.close()
            except OSError:
                pass
        self.fh = self.sock = None

    def stop(self) -> None:
        self._close()
        stop_process(self.proc)
