"""The whole customer-presented path: a phone's payment code rendered into camera frames (a
video file is the camera), read by the real scanner service, sent to kiosk-core only as its
``wallet_code``, paid through ``kiosk sim qrpay`` over HTTPS (WeChat dialect): each
scenario's final state, and the simulator's ledger (nothing paid twice or left open)."""

from __future__ import annotations

import os
import threading

import pytest
from kiosk_drivers.scanner.config import ScannerConfig
from kiosk_drivers.scanner.sim import synth
from kiosk_drivers.scanner.sim.synth import CodeSpec, Placement, Presentation, write_session

from kiosk.services.scanner import ScannerService
from kiosk.sim.qrpay import QrPaySim, code_for, ledger_summary
from tests.harness import bus_login
from tests.scanner.conftest import packaged_variable_measure
from tests.wallet.core.lane import WalletLane, write_qr_options

pytestmark = pytest.mark.integration

#: scenario → the attempt's end (state, message); all of them with KIOSK_SOAK_TESTS=1
ALL = [("success", "approved", None),
       ("paying_then_success", "approved", None),
       ("system_error_then_success", "approved", None),
       ("answer_lost", "approved", None),
       ("slow", "approved", None),                 # the answer comes late: still one payment
       ("signature_invalid", "approved", None),    # a forged answer does not count: the query does
       ("insufficient_funds", "declined", "wallet_insufficient_funds"),
       # WeChat says only PAYERROR when the shopper cancels on the phone: "not approved"
       ("paying_then_cancelled", "declined", "wallet_declined"),
       ("paying_forever", "payment", None)]
SCENARIOS = ALL if os.environ.get("KIOSK_SOAK_TESTS") == "1" else ALL[:2] + ALL[6:7]


def show_to_camera(lane: WalletLane, port: int, code: str, tmp_path, serial: int,
                   monkeypatch) -> None:
    """Render ``code`` held up to the camera, and run the real scanner over those frames."""
    name = f"phone_{serial}"
    monkeypatch.setitem(synth.SPECS, name, CodeSpec(name, code, "QRCode", "wallet"))
    video = tmp_path / f"{name}.avi"
    write_session(video, [Presentation(name, hold=10, gap=15,
                                       placement=Placement(angle=5))], (640, 480), seed=serial)
    lane.codes.append(code)
    service = ScannerService(ScannerConfig(), lane.env["KIOSK__STORE__LANE_ID"],
                             bus_login(port, "kiosk-scanner"), packaged_variable_measure())
    assert service.run(threading.Event(), source=str(video), pace="lockstep") == 0


def test_a_code_shown_to_the_camera_pays_through_the_gateway(start_core, lane_env, shopper,
                                                            broker_port, tmp_path, monkeypatch):
    with QrPaySim(tmp_path / "qrpay", confirm_after_s=0.3, scan_after_s=0.2, slow_s=0.4,
                  down_s=0.4) as sim:
        options = sim.lane_options("wechat", retries=1, retry_backoff_s=0.05,
                                   poll_interval_s=0.1, pay_deadline_s=1.5,
                                   reverse_min_delay_s=0.0, query_wait_s=0.05)
        write_qr_options(lane_env, options)
        lane = WalletLane(lane_env, shopper)
        lane.core = start_core()
        shopper.wait_online()
        for serial, (scenario, state, message) in enumerate(SCENARIOS, 1):
            lane.to_payment()
            assert shopper.send("pay", method="qr")["ok"]
            lane.step("show_code")
            show_to_camera(lane, broker_port, code_for(scenario, "wechat", serial), tmp_path,
                           serial, monkeypatch)
            st = lane.end()
            assert (st["state"], st["payment"].get("message") if message else None) == (
                state, message), scenario
            lane.finish()
        lane.core.stop()
        summary = ledger_summary(sim.ledger_path)
    assert all(s["paid"] <= 1 for s in summary.values()), summary
    net = {no for no, s in summary.items() if s["paid"] - s["refunded"] == 1}
    book = {o["order_no"]: o["state"] for o in lane.book()}
    assert {no: book[no] for no in net} == dict.fromkeys(net, "recorded")
    assert len(net) == len(lane.approved_baskets()) == sum(s == "approved"
                                                           for _, s, _ in SCENARIOS)
    assert all(s in ("recorded", "not_paid", "closed", "refunded") for s in book.values())
    lane.check_no_code_leaked(lane.core.log())
