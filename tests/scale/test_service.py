"""kiosk-scale (kiosk.services.scale) on the test broker: a scale whose port is missing is
published as not answering and opened again once it appears; the reading follows the scale;
stopping publishes it offline."""

from __future__ import annotations

import os
import threading

from kiosk_drivers.scale.config import ScaleConfig
from kiosk_drivers.scale.sim.simulator import ScaleSimulator
from kiosk_drivers.sim.pty import start_pty_pair

from kiosk.services import scale as scale_service
from kiosk.services.scale import ScaleService
from tests.harness import bus_login
from tests.scale.feed import ScaleFeed


def test_a_missing_port_is_no_response_until_the_scale_appears(tmp_path, broker_port,
                                                                monkeypatch):
    monkeypatch.setattr(scale_service, "REOPEN_S", 0.2)
    lane = f"SV{os.getpid()}"
    feed = ScaleFeed(broker_port, lane, "produce")
    port = tmp_path / "scale"
    service = ScaleService("produce", ScaleConfig(protocol="magellan", port=str(port),
                                                  poll_s=0.05), lane,
                           bus_login(broker_port, "kiosk-scale"))
    stop = threading.Event()
    ready = threading.Event()
    runner = threading.Thread(target=service.run, args=(stop,),
                              kwargs={"on_ready": lambda _s: ready.set()})
    runner.start()
    pair = sim = None
    try:
        msg = feed.wait(lambda m: m["online"])
        assert (msg["status"], msg["weight_g"]) == ("no_response", None)
        assert not ready.is_set()  # not READY while the scale does not answer
        pair = start_pty_pair(port, tmp_path / "scale-device")
        sim = ScaleSimulator(pair.device).start()
        sim.set_weight(432)
        msg = feed.wait(lambda m: m["status"] == "stable")
        assert msg["weight_g"] == 432 and msg["scale"] == "produce"
        assert ready.wait(10)
        sim.set_motion(True)
        assert feed.wait(lambda m: m["status"] != "stable")["status"] == "motion"
    finally:
        stop.set()
        runner.join(10)
        if sim is not None:
            sim.stop()
        if pair is not None:
            pair.close()
    last = feed.wait(lambda m: not m["online"])
    assert last["status"] == "no_response"
    feed.close()
