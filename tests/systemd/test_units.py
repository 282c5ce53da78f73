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
            "scanner": "kiosk-scanner.service", "gpio": "kiosk-gpio.service"}
UNITS = [*SERVICES.values(), "kiosk.target"]
INSTALLED_KIOSK = "/opt/kiosk/.venv/bin/kiosk"


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
    for name in UNITS:  # ExecStart points at the device's install path: use ours here
        text = (UNIT_DIR / name).read_text().replace(f"ExecStart={INSTALLED_KIOSK} ",
                                                     f"ExecStart={kiosk} ")
        (tmp_path / name).write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *(str(tmp_path / n) for n in UNITS)],
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
    assert svc["DeviceAllow"], "each unit names its device classes"
    assert "PrivateDevices" not in svc  # it would hide the hardware
    if command == "core":
        assert svc["Type"] == ["notify"] and svc["NotifyAccess"] == ["main"]
        assert svc["WatchdogSec"]
        after = " ".join(unit["Unit"]["After"]).split()
        for dep in ("mosquitto.service", "pcscd.socket", "time-sync.target"):
            assert dep in after
    else:
        assert svc["Type"] == ["simple"]
    if command == "ui":
        assert "KIVY_HOME=/var/lib/kiosk/ui/kivy" in svc["Environment"]
        assert "kiosk-core.service" in " ".join(unit["Unit"]["After"]).split()


def test_mosquitto_listens_on_loopback_only():
    lines = [ln.strip() for ln in (UNIT_DIR / "kiosk-mosquitto.conf").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert "listener 1883 127.0.0.1" in lines
    assert "set_tcp_nodelay true" in lines
    assert [ln for ln in lines if ln.startswith("listener")] == ["listener 1883 127.0.0.1"]
