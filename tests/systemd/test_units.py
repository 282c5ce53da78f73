"""The unit files: ``systemd-analyze verify`` (where installed) and the settings we rely on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import REPO

UNIT_DIR = REPO / "systemd"
SERVICES = {"core": "kiosk-core.service", "ui": "kiosk-ui.service",
            "scanner": "kiosk-scanner.service", "gpio": "kiosk-gpio.service",
            "voice run": "kiosk-voice.service"}
#: services that speak sd_notify (READY=1 when really working, WATCHDOG=1 from the main loop)
NOTIFY_SERVICES = ("core", "ui", "scanner", "gpio", "voice run")
SUPPORT = ["kiosk-fault@.service", "kiosk-firstboot.service"]
UNITS = [*SERVICES.values(), *SUPPORT, "kiosk.target"]
INSTALLED_KIOSK = "/opt/kiosk/.venv/bin/kiosk"
INSTALLED_FAULT = "/usr/local/libexec/kiosk-fault"
DEVICE_CLASSES = {"core": {"char-ttyAMA", "char-ttyS", "char-ttyUSB", "char-ttyACM"},
                  "ui": {"char-drm", "char-input"},
                  "scanner": {"char-video4linux", "char-input"},
                  "gpio": {"char-gpiochip"}, "voice run": {"char-alsa"}}


def read_unit(name: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (systemd allows repeated keys)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in (UNIT_DIR / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        out[section].setdefault(key, []).append(value)
    return out


def local_kiosk() -> str:
    found = Path(sys.executable).with_name("kiosk")
    if not found.exists():
        pytest.skip("no kiosk entry point next to this Python (pip install -e .)")
    return str(found)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_systemd_analyze_verify(tmp_path: Path):
    kiosk = local_kiosk()
    for name in UNITS:  # ExecStart points at the device's install paths: use ours here
        text = (UNIT_DIR / name).read_text().replace(f"{INSTALLED_KIOSK} ", f"{kiosk} ")
        text = text.replace(INSTALLED_FAULT, str(UNIT_DIR / "kiosk-fault"))
        (tmp_path / name).write_text(text)
    # a template is verified through an instance of it
    (tmp_path / "kiosk-fault@kiosk-core.service.service").symlink_to(
        tmp_path / "kiosk-fault@.service")
    names = [n for n in UNITS if n != "kiosk-fault@.service"]
    names.append("kiosk-fault@kiosk-core.service.service")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *(str(tmp_path / n) for n in names)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


def test_target_wants_every_service():
    target = read_unit("kiosk.target")["Unit"]
    wanted = " ".join(target["Wants"]).split()
    assert set(SERVICES.values()) <= set(wanted)


@pytest.mark.parametrize("command", SERVICES)
def test_service_settings(command: str):
    unit = read_unit(SERVICES[command])
    svc = unit["Service"]
    assert svc["ExecStart"] == [f"{INSTALLED_KIOSK} {command}"]  # Python directly, no shell
    assert svc["User"] == ["kiosk"]
    assert svc["StateDirectory"] == ["kiosk"]
    assert svc["Restart"] == ["on-failure"]
    assert "StartLimitIntervalSec" in unit["Unit"] and "StartLimitBurst" in unit["Unit"]
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "NoNewPrivileges": "yes", "DevicePolicy": "closed"}.items():
        assert svc[key] == [value], key
    assert {v.split()[0] for v in svc["DeviceAllow"]} == DEVICE_CLASSES[command]
    assert unit["Unit"]["OnFailure"] == ["kiosk-fault@%n.service"]
    assert "PrivateDevices" not in svc  # it would hide the hardware
    if command in NOTIFY_SERVICES:
        assert svc["Type"] == ["notify"] and svc["NotifyAccess"] == ["main"]
        assert svc["WatchdogSec"]
    else:
        assert svc["Type"] == ["simple"]
    if command == "core":
        after = " ".join(unit["Unit"]["After"]).split()
        for dep in ("mosquitto.service", "pcscd.socket", "time-sync.target"):
            assert dep in after
    if command == "ui":
        assert "KIVY_HOME=/var/lib/kiosk/ui/kivy" in svc["Environment"]
        assert "SDL_VIDEODRIVER=kmsdrm" in svc["Environment"]
        assert "kiosk-core.service" in " ".join(unit["Unit"]["After"]).split()
        assert "getty@tty1.service" in unit["Unit"]["Conflicts"]
    if command == "gpio":
        assert "GPIOZERO_PIN_FACTORY=lgpio" in svc["Environment"]


def test_fault_unit_runs_the_fault_command():
    unit = read_unit("kiosk-fault@.service")
    assert unit["Service"]["Type"] == ["oneshot"]
    assert unit["Service"]["ExecStart"] == [f"{INSTALLED_FAULT} %i"]
    assert (UNIT_DIR / "kiosk-fault").stat().st_mode & 0o111
    assert "OnFailure" not in unit["Unit"]  # a failing fault unit must not recurse


def test_firstboot_runs_before_the_services():
    unit = read_unit("kiosk-firstboot.service")["Unit"]
    before = " ".join(unit["Before"]).split()
    assert {"kiosk-core.service", "systemd-timesyncd.service"} <= set(before)
    assert "|/boot/firmware/kiosk-provision.toml" in unit["ConditionPathExists"]


def test_mosquitto_listens_on_loopback_only():
    lines = [ln.strip() for ln in (UNIT_DIR / "kiosk-mosquitto.conf").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert "listener 1883 127.0.0.1" in lines
    assert "set_tcp_nodelay true" in lines
    assert [ln for ln in lines if ln.startswith("listener")] == ["listener 1883 127.0.0.1"]
