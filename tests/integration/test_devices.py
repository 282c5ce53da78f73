"""Device health through kiosk-core: the door closes the lane, printer faults are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.sample_items import MILK
from tests.harness import kiosk_cli
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration



def test_door_open_closes_lane_only_when_no_basket_is_open(core, shopper, lane_env):
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("device", device="door", ok=False, detail="open")["ok"]
    st = shopper.wait_state(lambda s: s["faults"].get("door") == "open")
    assert st["state"] == "shopping"  # the shopper in the lane finishes first
    shopper.send("checkout")
    shopper.send("pay", method="card")
    to_receipt(shopper)
    shopper.send("done")
    st = shopper.wait_state(lambda s: s["state"] == "out_of_service")
    assert shopper.send("scan", code=MILK)["reason"] == "not_allowed_now"
    # a repeated report changes nothing (no new journal entry)
    seq = st["seq"]
    assert shopper.send("device", device="door", ok=False, detail="open")["seq"] == seq
    assert shopper.send("device", device="door", ok=True, detail="closed")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attract")
    assert st["faults"] == {}
    core.stop()
    assert kiosk_cli(lane_env, "journal", "verify").returncode == 0


def test_printer_fault_keeps_sale_and_records_fault(lane_env, shopper, start_core):
    # the simulated printer cannot write: its receipts folder is blocked by a file
    state_dir = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    (state_dir / "receipts").write_text("not a folder")
    start_core()
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.send("checkout")
    shopper.send("pay", method="card")
    st = to_receipt(shopper)
    assert st["receipt"]["ok"] is False
    assert st["payment"]["status"] == "approved"  # the sale stands
    assert "printer" in st["faults"]
    assert shopper.send("done")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "attract")  # printer faults do not close


def test_rejected_provisioning_keeps_the_lane_out_of_service(lane_env, shopper, start_core):
    state_dir = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    state_dir.mkdir(parents=True, exist_ok=True)
    marker = state_dir / "provision-rejected"
    marker.write_text("1795600000 store.lane_id: must match ^[A-Za-z0-9_-]+$\n")
    core = start_core()
    shopper.wait_online()
    st = shopper.wait_state(lambda s: s["state"] == "out_of_service")
    assert st["faults"]["provisioning"].startswith("rejected: store.lane_id")
    assert shopper.send("start")["ok"] is False
    # a good file applied later removes the marker: the next start opens the lane
    core.stop()
    marker.unlink()
    start_core()
    st = shopper.wait_state(lambda s: s["state"] == "attract" and not s["faults"])
    assert st["faults"] == {}
