"""kiosk-core printing on the ESC/POS backend through the pty to the simulator.

Runs once the ``[printer]`` table and ``devices.printer = "escpos"`` are part of
the kiosk configuration (skipped before that integration step): a sale whose
receipt runs out of paper stands, the fault is recorded, the receipt is kept, and
``kiosk receipt reprint TXN`` prints it whole after the paper is replaced.
"""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

import pytest
from kiosk_drivers.printer.config import PrinterConfig

from kiosk.config import DevicesConfig, KioskConfig
from tests.fixtures.sample_items import MILK, RAMYUN
from tests.harness import kiosk_cli

pytestmark = pytest.mark.integration



def _wired() -> bool:
    printer_field = DevicesConfig.model_fields["printer"].annotation
    return ("printer" in KioskConfig.model_fields
            and "escpos" in typing.get_args(printer_field))


@pytest.mark.skipif(not _wired(), reason="awaiting [printer] / devices.printer = escpos wiring")
def test_paper_out_through_the_core_keeps_the_sale_and_reprint_prints_it(
        lane_env, start_core, shopper, start_sim, pty_pair, artifacts):
    sim = start_sim(cjk_font="gbk", baudrate=115200, paper_length_mm=30)
    env = {"KIOSK__DEVICES__PRINTER": "escpos", "KIOSK__PRINTER__PORT": str(pty_pair.host),
           "KIOSK__PRINTER__CJK_FONT": "gbk", "KIOSK__PRINTER__CHUNK_BYTES": "256"}
    start_core(**env)
    shopper.wait_online()
    for code in (MILK, RAMYUN, RAMYUN):
        assert shopper.send("scan", code=code)["ok"]
    shopper.send("checkout")
    shopper.send("pay", method="card")
    shopper.wait_state(lambda s: s["state"] == "approved", timeout=30)
    assert shopper.send("receipt", choice="print")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "receipt", timeout=30)
    assert st["payment"]["status"] == "approved"  # the sale stands
    assert st["receipt"]["ok"] is False
    assert st["faults"].get("printer") == "paper_out"
    txn = st["txn"]
    kept = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "receipts" / f"{txn}.json"
    assert kept.exists()
    (partial,) = sim.wait_receipts(1)
    assert not partial.complete
    sim.load_paper()
    done = kiosk_cli(dict(lane_env, **env), "receipt", "reprint", txn)
    assert done.returncode == 0, done.stderr
    assert f"{txn} printed on the serial printer at {pty_pair.host}" in done.stdout
    pages = sim.wait_receipts(2)
    assert pages[1].complete and pages[1].qr_payloads == []  # no e-receipt link configured
    assert any(txn in line for line in pages[1].text)
    # the reprint is marked as a copy, at its top and bottom, and is not the first print
    assert [line.strip() for line in pages[1].text].count("COPY") == 2
    assert not any("COPY" in line for line in partial.text)
    shutil.copyfile(pages[1].png, artifacts / "receipt-core-reprint.png")


def test_printer_config_env_values_parse_as_the_core_will_see_them():
    # environment overrides arrive as text; pydantic must take them for these fields
    cfg = PrinterConfig.model_validate({"port": "/tmp/x", "baudrate": "115200",
                                        "chunk_bytes": "256", "cjk_font": "gbk",
                                        "raster_fallback": "true"})
    assert (cfg.baudrate, cfg.chunk_bytes, cfg.raster_fallback) == (115200, 256, True)
