"""GS1 codes on camera, end to end: rendered by Debian's ``zint`` (a generator none of the
decoders ships), shown to the real scanner as video frames, read by zxing-cpp/zbar, sent
over a real mosquitto to a real kiosk-core process, which prices them exactly and refuses
an expired and a recalled item with the attendant called (state, light)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from kiosk_drivers.scanner.sim.synth import (
    EAN13_RENDER_WIDTH,
    Distortion,
    Placement,
    background,
    compose,
    render_zint,
    write_video,
)

from kiosk.bus.light import light_for
from kiosk.config import load_config
from kiosk.services.scanner import ScannerService
from tests.gs1.conftest import catalog_csv
from tests.harness import bus_login, kiosk_cli
from tests.integration.flow import send_pin

pytestmark = pytest.mark.integration
SIZE = (640, 480)
LATER = (date.today() + timedelta(days=400)).strftime("%y%m%d")  # a date still to come

# (zint symbology, data, its HRI as the scanner sends it to kiosk-core)
SALMON_DBE = ("DBAR_EXP", "(01)90012345678908(3103)001750", None)  # ISO/IEC 24724 Fig. 11
CHEESE_128 = ("GS1_128", "(01)04012345678901(3103)000300(3922)0567", None)
YOGURT_DM = ("DATAMATRIX", f"(01)09501101530003(17){LATER}(10)AB-123", None)
BEEF_QR = ("QRCODE", f"https://id.gs1.org/01/95012345678903?3922=1099&17={LATER}",
           f"(01)95012345678903(3922)1099(17){LATER}")
EXPIRED_DM = ("DATAMATRIX", "(01)09501101530003(17)150119(10)AB-123", None)  # GGS 2.6.14-3
RECALLED_QR = ("QRCODE", f"https://id.gs1.org/01/09506000134352/10/LOT-7?17={LATER}",
               f"(01)09506000134352(10)LOT-7(17){LATER}")


def video(folder: Path, name: str, codes: list[tuple[str, str, str | None]],
          hold: int = 12, gap: int = 32) -> Path:
    """Each code held still (camera noise on every frame), then gone for longer than the
    scanner's hold-off."""
    fw, fh = SIZE
    bg = background(fw, fh, 11)
    images = [render_zint(kind, data, folder / f"{name}-{i}.png")
              for i, (kind, data, _) in enumerate(codes)]

    def frames():
        import numpy as np

        plain = np.clip(bg, 0, 255).astype(np.uint8)  # the empty counter
        for i, img in enumerate(images):
            px = min(img.shape[1], 0.9 * fw)  # its own size, shrunk to fit the frame
            place = Placement(width=px * EAN13_RENDER_WIDTH / (fw * img.shape[1]))
            for k in range(hold):
                yield compose(bg, img, place, Distortion(noise=2.0), 100 * i + k), [i]
            for _ in range(gap):
                yield plain, []

    path = folder / f"{name}.avi"
    write_video(path, frames(), SIZE)
    return path


def scan_video(broker_port: int, lane: str, path: Path) -> None:
    config = load_config()
    service = ScannerService(config.scanner, lane, bus_login(broker_port, "kiosk-scanner"),
                             config.variable_measure)
    assert service.run(threading.Event(), source=str(path), pace="lockstep") == 0


def test_gs1_codes_on_camera_are_sold_exactly_or_refused(broker_port, lane_env, start_core,
                                                          shopper, tmp_path):
    done = kiosk_cli(lane_env, "catalog", "import", str(catalog_csv(tmp_path)))
    assert done.returncode == 0, done.stderr
    site = Path(lane_env["KIOSK_CONFIG_DIR"])
    (site / "gs1.toml").write_text('[[gs1.recalls]]\ngtin = "09506000134352"\n'
                                   'batch = "LOT-7"\nnote = "test recall"\n')
    start_core()
    shopper.wait_online()
    lane = lane_env["KIOSK__STORE__LANE_ID"]

    scan_video(broker_port, lane, video(tmp_path, "sell", [
        SALMON_DBE, CHEESE_128, YOGURT_DM, BEEF_QR, EXPIRED_DM]))
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    lines = [(ln["key"], ln.get("weight_g"), ln.get("price_minor"), ln["amount"])
             for ln in st["lines"]]
    assert lines == [
        ("90012345678908", 1750, None, 4358),  # 24.90/kg x 1.750 kg = 43.575 -> 43.58
        ("04012345678901", 300, 567, 567),     # the label's price, 5.67
        ("09501101530003", None, None, 349),   # its expiry still to come: sold per unit
        ("95012345678903", None, 1099, 1099),  # the Digital Link's price, 10.99
    ]
    assert st["totals"]["subtotal"] == 4358 + 567 + 349 + 1099
    # the expired yoghurt (GGS Figure 2.6.14-3's code, expiry 2015-01-19) is refused
    assert st["attendant"] == {"reason": "item_expired", "return_to": "shopping",
                               "code": "(01)09501101530003(17)150119(10)AB-123",
                               "detail": "17:2015-01-19"}
    assert light_for(st, True, door_open=False).color == "amber"

    used: set[str] = set()
    assert send_pin(shopper, "2468", used)[1]["ok"]
    assert shopper.send("attendant", action="clear")["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping")

    scan_video(broker_port, lane, video(tmp_path, "recall", [RECALLED_QR]))
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert (st["attendant"]["reason"], st["attendant"]["detail"]) == ("item_recalled", "LOT-7")
    assert st["attendant"]["code"] == RECALLED_QR[2]
    assert len(st["lines"]) == 4  # nothing added
    assert light_for(st, True, door_open=False).color == "amber"
