"""Card test fixtures: a private pcscd (kiosk_drivers.cardreader.sim.pcscd) and virtual cards in it.

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, at the first PC/SC call: the
``pcscd`` fixture is session-scoped and sets it before anything calls PC/SC.

Fixtures (re-exported by tests/cardreader/conftest.py; import them in other suites'
conftest the same way): ``pcscd`` (session), ``vcard`` (a :class:`VpcdCard` on reader 0,
pulled at teardown), ``card_events`` (a started ReaderEvents and its queue),
``sim_card`` (start ``kiosk sim card`` processes with a stdin control channel).
"""

from __future__ import annotations

import fcntl
import queue
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from kiosk_drivers.cardreader.sim.pcscd import (  # noqa: F401 - re-exported for the card suites
    READER0,
    READER1,
    SYSTEM_SOCKET_DIR,
    VPCD_LIB,
    PrivatePcscd,
    free_port_pair,
)


def wait_event(events: queue.Queue, kind: str, timeout_s: float = 10.0,
               reader: str | None = READER0) -> dict:
    """The next event of ``kind`` (for ``reader``), skipping others; fails on timeout."""
    end = time.monotonic() + timeout_s
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind} event within {timeout_s} s")
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            continue
        if event["type"] == kind and (reader is None or event["reader"] == reader):
            return event


def wait_present(reader: str, present: bool, timeout_s: float = 10.0) -> None:
    """Until pcscd reports the card in ``reader`` present (or absent)."""
    from kiosk_drivers.cardreader import reader_state

    end = time.monotonic() + timeout_s
    while reader_state(reader)[0] != present:
        if time.monotonic() >= end:
            raise AssertionError(f"{reader}: card {'present' if present else 'absent'} "
                                 f"not reported within {timeout_s} s")
        time.sleep(0.02)


class SimCardProcess:
    """``kiosk sim card`` as a child process, driven by lines on its stdin."""

    def __init__(self, pcscd: PrivatePcscd, *args: str, slot: int = 0) -> None:
        argv = [sys.executable, "-m", "kiosk.cli", "sim", "card",
                "--port", str(pcscd.port + slot), *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=pcscd.env,
                                     bufsize=1)
        self.first = self.read_line()

    def read_line(self, timeout_s: float = 20.0) -> str:
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                raise AssertionError("kiosk sim card did not answer")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"kiosk sim card exited: {self.proc.stderr.read()}")
        return line.strip()

    def send(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.read_line()

    def stop(self) -> int:
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except (AssertionError, BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory):
    """A private pcscd with vpcd readers "Virtual PCD 00 00" (port) / "00 01" (port+1).

    One per test process (each xdist worker has its own, in namespaces of its own): each
    suite's conftest re-exports this fixture, which makes a fixture of its own for pytest,
    and libpcsclite binds this process to the first pcscd's socket anyway; so a later
    suite reuses the running one."""
    if _SHARED:
        yield _SHARED[0]
        return
    # Where pcscd cannot have namespaces of its own it takes the machine's /run/pcscd, one
    # at a time: other test processes (xdist workers) wait for it here, then start theirs.
    with open(Path(tempfile.gettempdir()) / "kiosk-test-pcscd-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = PrivatePcscd(tmp_path_factory.mktemp("pcscd")).start()
        if server.isolated:
            fcntl.flock(lock, fcntl.LOCK_UN)
        _SHARED.append(server)
        try:
            yield server
        finally:
            _SHARED.clear()
            server.stop()


_SHARED: list[PrivatePcscd] = []


@pytest.fixture
def vcard(pcscd: PrivatePcscd):
    """An empty vpcd slot on reader 0 (``vcard.insert(card)``); pulled at teardown and
    awaited absent, so the next test starts with an empty reader."""
    from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

    slot = VpcdCard("127.0.0.1", pcscd.port, netns=pcscd.netns)
    yield slot
    slot.remove()
    wait_present(READER0, False)


@pytest.fixture
def card_events(pcscd: PrivatePcscd):
    """(ReaderEvents, queue of its events), started; stopped at teardown."""
    from kiosk_drivers.cardreader import ReaderEvents

    events: queue.Queue = queue.Queue()
    monitor = ReaderEvents(events.put, reader_pattern=r"^Virtual PCD", reader_poll_s=0.2)
    monitor.start()
    yield monitor, events
    monitor.stop()


@pytest.fixture
def sim_card(pcscd: PrivatePcscd):
    """Start ``kiosk sim card`` processes: ``sim_card("--profile", "visa")``; all are told
    to quit at teardown."""
    started: list[SimCardProcess] = []

    def start(*args: str, slot: int = 0) -> SimCardProcess:
        proc = SimCardProcess(pcscd, *args, slot=slot)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    wait_present(READER0, False)
