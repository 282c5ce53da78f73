"""The real ``kiosk core`` process speaks sd_notify: READY=1, watchdog pings, STOPPING=1.

Elsewhere than on the booted image there is no systemd to kill a hung core, so this
checks the protocol side: pings come from the main loop, and a stopped loop stops them.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.systemd.notify_listener import NotifyListener

pytestmark = pytest.mark.integration

WATCHDOG_USEC = "400000"  # pings due every 0.2 s (the loop turns at least every 0.25 s)


@pytest.fixture
def listener():
    with NotifyListener(abstract=True) as lis:
        yield lis


def test_core_ready_then_pings_then_stopping(start_core, listener: NotifyListener):
    core = start_core(NOTIFY_SOCKET=listener.address, WATCHDOG_USEC=WATCHDOG_USEC)
    seen = listener.wait_for("READY=1", timeout=30)
    ready = next(m for m in seen if "READY=1" in m.split("\n"))
    assert "STATUS=bus connected" in ready, core.log()
    listener.wait_for("WATCHDOG=1", timeout=10, count=3)
    assert core.stop() == 0, core.log()
    rest = listener.drain()
    assert "STOPPING=1" in rest, rest


def test_core_watchdog_pid_for_another_process_means_no_pings(start_core,
                                                               listener: NotifyListener):
    core = start_core(NOTIFY_SOCKET=listener.address, WATCHDOG_USEC=WATCHDOG_USEC,
                      WATCHDOG_PID="1")
    listener.wait_for("READY=1", timeout=30)
    time.sleep(1)
    assert all("WATCHDOG=1" not in m for m in listener.drain()), core.log()


def test_stopped_main_loop_stops_pinging(start_core, listener: NotifyListener):
    core = start_core(NOTIFY_SOCKET=listener.address, WATCHDOG_USEC=WATCHDOG_USEC)
    listener.wait_for("READY=1", timeout=30)
    listener.wait_for("WATCHDOG=1", timeout=10, count=3)
    assert core.proc is not None
    core.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.5)  # a datagram sent just before the stop may still be queued
        listener.drain()
        assert listener.recv(2.0) is None, "a stopped core kept pinging"
    finally:
        core.proc.send_signal(signal.SIGCONT)
    listener.wait_for("WATCHDOG=1", timeout=10)  # and it resumes once the loop turns again
