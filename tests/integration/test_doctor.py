"""`kiosk doctor` against a healthy lane and against each fault it names.

Real stacks: a private mosquitto holding real (not demo) bus passwords, a real journal and
host log, a real kiosk-core that leaves a reversal owed, the printer simulator on a socat pty.
CI has no running systemd, so the unit states come from a `systemctl` script put first on
PATH (the doctor looks `systemctl` up on PATH, as it does on the device).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from kiosk_drivers.printer.sim.simulator import PrinterSimulator
from kiosk_drivers.sim.pty import start_pty_pair

from kiosk.bus.broker import credentials_dir
from kiosk.bus.credentials import provision
from kiosk.journal.store import Journal
from kiosk.ops.doctor import UNITS
from kiosk.payments.hostlog import HostLog
from kiosk.security.staff import hash_secret
from tests.fixtures.sample_items import MILK
from tests.harness import SAMPLE_CSV, CoreProcess, Shopper, kiosk_cli, kiosk_env, start_broker

pytestmark = pytest.mark.integration

_lanes = itertools.count(1)


@pytest.fixture(scope="module")
def real_broker(tmp_path_factory: pytest.TempPathFactory):
    """A private broker whose users hold real passwords (provisioned before it starts: the
    broker's own provisioning keeps them), as on a provisioned device."""
    work = tmp_path_factory.mktemp("doctor-broker")
    provision(credentials_dir(work), work / "kiosk.passwd", work / "kiosk.acl")
    port, proc = start_broker(work)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def staff_hash() -> str:
    return hash_secret("904172")


def _systemctl(bin_dir: Path, stopped: tuple[str, ...] = ()) -> None:
    """A `systemctl` that says systemd runs and every unit is active but ``stopped``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  is-system-running) echo running ;;\n"
        f'  is-active) case " {" ".join(stopped)} " in *" $2 "*) echo inactive; exit 3 ;; esac\n'
        "             echo active ;;\n"
        "  *) exit 1 ;;\n"
        "esac\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def lane(tmp_path: Path, real_broker: int, staff_hash: str) -> dict[str, str]:
    """A healthy lane: real staff, real bus passwords, a journal, GPIO mock pins, the clock's
    synchronized flag, and every unit active."""
    state = tmp_path / "state"
    env = kiosk_env(state, real_broker, f"D{os.getpid()}x{next(_lanes)}")
    (state / "etc" / "50-staff.toml").write_text(
        f'[[staff.members]]\nid = "S200"\nname = "Lane Supervisor"\npin_hash = "{staff_hash}"\n')
    synced = tmp_path / "synchronized"
    synced.touch()
    Journal(state / "journal.sqlite").close()
    _systemctl(tmp_path / "bin")
    env.update({"KIOSK__GPIO__PIN_FACTORY": "mock",
                "KIOSK__PAYMENTS__CLOCK_SOURCE": "timesyncd",
                "KIOSK__PAYMENTS__CLOCK_SYNC_FLAG": str(synced),
                "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"})
    return env


def doctor(env: dict[str, str], *args: str) -> tuple[int, list[dict]]:
    done = kiosk_cli(env, "doctor", "--json", "--min-free-mb", "1", *args)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is (done.returncode == 0)
    return done.returncode, report["findings"]


def verdicts(findings: list[dict]) -> dict[str, str]:
    return {f["check"]: f["verdict"] for f in findings if f["check"] != "config"}


def not_ok(findings: list[dict]) -> dict[str, str]:
    return {f["check"]: f["verdict"] for f in findings if f["verdict"] != "ok"}


def test_a_healthy_lane_is_all_ok_and_says_which_layer_set_what(lane):
    code, findings = doctor(lane)
    assert (code, not_ok(findings)) == (0, {})
    seen = verdicts(findings)
    for unit in UNITS:
        # the card reader is simulated on this lane, it has no e-receipts and no back office
        if unit not in ("pcscd.socket", "kiosk-ereceipt.service", "kiosk-sync.service"):
            assert seen[f"service {unit}"] == "ok"
    for check in ("broker", "journal", "clock", "printer", "card reader", "scanner", "gpio",
                  "pending payments", "demo staff", "demo bus passwords"):
        assert seen[check] == "ok", check
    config = [f["detail"] for f in findings if f["check"] == "config"]
    assert any("50-staff.toml sets staff.members" in line for line in config)
    assert any("environment KIOSK__GPIO__PIN_FACTORY sets gpio.pin_factory" in line
               for line in config)
    text = kiosk_cli(lane, "doctor", "--min-free-mb", "1")
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout.rstrip().splitlines()[-1].endswith("0 warn, 0 FAIL")


def test_a_stopped_service_fails_with_the_fix(lane, tmp_path):
    _systemctl(tmp_path / "bin", stopped=("kiosk-ui.service",))
    code, findings = doctor(lane)
    assert (code, not_ok(findings)) == (1, {"service kiosk-ui.service": "FAIL"})
    (line,) = [f for f in findings if f["check"] == "service kiosk-ui.service"]
    assert line["detail"] == "inactive" and "systemctl restart kiosk-ui.service" in line["fix"]


def test_too_little_free_space_fails(lane, tmp_path):
    free_mb = shutil.disk_usage(tmp_path).free // 2**20
    code, findings = doctor(lane, "--min-free-mb", str(free_mb + 1024))
    assert code == 1
    space = {f["check"]: f for f in findings if f["check"].startswith(("disk", "data"))}
    assert space and all(f["verdict"] == "FAIL" for f in space.values())
    assert all(f"below the {free_mb + 1024} MiB floor" in f["detail"] for f in space.values())


def test_printer_out_of_paper_fails_and_loaded_paper_is_ok(lane, tmp_path):
    pair = start_pty_pair(tmp_path / "printer-host", tmp_path / "printer-device",
                          tmp_path / "socat.log")
    sim = PrinterSimulator(pair.device, tmp_path / "png", baudrate=115200).start()
    try:
        env = dict(lane, KIOSK__DEVICES__PRINTER="escpos",
                   KIOSK__PRINTER__PORT=str(pair.host), KIOSK__PRINTER__CJK_FONT="gbk")
        code, findings = doctor(env)
        assert (code, not_ok(findings)) == (0, {})
        assert verdicts(findings)["printer paper"] == "ok"
        sim.set_paper_out()
        code, findings = doctor(env)
        assert (code, not_ok(findings)) == (1, {"printer paper": "FAIL"})
        (paper,) = [f for f in findings if f["check"] == "printer paper"]
        assert paper["detail"] == "out of paper" and "paper roll" in paper["fix"]
    finally:
        sim.stop()
        pair.close()


def test_a_reversal_queued_in_the_host_log_fails(lane):
    state = Path(lane["KIOSK__PATHS__STATE_DIR"])
    log = HostLog(state / "hostlog.sqlite", state / "hostlog.key")
    log.record(idem_key="k1", txn="S001-L01-000007", mti="0200", stan="000007",
               f7="1206190000", tid="KIOSK001", mid="KIOSKMERCHANT01", amount=1234,
               currency=840, pan_masked="476173******0119")
    assert log.queue_reversal("k1", "timeout")
    log.close()
    code, findings = doctor(lane)
    assert (code, not_ok(findings)) == (1, {"pending payments": "FAIL"})
    (line,) = [f for f in findings if f["check"] == "pending payments"]
    assert "reversal of USD 12.34 for S001-L01-000007" in line["detail"]
    assert "0119" not in line["detail"]  # not even the masked PAN
    assert "kiosk acquirer drain" in line["fix"]


def test_a_reversal_owed_in_the_journal_fails(lane, real_broker, tmp_path):
    """kiosk-core stopped hard while the host was down: the journal still owes a reversal.
    (The simulated host stays down 4 s and the core retries after 2 s, then 4 s: the kill
    comes right after the first failed reversal, long before the third try.)"""
    assert kiosk_cli(lane, "catalog", "import", str(SAMPLE_CSV)).returncode == 0
    env = dict(lane, KIOSK__SIM__PAYMENT__UNAVAILABLE_SUFFIXES='["93"]')
    core = CoreProcess(env, tmp_path / "core.log").start()
    shopper = Shopper(real_broker, lane["KIOSK__STORE__LANE_ID"])
    try:
        shopper.wait_online()
        shopper.send("scan", code=MILK)
        shopper.send("checkout")
        assert shopper.send("pay", method="card")["ok"]
        shopper.wait_state(lambda s: s["state"] == "payment_unavailable")
        core.kill9()
    finally:
        shopper.close()
        core.stop()
    code, findings = doctor(lane)
    assert code == 1 and not_ok(findings)["pending payments"] == "FAIL"
    (line,) = [f for f in findings if f["check"] == "pending payments"]
    assert line["detail"].startswith("journal: reversal of USD 1.93,")
    assert verdicts(findings)["journal"] == "ok"


def test_the_demo_pin_and_demo_bus_passwords_fail(lane, tmp_path):
    state = Path(lane["KIOSK__PATHS__STATE_DIR"])
    (state / "etc" / "50-staff.toml").unlink()   # the packaged demo staff are back
    demo_creds = tmp_path / "demo-creds"
    demo_creds.mkdir()
    (demo_creds / "kiosk-cli.password").write_text("demo-not-a-real-password\n")
    (demo_creds / "kiosk-cli.password").chmod(0o600)
    code, findings = doctor(dict(lane, KIOSK__BUS__CREDENTIALS_DIR=str(demo_creds)))
    assert code == 1
    bad = not_ok(findings)
    assert bad["demo staff"] == "FAIL" and bad["demo bus passwords"] == "FAIL"
    (staff,) = [f for f in findings if f["check"] == "demo staff"]
    assert "S100 PIN" in staff["detail"] and "kiosk staff hash-pin" in staff["fix"]
    assert "2468" not in json.dumps(findings)   # the doctor names it, never prints it
    # the demo password is also not the broker's: the broker line says it refused it
    (broker,) = [f for f in findings if f["check"] == "broker"]
    assert broker["verdict"] == "FAIL" and "refused kiosk-cli: Not authorized" in broker["detail"]


def test_a_config_that_does_not_load_is_one_fail_line_naming_the_layer(lane):
    done = kiosk_cli(dict(lane, KIOSK__TAX__MODE="sometimes"), "doctor")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    first, fix, summary = done.stdout.strip().splitlines()
    assert first.startswith("FAIL  config  config error: environment KIOSK__TAX__MODE: tax.mode")
    assert "kiosk config check" in fix and summary == "doctor: 0 ok, 0 warn, 1 FAIL"
