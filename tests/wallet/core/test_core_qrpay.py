"""kiosk-core's ``qr`` method against ``kiosk sim qrpay`` over HTTPS, in each dialect
(generic, Alipay face-to-face, WeChat micropay): the real gateway client, signed requests,
verified answers. Each scenario's final state, and the simulator's ledger: no order paid
twice, every paid order either the journal's sale or refunded, none left open."""

from __future__ import annotations

import os

import pytest

from kiosk.ports import free_port
from kiosk.sim.qrpay import QrPaySim, code_for, ledger_summary
from tests.wallet.core.lane import WalletLane, write_qr_options

pytestmark = pytest.mark.integration

#: scenario → the attempt's end state and message
SCENARIOS = [("success", "approved", None),
             ("paying_then_success", "approved", None),
             ("insufficient_funds", "declined", "wallet_insufficient_funds"),
             ("paying_forever", "payment", None)]    # deadline: reversed (closed)


SOAK = os.environ.get("KIOSK_SOAK_TESTS") == "1"


# the default run takes WeChat (the most rules: USERPAYING, SYSTEMERROR, the reverse delay);
# KIOSK_SOAK_TESTS=1 all three (each ~5 s)
@pytest.mark.parametrize("dialect", [
    pytest.param("generic", marks=pytest.mark.skipif(not SOAK, reason="KIOSK_SOAK_TESTS=1")),
    pytest.param("alipay", marks=pytest.mark.skipif(not SOAK, reason="KIOSK_SOAK_TESTS=1")),
    "wechat"])
def test_each_dialect_through_kiosk_core(dialect, start_core, lane_env, shopper, tmp_path):
    notify_port = free_port()
    with QrPaySim(tmp_path / "qrpay", confirm_after_s=0.3, scan_after_s=0.2, slow_s=0.4,
                  down_s=0.4) as sim:
        options = sim.lane_options(dialect, retries=1, retry_backoff_s=0.05,
                                   poll_interval_s=0.1, pay_deadline_s=1.5,
                                   reverse_min_delay_s=0.0, query_wait_s=0.05,
                                   notify_port=notify_port,
                                   notify_url=f"http://127.0.0.1:{notify_port}/notify")
        write_qr_options(lane_env, options)
        lane = WalletLane(lane_env, shopper)
        lane.core = start_core()
        shopper.wait_online()
        for serial, (scenario, state, message) in enumerate(SCENARIOS, 1):
            lane.to_payment()
            lane.pay(code_for(scenario, "alipay" if dialect == "alipay" else "wechat",
                              serial))
            st = lane.end()
            assert st["state"] == state, (dialect, scenario, st["state"])
            if message:
                assert st["payment"]["message"] == message
            lane.finish()
        # merchant-presented: the phone scans the screen's code; the gateway's signed
        # notification tells the lane (polling, the fallback, is slowed right down here)
        lane.core.stop()
        shopper.wait_online(False)    # its goodbye seen: the next "online" is the new core's
        write_qr_options(lane_env, {"poll_interval_s": 600.0, "pay_deadline_s": 900.0},
                         "31-slow-poll.toml")
        lane.core = start_core()
        shopper.wait_online()
        lane.to_payment()
        lane.phone_scans()
        assert lane.end()["state"] == "approved"
        lane.finish()
        lane.core.stop()
        assert "notification (paid) for the waiting attempt" in lane.core.log()
        summary = ledger_summary(sim.ledger_path)
    book = {o["order_no"]: o for o in lane.book()}
    assert set(summary) <= set(book)
    net = {no: s["paid"] - s["refunded"] for no, s in summary.items()}
    assert all(s["paid"] <= 1 for s in summary.values()), summary      # never twice
    assert sorted(book[no]["state"] for no, n in net.items() if n == 1) == [
        "recorded"] * 3                                                  # the three sales
    assert [o["state"] for o in book.values()] == ["recorded", "recorded", "not_paid",
                                                   "closed", "recorded"]
    assert len(lane.approved_baskets()) == 3
    lane.check_no_code_leaked(lane.core.log())
