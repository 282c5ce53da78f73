"""Operator-facing behaviour through the real CLI and a real kiosk-core process."""

from __future__ import annotations

import pytest

from tests.fixtures.sample_items import MILK
from tests.harness import kiosk_cli

pytestmark = pytest.mark.integration



def test_sim_scan_command_reaches_the_core(core, shopper, lane_env):
    shopper.wait_online()
    done = kiosk_cli(lane_env, "sim", "scan", MILK, "070666928444")
    assert done.returncode == 0, done.stderr
    st = shopper.wait_state(lambda s: len(s["lines"]) == 2)
    assert [ln["names"]["en"] for ln in st["lines"]] == ["Whole Milk 1L",
                                                          "Cup Noodles Chicken 64g"]


def test_idle_shopper_is_warned_then_basket_voided(lane_env, shopper, start_core):
    core = start_core(KIOSK__TIMEOUTS__IDLE_WARNING_S="1", KIOSK__TIMEOUTS__IDLE_VOID_S="1.5")
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    warned = shopper.wait_state(lambda s: s["idle_warning_at"] is not None)
    assert warned["state"] == "shopping"
    assert warned["idle_void_at"] == pytest.approx(warned["idle_warning_at"] + 1.5)
    shopper.send("touch")  # "I'm still here"
    st = shopper.wait_state(lambda s: s["idle_warning_at"] is None)
    assert st["lines"]
    st = shopper.wait_state(lambda s: s["state"] == "attract", timeout=10)
    assert st["notice"] == "voided_idle" and st["lines"] == []
    core.stop()
    assert kiosk_cli(lane_env, "journal", "verify").returncode == 0


def test_help_call_needs_staff_to_clear(core, shopper):
    shopper.wait_online()
    shopper.send("scan", code=MILK)
    assert shopper.send("help")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert shopper.send("attendant", action="clear")["reason"] == "staff_required"
    assert shopper.send("scan", code="STAFF:S100-7731")["ok"]  # badge signs staff in
    st = shopper.wait_state(lambda s: s["staff"] is not None)
    assert st["staff"]["id"] == "S100"
    assert shopper.send("attendant", action="clear")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "shopping")
    assert st["staff"] is None and len(st["lines"]) == 1


def test_bad_config_stops_core_with_one_clear_line(lane_env):
    env = dict(lane_env, KIOSK__TAX__MODE="sometimes")
    done = kiosk_cli(env, "core", timeout=30)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("config error: environment KIOSK__TAX__MODE: tax.mode:")
    assert "'sometimes'" in lines[0]


def test_catalog_import_reports_bad_lines_and_keeps_good_ones(lane_env, tmp_path):
    csv_file = tmp_path / "update.csv"
    csv_file.write_text(
        "gtin,name_en,name_zh,name_ko,price,tax_class,age_restricted,sold_by_weight,plu\n"
        "4006381333931,Pencil,铅笔,연필,0.99,standard,0,0,\n"
        "4006381333932,Bad check digit,,,0.99,standard,0,0,\n"
        "96385074,Too precise,,,0.999,standard,0,0,\n", encoding="utf-8")
    done = kiosk_cli(lane_env, "catalog", "import", str(csv_file))
    assert done.returncode == 1
    assert "line 3:" in done.stderr and "check digit" in done.stderr
    assert "line 4:" in done.stderr and "decimal" in done.stderr
    assert "loaded 1 products, 2 bad rows skipped" in done.stdout


def test_journal_verify_detects_tampering(core, shopper, lane_env):
    import sqlite3
    from pathlib import Path

    shopper.wait_online()
    shopper.send("scan", code=MILK)
    shopper.wait_state(lambda s: len(s["lines"]) == 1)
    core.stop()
    path = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite"
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET data = replace(data, '189', '1') WHERE type = 'item_added'")
    db.commit()
    db.close()
    done = kiosk_cli(lane_env, "journal", "verify")
    assert done.returncode == 1
    assert "hash chain broken" in done.stderr
