"""Test harness: a real mosquitto, a real kiosk-core process, and a bus driver.

Used by integration tests and by ``kiosk bench core``'s sibling code in tests;
nothing here mocks paho, mosquitto or SQLite.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.bus.broker import credentials_dir, private_login, start_private_broker_on_free_port
from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import MessageError, Topics, command, parse_state
from kiosk.catalog import SAMPLE_CATALOG

REPO = Path(__file__).resolve().parent.parent
SAMPLE_CSV = SAMPLE_CATALOG


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], None]) -> Path:
    """A folder ``build(folder)`` filled once per test run, shared by the xdist workers
    (the run's base temp folder is their common parent) and read-only afterwards: the
    first worker builds under an exclusive lock, the others wait for it and reuse it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # <run>/popen-gwN -> <run>
    folder = base / f"once-{name}"
    with (base / f"once-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


#: the brokers the tests started: port → their work dir (where their passwords are)
_BROKERS: dict[int, Path] = {}


def start_broker(workdir: Path, one_session_per_user: bool = False,
                 extra_conf: str = "") -> tuple[int, subprocess.Popen]:
    """A private mosquitto with the device's auth and ACLs (kiosk/bus/broker.py). The shared
    test broker runs many lanes and tools at once, so by default a client id is not tied to
    its username (the device's ``use_username_as_clientid``; tests/integration/test_bus_auth.py
    turns it on)."""
    port, proc = start_private_broker_on_free_port(workdir,
                                                   one_session_per_user=one_session_per_user,
                                                   extra_conf=extra_conf)
    _BROKERS[port] = workdir
    return port, proc


def bus_login(port: int, username: str = "kiosk-cli") -> BusLogin:
    """``username``'s login on a test broker (tests drive the lane as the operator's tools)."""
    return private_login(_BROKERS[port], port, username)


def core_forger(port: int) -> BusClient:
    """A connected client holding kiosk-core's credential: under the ACL only the core may
    publish state and core status, so a malformed or forged one can only come from a broken
    or compromised core (what the subscribers' schema guards against)."""
    client = BusClient(bus_login(port, "kiosk-core"), f"test-forger-{os.getpid()}-{id(port)}")
    assert client.start(wait_s=10)
    return client


def stop_process(proc: subprocess.Popen | None, timeout: float = 15) -> int:
    """Stop a process a test started: SIGTERM, SIGKILL if it is still running ``timeout``
    seconds later; its exit status (0 for None, the status it had if it already ended)."""
    if proc is None:
        return 0
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


def kiosk_env(state_dir: Path, port: int, lane: str, **overrides: str) -> dict[str, str]:
    """Environment for a kiosk process: private state dir, test broker (with its passwords),
    own lane."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    site = state_dir / "etc"
    site.mkdir(parents=True, exist_ok=True)
    env.update({
        "KIOSK_CONFIG_DIR": str(site),
        "KIOSK__PATHS__STATE_DIR": str(state_dir),
        "KIOSK__BUS__PORT": str(port),
        "KIOSK__STORE__LANE_ID": lane,
        "KIOSK__SIM__PAYMENT__LATENCY_MS": "30",
        "PYTHONUNBUFFERED": "1",
    })
    if port in _BROKERS:
        env["KIOSK__BUS__CREDENTIALS_DIR"] = str(credentials_dir(_BROKERS[port]))
    env.update(overrides)
    return env


def kiosk_cli(env: dict[str, str], *args: str, stdin: str | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, input=stdin, timeout=timeout)


class KioskProcess:
    """``kiosk <command>`` as its own OS process, as on the device (kill -9 able); its
    output appended to ``log_path``; ``nice``: the unit's Nice=."""

    command = ""

    def __init__(self, env: dict[str, str], log_path: Path, nice: int = 0) -> None:
        self.env = env
        self.log_path = log_path
        self.nice = nice
        self.proc: subprocess.Popen | None = None

    def start(self) -> KioskProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", self.command],
                                     env=self.env, cwd=REPO, stdout=log, stderr=log,
                                     preexec_fn=(lambda: os.nice(self.nice)) if self.nice
                                     else None)
        return self

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        return stop_process(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class CoreProcess(KioskProcess):
    """kiosk-core as its own OS process, as on the device."""

    command = "core"


class Shopper:
    """Drives kiosk-core over the bus exactly as the UI does (as ``username``: by default the
    operator's tools, which may send every command)."""

    def __init__(self, port: int, lane: str, username: str = "kiosk-cli") -> None:
        self.topics = Topics(lane)
        self.command_topic = self.topics.command_from(username.removeprefix("kiosk-"))
        self.results: queue.Queue[dict] = queue.Queue()
        self.states: queue.Queue[dict] = queue.Queue()
        self.feedback: queue.Queue[dict] = queue.Queue()
        self.state: dict | None = None
        self.core_online: bool | None = None
        self.statuses: list[bool] = []    # every core status seen, in order
        self.invalid_states: list[str] = []  # states the subscribers' schema would drop
        self._lock = threading.Condition()
        self.client = BusClient(bus_login(port, username),
                                f"test-shopper-{lane}-{username}-{os.getpid()}")
        self.client.subscribe(self.topics.state, self._on_state)
        self.client.subscribe(self.topics.result, lambda _t, p: self.results.put(json.loads(p)))
        self.client.subscribe(self.topics.core_status, self._on_status)
        self.client.subscribe(self.topics.feedback, lambda _t, p: self.feedback.put(json.loads(p)))
        assert self.client.start(wait_s=10), "shopper could not connect to the broker"

    def _on_state(self, _topic: str, payload: bytes) -> None:
        try:
            parse_state(payload)
        except MessageError as exc:
            self.invalid_states.append(str(exc))
        msg = json.loads(payload)
        with self._lock:
            self.state = msg
            self._lock.notify_all()
        self.states.put(msg)

    def _on_status(self, _topic: str, payload: bytes) -> None:
        with self._lock:
            self.core_online = json.loads(payload)["online"]
            self.statuses.append(self.core_online)
            self._lock.notify_all()

    def close(self) -> None:
        self.client.stop()

    def send_raw(self, payload: bytes) -> None:
        self.client.publish(self.command_topic, payload).wait_for_publish(5)

    def send(self, kind: str, cmd_id: str | None = None, timeout: float = 10,
             **fields: object) -> dict:
        """Publish a command and wait for its result."""
        msg = command(kind, source="test", cmd_id=cmd_id, **fields)
        self.client.publish(self.command_topic, msg)
        return self.wait_result(msg["id"], timeout)

    def wait_result(self, cmd_id: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no result for command {cmd_id}")
            try:
                result = self.results.get(timeout=left)
            except queue.Empty:
                continue
            if result["id"] == cmd_id:
                return result

    def wait_state(self, predicate: Callable[[dict], bool], timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.state is None or not predicate(self.state):
                left = deadline - time.monotonic()
                if left <= 0:
                    last = self.state and self.state["state"]
                    raise TimeoutError(f"state never matched; last: {last}")
                self._lock.wait(left)
            return self.state

    def wait_online(self, online: bool = True, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.core_online is not online:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"core never became online={online}")
                self._lock.wait(left)
