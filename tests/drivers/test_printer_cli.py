"""The printer commands as processes (``kiosk sim printer`` on a socat pair, ``kiosk receipt
reprint``), run through the real ``kiosk`` command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from kiosk_drivers.printer.config import PrinterConfig

from kiosk.printing.escpos import EscposPrinter
from kiosk.printing.store import ReceiptStore
from tests.drivers.receipts import TXN, make_receipt
from tests.harness import REPO, kiosk_env

SIM_PRINTER = [sys.executable, "-m", "kiosk.cli", "sim", "printer"]
REPRINT = [sys.executable, "-m", "kiosk.cli", "receipt", "reprint"]


def _wait_line(proc: subprocess.Popen, needle: str, timeout: float = 20) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} from the simulator")


def test_sim_printer_command_prints_and_runs_out_of_paper_on_a_signal(config, tmp_path):
    env = kiosk_env(tmp_path / "state", 1883, "L99")
    host, dev, out = tmp_path / "ttyHOST", tmp_path / "ttyPRN", tmp_path / "png"
    proc = subprocess.Popen(
        [*SIM_PRINTER, "--pair", "--host-link", str(host), "--port", str(dev), "--out", str(out),
         "--baud", "115200"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_line(proc, "listening on")
        printer = EscposPrinter(PrinterConfig(port=str(host)), tmp_path / "receipts")
        assert printer.print_receipt(make_receipt(config, "en")).ok
        assert _wait_line(proc, "sim printer: printed").strip().endswith("receipt-0001.png")
        proc.send_signal(signal.SIGUSR1)
        _wait_line(proc, "sim printer: paper out")
        result = printer.print_receipt(make_receipt(config, "en"))
        assert (result.ok, result.reason) == (False, "paper_out")
        proc.send_signal(signal.SIGUSR1)
        _wait_line(proc, "sim printer: paper loaded")
        assert printer.print_receipt(make_receipt(config, "en")).ok
        _wait_line(proc, "sim printer: printed")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["receipt-0001.png", "receipt-0002.png"]
    assert not host.exists()  # socat went with it


def test_sim_printer_never_replaces_a_real_file(tmp_path):
    env = kiosk_env(tmp_path / "state", 1883, "L99")
    precious = tmp_path / "serial0"
    precious.write_text("not a pty")
    done = subprocess.run(
        [*SIM_PRINTER, "--pair", "--host-link", str(precious)], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "not a pty link" in done.stderr
    assert precious.read_text() == "not a pty"


def test_reprint_command_prints_a_kept_receipt(config, tmp_path):
    state = tmp_path / "state"
    env = kiosk_env(state, 1883, "L99")
    ReceiptStore(state / "receipts").save(make_receipt(config, "zh_Hans"))
    done = subprocess.run([*REPRINT, TXN], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    # the default (simulated) printer wrote the text copy, marked as one, and the command
    # says so: the file's path, not "printed"
    copy_path = state / "receipts" / f"{TXN}-copy-1.txt"
    assert f"{TXN} written to {copy_path} (simulated printer" in done.stdout
    assert "printed" not in done.stdout
    copy = copy_path.read_text(encoding="utf-8")
    assert "辛拉面" in copy and copy.splitlines()[0].strip() == "副本"
    missing = subprocess.run([*REPRINT, "S001-L01-999999"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no kept receipt" in missing.stderr


@pytest.mark.parametrize("bad", ["../x", "a/b"])
def test_reprint_refuses_a_path_for_a_txn(tmp_path, bad):
    env = kiosk_env(tmp_path / "state", 1883, "L99")
    done = subprocess.run([*REPRINT, bad], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "not a transaction id" in done.stderr
