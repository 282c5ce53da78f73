"""kiosk-ui speaks sd_notify as a Type=notify unit: READY=1 after the first frame, then
WATCHDOG=1 from the Kivy Clock, which stops when the frame loop stops."""

from __future__ import annotations

import signal
import time

import pytest

from tests.systemd.notify_listener import NotifyListener

pytestmark = pytest.mark.ui


def test_ui_ready_after_first_frame_and_pings_from_the_frame_loop(ui_factory, core):
    with NotifyListener(abstract=True) as listener:
        ui = ui_factory(NOTIFY_SOCKET=listener.address, WATCHDOG_USEC="400000")
        seen = listener.wait_for("READY=1", timeout=60)
        ready = next(m for m in seen if "READY=1" in m.split("\n"))
        assert "STATUS=first frame drawn" in ready
        assert ui.status()["first_frame_s"] is not None  # READY came after a real frame
        # pings keep coming (a Kivy interval callback that returned False once stopped them
        # for good after the second ping; every 0.2 s here, so 6 need about 1.2 s)
        listener.wait_for("WATCHDOG=1", timeout=30, count=6)
        assert ui.proc is not None
        ui.proc.send_signal(signal.SIGSTOP)  # a hung frame loop
        try:
            time.sleep(0.3)
            listener.drain()
            assert listener.recv(1.0) is None, "a stopped UI kept pinging"  # 5 periods
        finally:
            ui.proc.send_signal(signal.SIGCONT)
        listener.wait_for("WATCHDOG=1", timeout=10)
