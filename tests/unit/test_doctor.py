"""`kiosk doctor`'s small parts: the units it checks, a box without systemd, the report's
text; and the reprint's words for where a receipt went. The lane checks themselves run
against real stacks in tests/integration/test_doctor.py."""

from __future__ import annotations

import stat
from pathlib import Path

from kiosk_drivers.printer.config import PrinterConfig

from kiosk.ops.doctor import UNITS, unit_states
from kiosk.ops.doctor_report import Finding, format_text
from kiosk.printing.cli import went_to
from kiosk.printing.result import PrintResult
from tests.harness import REPO


def test_the_doctor_checks_the_units_kiosk_target_wants():
    wants = []
    for line in (REPO / "systemd" / "kiosk.target").read_text().splitlines():
        if line.startswith("Wants="):
            wants += line.removeprefix("Wants=").split()
    assert sorted(UNITS) == sorted(wants)


def _script(bin_dir: Path, body: str) -> None:
    bin_dir.mkdir()
    path = bin_dir / "systemctl"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_a_box_without_systemd_is_said_so_not_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert unit_states(UNITS) is None                      # no systemctl at all
    _script(tmp_path / "bin", "echo offline; exit 1\n")  # what a container's systemctl says
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert unit_states(UNITS) is None


def test_unit_states_read_systemctl_one_unit_at_a_time(tmp_path, monkeypatch):
    _script(tmp_path / "bin", 'case "$1" in is-system-running) echo degraded ;;\n'
            '  is-active) [ "$2" = kiosk-ui.service ] && { echo failed; exit 3; }; echo active ;;'
            "\nesac\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert unit_states(("kiosk-core.service", "kiosk-ui.service")) == {
        "kiosk-core.service": "active", "kiosk-ui.service": "failed"}


def test_the_report_gives_the_fix_under_each_line_that_is_not_ok():
    text = format_text([Finding("broker", "ok", "up", "never shown"),
                        Finding("printer paper", "FAIL", "out of paper", "load a roll")])
    lines = text.splitlines()
    assert lines[0].split() == ["ok", "broker", "up"]
    assert lines[1].startswith("FAIL  printer paper  out of paper")
    assert lines[2].strip() == "fix: load a roll"
    assert lines[3] == "doctor: 1 ok, 0 warn, 1 FAIL" and "never shown" not in text


def test_reprint_says_where_the_receipt_went():
    kept = PrintResult(True, "/state/receipts/T1.json")
    assert went_to("sim", PrinterConfig(), PrintResult(True, "/state/receipts/T1.txt")) == (
        "written to /state/receipts/T1.txt (simulated printer: a text file, not paper)")
    to_file = went_to("escpos", PrinterConfig(transport="file", port="/tmp/escpos.bin"), kept)
    assert to_file.startswith("written as ESC/POS bytes to /tmp/escpos.bin")
    assert went_to("escpos", PrinterConfig(port="/dev/ttyUSB0"), kept) == (
        "printed on the serial printer at /dev/ttyUSB0")
