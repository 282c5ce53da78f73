"""The wallet's notification listener cannot open its port (another process holds it, a
wrong setting): kiosk-core starts all the same, says so in one line, and confirms phone
payments by polling the gateway. It used to stop with a traceback at every start, so the
lane could not sell at all, by card either."""

from __future__ import annotations

import socket

import pytest

from kiosk.sim.qrpay import QrPaySim, code_for
from tests.wallet.core.lane import WalletLane, write_qr_options

pytestmark = pytest.mark.integration


def test_a_taken_notify_port_leaves_the_lane_selling(start_core, lane_env, shopper, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken, \
            QrPaySim(tmp_path / "qrpay", confirm_after_s=0.3, scan_after_s=0.2) as sim:
        port = taken.getsockname()[1]
        write_qr_options(lane_env, sim.lane_options(
            "wechat", poll_interval_s=0.1, pay_deadline_s=10.0, reverse_min_delay_s=0.0,
            notify_port=port, notify_url=f"http://127.0.0.1:{port}/notify"))
        lane = WalletLane(lane_env, shopper)
        lane.core = start_core()
        shopper.wait_online()
        lane.to_payment()                       # the shopper shows a code
        lane.pay(code_for("success", "wechat", 1))
        assert lane.end()["state"] == "approved"
        lane.finish()
        lane.to_payment()                       # the phone scans the screen's code
        lane.phone_scans()
        assert lane.end()["state"] == "approved"
        lane.finish()
        assert len(lane.approved_baskets()) == 2
        lane.core.stop()
    log = lane.core.log()
    assert f"wallet notifications off: cannot listen on 127.0.0.1:{port}" in log
    assert "Traceback" not in log
