"""The unit files: ``systemd-analyze verify`` and ``security`` (where installed) and the
settings we rely on: one identity per service, only the state it needs, the sandbox."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kiosk.config import UpdateConfig
from tests.harness import REPO

UNIT_DIR = REPO / "systemd"
RECIPE = tomllib.loads((REPO / "image-build/recipe.toml").read_text())
SERVICES = {"core": "kiosk-core.service", "ui": "kiosk-ui.service",
            "scanner": "kiosk-scanner.service", "gpio": "kiosk-gpio.service",
            "voice run": "kiosk-voice.service", "ereceipt serve": "kiosk-ereceipt.service",
            "sync": "kiosk-sync.service", "metrics": "kiosk-metrics.service"}
#: services that speak sd_notify (READY=1 when really working, WATCHDOG=1 from the main loop)
NOTIFY_SERVICES = ("core", "ui", "scanner", "gpio", "voice run", "ereceipt serve", "sync",
                   "metrics")
SUPPORT = ["kiosk-fault@.service", "kiosk-firstboot.service", "kiosk-scale@.service",
           "kiosk-update-commit.service"]
UNITS = [*SERVICES.values(), *SUPPORT, "kiosk.target"]
#: units of the store server (not of a lane, not in the lane image): the attendant station
STORE_UNITS = ["store/kiosk-attendant.service"]
INSTALLED_KIOSK = "/opt/kiosk/.venv/bin/kiosk"
INSTALLED_FAULT = "/usr/local/libexec/kiosk-fault"
DEVICE_CLASSES = {"core": {"char-ttyAMA", "char-ttyS", "char-ttyUSB", "char-ttyACM"},
                  "ui": {"char-drm", "char-input"},
                  "scanner": {"char-video4linux", "char-input"},
                  "gpio": {"char-gpiochip"}, "voice run": {"char-alsa"}, "ereceipt serve": set(),
                  "sync": set(), "metrics": set()}
#: the groups that own those device nodes (Debian's, and the image's gpio)
DEVICE_GROUPS = {"core": {"dialout"}, "ui": {"video", "render", "input"},
                 "scanner": {"video", "input"}, "gpio": {"gpio"}, "voice run": {"audio"},
                 "ereceipt serve": set(), "sync": set(), "metrics": set()}
#: (User=, StateDirectory=): a static user for the services that keep state, else DynamicUser=
IDENTITY = {"core": ("kiosk-core", "kiosk"), "ui": ("kiosk-ui", "kiosk-ui"),
            "scanner": (None, None), "gpio": (None, None), "voice run": (None, None),
            "ereceipt serve": ("kiosk-core", None),  # core's user, seeing only the receipts
            "sync": ("kiosk-core", None),  # core's user, to read the journal (read-only)
            "metrics": ("kiosk-core", None)}  # the same, for the journal's counts
#: services whose failure leaves the lane selling: no OnFailure= (no red light), a condition
#: that skips them on a lane without their file
OPTIONAL = {"ereceipt serve": "/var/lib/kiosk/ereceipt.key", "sync": "/etc/kiosk/sync/token",
            "metrics": "/etc/kiosk/bus/kiosk-metrics.password"}
#: the broker user each unit connects as (the integrator's convention, kiosk/bus)
BUS_USER = {"kiosk-core.service": "kiosk-core", "kiosk-ui.service": "kiosk-ui",
            "kiosk-scanner.service": "kiosk-scanner", "kiosk-gpio.service": "kiosk-gpio",
            "kiosk-voice.service": "kiosk-voice", "kiosk-sync.service": "kiosk-sync",
            "kiosk-fault@.service": "kiosk-fault",  # it may only publish the core status
            "kiosk-scale@.service": "kiosk-scale", "kiosk-metrics.service": "kiosk-metrics"}
CORE_STATE = "/var/lib/kiosk"
#: the exposure ceilings (issue 14, item 13): long-running services 4.9, the UI 6.0;
#: firstboot as low as its job allows (root, three capabilities: see the unit); the update
#: commit below firstboot: the tool scores its User=kiosk-core (0.5), and its root
#: ExecStart=! with one capability scores 0.9 (the unit without User=): 1.0 covers both
EXPOSURE_LIMIT = {"kiosk-core.service": 4.9, "kiosk-scanner.service": 4.9,
                  "kiosk-gpio.service": 4.9, "kiosk-voice.service": 4.9,
                  "kiosk-fault@.service": 4.9, "kiosk-ui.service": 6.0,
                  "kiosk-ereceipt.service": 1.5, "kiosk-sync.service": 1.5,
                  "kiosk-scale@.service": 4.9, "kiosk-metrics.service": 1.5,
                  "kiosk-firstboot.service": 2.0, "kiosk-update-commit.service": 1.0,
                  "store/kiosk-attendant.service": 1.5}
#: protections a unit may leave off only with a comment saying why ("no Key=: ...")
EXPLAINED_IF_OFF = ("MemoryDenyWriteExecute", "ProcSubset", "ProtectClock", "PrivateNetwork",
                    "PrivateDevices", "PrivateUsers", "IPAddressDeny")
#: the capabilities a root unit keeps (every other unit: none)
CAPABILITIES = {"kiosk-firstboot.service": "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER",
                "kiosk-update-commit.service": "CAP_DAC_OVERRIDE"}
SANDBOX = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
           "PrivateTmp": "yes", "PrivateMounts": "yes", "ProtectKernelTunables": "yes",
           "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
           "ProtectControlGroups": "yes", "ProtectHostname": "yes", "ProtectProc": "invisible",
           "RestrictNamespaces": "yes", "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes",
           "LockPersonality": "yes", "SystemCallArchitectures": "native",
           "SystemCallErrorNumber": "EPERM", "DevicePolicy": "closed"}


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
    (tmp_path / "kiosk-scale@bagging.service").symlink_to(tmp_path / "kiosk-scale@.service")
    names = [n for n in UNITS if n not in ("kiosk-fault@.service", "kiosk-scale@.service")]
    names += ["kiosk-fault@kiosk-core.service.service", "kiosk-scale@bagging.service"]
    done = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           *(str(tmp_path / n) for n in names)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
@pytest.mark.parametrize("name", STORE_UNITS)
def test_systemd_analyze_verify_store_units(tmp_path: Path, name: str):
    kiosk = local_kiosk()
    unit = tmp_path / Path(name).name
    unit.write_text((UNIT_DIR / name).read_text().replace(f"{INSTALLED_KIOSK} ", f"{kiosk} "))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr + done.stdout


def test_the_attendant_station_is_a_hardened_store_service():
    """kiosk-attendant: ``kiosk attendant serve`` under a transient user with only its own
    state folder (its sign-in lockout); the site's settings from a root-only environment file
    under /etc/kiosk; every secret (store-broker password, station signing key, TLS key) a
    credential, never a path the service opens itself; on the store server, not the lane."""
    unit = read_unit("store/kiosk-attendant.service")
    svc = unit["Service"]
    (exec_start,) = svc["ExecStart"]
    assert exec_start.startswith(f"{INSTALLED_KIOSK} attendant serve ")
    assert svc["Type"] == ["notify"] and svc["NotifyAccess"] == ["main"] and svc["WatchdogSec"]
    assert svc["Restart"] == ["on-failure"]
    assert "StartLimitIntervalSec" in unit["Unit"] and "StartLimitBurst" in unit["Unit"]
    assert svc["DynamicUser"] == ["yes"] and "User" not in svc
    assert svc["StateDirectory"] == ["kiosk-attendant"] and svc["StateDirectoryMode"] == ["0700"]
    assert "KIOSK__PATHS__STATE_DIR=/var/lib/kiosk-attendant" in svc["Environment"]
    assert svc["UMask"] == ["0077"] and svc["PrivateDevices"] == ["yes"]
    assert "DeviceAllow" not in svc and "SupplementaryGroups" not in svc
    assert svc["EnvironmentFile"] == ["/etc/kiosk/attendant.env"]
    creds = dict(c.split(":", 1) for c in svc["LoadCredential"])
    assert creds == {"bus-password": "/etc/kiosk/store/kiosk-attendant.password",
                     "station-key": "/etc/kiosk/station.key",
                     "tls-key": "/etc/kiosk/attendant-tls/server.key"}
    args = exec_start.split()
    # the secrets are read from the credentials directory (%d), over TLS only
    assert args[args.index("--key") + 1] == "%d/station-key"
    assert args[args.index("--tls-key") + 1] == "%d/tls-key"
    assert args[args.index("--credentials-dir") + 1] == "%d"
    assert "--cert" in args and "--cafile" in args
    assert not re.search(rf"{CORE_STATE}(/|\b(?!-))", " ".join(args + svc["Environment"]))
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "kiosk.target" not in " ".join(v for vals in unit["Unit"].values() for v in vals)


def test_target_wants_every_service():
    target = read_unit("kiosk.target")["Unit"]
    wanted = " ".join(target["Wants"]).split()
    assert set(SERVICES.values()) <= set(wanted)


@pytest.mark.parametrize("command", SERVICES)
def test_service_settings(command: str):
    unit = read_unit(SERVICES[command])
    svc = unit["Service"]
    assert svc["ExecStart"] == [f"{INSTALLED_KIOSK} {command}"]  # Python directly, no shell
    assert svc["Restart"] == ["on-failure"]
    assert "StartLimitIntervalSec" in unit["Unit"] and "StartLimitBurst" in unit["Unit"]
    assert {v.split()[0] for v in svc.get("DeviceAllow", [])} == DEVICE_CLASSES[command]
    if DEVICE_CLASSES[command]:
        assert "PrivateDevices" not in svc  # it would hide the hardware
    else:
        assert svc["PrivateDevices"] == ["yes"]
    if command in OPTIONAL:  # down, it leaves the lane selling: no fault unit
        assert "OnFailure" not in unit["Unit"]
        assert unit["Unit"]["ConditionPathExists"] == [OPTIONAL[command]]
    else:
        assert unit["Unit"]["OnFailure"] == ["kiosk-fault@%n.service"]
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
        assert "KIVY_HOME=/var/lib/kiosk-ui/ui/kivy" in svc["Environment"]
        assert "SDL_VIDEODRIVER=kmsdrm" in svc["Environment"]
        assert "kiosk-core.service" in " ".join(unit["Unit"]["After"]).split()
        assert "getty@tty1.service" in unit["Unit"]["Conflicts"]
    if command == "gpio":
        assert "GPIOZERO_PIN_FACTORY=lgpio" in svc["Environment"]


@pytest.mark.parametrize("command", SERVICES)
def test_each_service_has_its_own_identity_and_only_its_state(command: str):
    """One user per service: a static one (made by the image) where it keeps state,
    DynamicUser= where it keeps none; only kiosk-core has /var/lib/kiosk; device access
    through the unit's own SupplementaryGroups=."""
    svc = read_unit(SERVICES[command])["Service"]
    user, state = IDENTITY[command]
    if user is None:
        assert svc["DynamicUser"] == ["yes"] and "User" not in svc
        assert "StateDirectory" not in svc
    elif command == "sync":  # kiosk-core's user, keeping no state, the journal read-only:
        assert svc["User"] == [user] and svc["Group"] == [user]  # it writes only the inbox
        assert "StateDirectory" not in svc  # where its catalog puller leaves a snapshot
        assert svc["ReadWritePaths"] == [f"-{CORE_STATE}/catalog-inbox"]
        assert svc["ProtectSystem"] == ["strict"]
        assert "sync-token:/etc/kiosk/sync/token" in svc["LoadCredential"]
    elif command == "metrics":  # kiosk-core's user, writing nothing, the journal read-only
        assert svc["User"] == [user] and svc["Group"] == [user]
        assert "StateDirectory" not in svc and "ReadWritePaths" not in svc
        assert svc["ProtectSystem"] == ["strict"]
    elif state is None:  # kiosk-ereceipt: kiosk-core's user, its state hidden but receipts
        assert svc["User"] == [user] and svc["Group"] == [user]
        assert "StateDirectory" not in svc and "ReadWritePaths" not in svc
        assert svc["TemporaryFileSystem"] == [f"{CORE_STATE}:ro"]
        assert svc["BindReadOnlyPaths"] == [f"{CORE_STATE}/receipts"]
        assert "BindPaths" not in svc
        assert svc["LoadCredential"] == [f"ereceipt-key:{CORE_STATE}/ereceipt.key"]
    else:
        assert svc["User"] == [user] and svc["Group"] == [user]
        assert "DynamicUser" not in svc
        assert svc["StateDirectory"] == [state] and svc["StateDirectoryMode"] == ["0700"]
    assert set(" ".join(svc.get("SupplementaryGroups", [])).split()) == DEVICE_GROUPS[command]
    assert svc["UMask"] == ["0077"]
    opened = " ".join(v for key in ("WorkingDirectory", "ReadWritePaths", "ReadOnlyPaths",
                                    "BindPaths", "BindReadOnlyPaths", "Environment")
                      for v in svc.get(key, []))
    if command == "sync":
        opened = opened.replace(f"-{CORE_STATE}/catalog-inbox", "")
    if command not in ("core", "ereceipt serve"):
        assert not re.search(rf"{CORE_STATE}(/|\b(?!-))", opened), opened


def test_the_ui_keeps_its_state_in_its_own_folder():
    """paths.state_dir is where the UI puts Kivy's home and its font cache: the unit points
    it at the UI's own StateDirectory=, never at kiosk-core's."""
    from kiosk.config import load_config

    svc = read_unit("kiosk-ui.service")["Service"]
    env = dict(v.split("=", 1) for v in svc["Environment"])
    own = f"/var/lib/{svc['StateDirectory'][0]}"
    config = load_config(environ={"KIOSK_CONFIG_DIR": "/nonexistent",
                                  "KIOSK__PATHS__STATE_DIR": env["KIOSK__PATHS__STATE_DIR"]})
    assert config.paths.state_dir == Path(own)
    assert env["KIVY_HOME"].startswith(own + "/")


def test_voice_models_are_outside_the_core_state():
    """kiosk-voice (DynamicUser=) cannot open kiosk-core's 0700 /var/lib/kiosk: the models
    `kiosk voice install-model` installs must land where it can read them."""
    from kiosk_voice.config import VoiceConfig

    from kiosk.config import load_config

    config = load_config(environ={"KIOSK_CONFIG_DIR": "/nonexistent"})
    for models in (config.voice.models_dir, VoiceConfig().models_dir):
        assert not models.is_relative_to(config.paths.state_dir), models
        assert not models.is_relative_to(CORE_STATE), models


@pytest.mark.parametrize("name", [*SERVICES.values(), *SUPPORT, *STORE_UNITS])
def test_sandbox(name: str):
    svc = read_unit(name)["Service"]
    for key, value in SANDBOX.items():
        assert svc.get(key) == [value], key
    assert svc["CapabilityBoundingSet"] == [CAPABILITIES.get(name, "")]
    assert svc["AmbientCapabilities"] == [""]
    assert svc["SystemCallFilter"][:2] == ["@system-service", "~@privileged @resources"]
    if name in BUS_USER:
        assert [c for c in svc["LoadCredential"] if c.startswith("bus-password:")] == [
            f"bus-password:/etc/kiosk/bus/{BUS_USER[name]}.password"]
    if name in ("kiosk-core.service", "kiosk-firstboot.service"):
        return
    if name == "kiosk-update-commit.service":  # no network at all
        assert svc["PrivateNetwork"] == ["yes"] and svc["IPAddressDeny"] == ["any"]
        assert "IPAddressAllow" not in svc and svc["RestrictAddressFamilies"] == ["AF_UNIX"]
        return
    if name == "kiosk-sync.service":  # the back office's address is site config (sync.url)
        assert "IPAddressDeny" not in svc
        return
    if name in ("kiosk-ereceipt.service", "kiosk-metrics.service", *STORE_UNITS):
        # phones, the store's Prometheus, the attendant's tablet and the store broker: on
        # the store's (private) network
        assert svc["IPAddressDeny"] == ["any"]
        assert svc["IPAddressAllow"] == ["localhost link-local 10.0.0.0/8 172.16.0.0/12"
                                         " 192.168.0.0/16 fc00::/7"]
        return
    # everything else talks to the loopback broker only
    assert svc["IPAddressDeny"] == ["any"] and svc["IPAddressAllow"] == ["localhost"]


@pytest.mark.parametrize("name", [*SERVICES.values(), *SUPPORT, *STORE_UNITS])
def test_every_protection_left_off_says_why(name: str):
    text = (UNIT_DIR / name).read_text()
    svc = read_unit(name)["Service"]
    comments = " ".join(ln.lstrip("#").strip() for ln in text.splitlines()
                        if ln.startswith("#")).lower()
    for key in EXPLAINED_IF_OFF:
        if key not in svc:
            assert f"no {key.lower()}=" in comments, f"{name}: {key}= off without a reason"


def exposure(unit: Path) -> tuple[float, list[str]]:
    """systemd-analyze's overall exposure of a unit file, and the items it counts against it."""
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                           str(unit)], capture_output=True, text=True, timeout=120)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert found, done.stdout + done.stderr
    items = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                            "--json=short", str(unit)], capture_output=True, text=True,
                           timeout=120)
    import json

    open_items = [f"{i['name']} {i['exposure']}" for i in json.loads(items.stdout)
                  if i.get("exposure")]
    return float(found.group(1)), open_items


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
@pytest.mark.parametrize("name", sorted(EXPOSURE_LIMIT))
def test_security_exposure(name: str):
    score, open_items = exposure(UNIT_DIR / name)
    assert score <= EXPOSURE_LIMIT[name], f"{name}: {score} > {EXPOSURE_LIMIT[name]}: " \
        + "; ".join(open_items)


def test_each_scale_is_an_instance_of_one_template():
    """kiosk-scale@<name>: ``kiosk scale <name>``, a transient user with only the serial
    ports (dialout), notify + watchdog like the other device services."""
    unit = read_unit("kiosk-scale@.service")
    svc = unit["Service"]
    assert svc["ExecStart"] == [f"{INSTALLED_KIOSK} scale %i"]
    assert svc["Type"] == ["notify"] and svc["NotifyAccess"] == ["main"]
    assert svc["DynamicUser"] == ["yes"] and svc["SupplementaryGroups"] == ["dialout"]
    assert {v.split()[0] for v in svc["DeviceAllow"]} == DEVICE_CLASSES["core"]
    assert unit["Unit"]["OnFailure"] == ["kiosk-fault@%n.service"]
    assert unit["Install"]["WantedBy"] == ["kiosk.target"]


def test_fault_unit_runs_the_fault_command():
    unit = read_unit("kiosk-fault@.service")
    assert unit["Service"]["Type"] == ["oneshot"]
    assert unit["Service"]["ExecStart"] == [f"{INSTALLED_FAULT} %i"]
    assert (UNIT_DIR / "kiosk-fault").stat().st_mode & 0o111
    assert "OnFailure" not in unit["Unit"]  # a failing fault unit must not recurse


def test_firstboot_runs_before_the_services():
    unit = read_unit("kiosk-firstboot.service")
    before = " ".join(unit["Unit"]["Before"]).split()
    assert {"kiosk-core.service", "systemd-timesyncd.service", "mosquitto.service"} <= set(before)
    assert "|/boot/firmware/kiosk-provision.toml" in unit["Unit"]["ConditionPathExists"]
    svc = unit["Service"]
    # the lane's file (it completes the site config), then the bus credentials (the broker
    # starts after this unit); provision runs even with no file: it re-applies the kept
    # provisioning on a new root
    assert svc["ExecStart"] == [f"{INSTALLED_KIOSK} provision --boot /boot/firmware",
                                f"{INSTALLED_KIOSK} bus provision"]
    # only the remounts and the machine-id commit run outside the sandbox ("+")
    outside = [cmd for key in ("ExecStartPre", "ExecStartPost", "ExecStopPost")
               for cmd in svc[key] if "+" in cmd.split()[0]]
    assert sorted(cmd.split(None, 1)[0].lstrip("-+") for cmd in outside) == [
        "/bin/mount", "/bin/mount", "/bin/mount", "/bin/mount", "/bin/systemd-machine-id-setup"]
    assert svc["PrivateNetwork"] == ["yes"] and svc["PrivateDevices"] == ["yes"]
    assert svc["ReadWritePaths"] == ["/etc /boot/firmware -/var/lib/kiosk"]


def test_the_update_commit_runs_only_once_the_lane_is_up():
    """kiosk-update-commit: the commit of a tried A/B update (``kiosk update --commit``)
    only while one is on trial, only after kiosk-core reported READY (Type=notify: After=
    waits for it; Requires= fails the commit when kiosk-core does not get there) and
    kiosk.target is reached, only after the journal verified as kiosk-core's user; the boot
    partition writable for this run alone. Without it an update that came up was never
    committed and the next reboot silently went back to the old slot."""
    unit = read_unit("kiosk-update-commit.service")
    deps, svc = unit["Unit"], unit["Service"]
    assert read_unit("kiosk-core.service")["Service"]["Type"] == ["notify"]
    assert {"kiosk-core.service", "kiosk.target"} <= set(" ".join(deps["After"]).split())
    assert "kiosk-core.service" in " ".join(deps["Requires"]).split()
    assert "kiosk-core.service" in " ".join(deps["BindsTo"]).split()
    assert deps["ConditionPathExists"] == [f"{CORE_STATE}/update.json"]
    assert svc["Type"] == ["oneshot"] and "RemainAfterExit" not in svc
    assert svc["ExecCondition"] == [f"{INSTALLED_KIOSK} update --pending"]
    # the checks as kiosk-core's user (it owns the journal), the commit alone as root ("!")
    assert svc["User"] == ["kiosk-core"] and svc["Group"] == ["kiosk-core"]
    assert svc["ExecStartPre"] == [f"{INSTALLED_KIOSK} journal verify",
                                   "+/bin/mount -o remount,rw /boot/firmware"]
    assert svc["ExecStart"] == [f"!{INSTALLED_KIOSK} update --commit"]
    # the settle's longest wait the configuration allows ends before the unit's timeout (a
    # timeout would say "failed" for another reason than the lane's)
    longest = next(m.le for m in UpdateConfig.model_fields["settle_timeout_s"].metadata
                   if hasattr(m, "le"))
    assert int(svc["TimeoutStartSec"][0]) >= longest + 60
    assert svc["ExecStopPost"][-1] == "-+/bin/mount -o remount,ro /boot/firmware"
    assert svc["ReadWritePaths"] == [f"/boot/firmware {CORE_STATE}"]
    assert svc["PrivateDevices"] == ["yes"] and "DeviceAllow" not in svc
    # started with the lane: enabled into kiosk.target.wants by the image, not listed in
    # the target's Wants= (those are the services `kiosk doctor` expects to stay active)
    assert unit["Install"]["WantedBy"] == ["kiosk.target"]
    assert "kiosk-update-commit.service" in RECIPE["units"]["enable"]
    assert "kiosk-update-commit.service" not in " ".join(
        read_unit("kiosk.target")["Unit"]["Wants"]).split()
    # the boot partition is remounted rw by this unit and firstboot only
    remounting = {p.name for p in UNIT_DIR.glob("*.service")
                  if "remount,rw /boot/firmware" in p.read_text()}
    assert remounting == {"kiosk-firstboot.service", "kiosk-update-commit.service"}


def test_mosquitto_listens_on_loopback_only():
    lines = [ln.strip() for ln in (UNIT_DIR / "kiosk-mosquitto.conf").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert "listener 1883 127.0.0.1" in lines
    assert "set_tcp_nodelay true" in lines
    assert [ln for ln in lines if ln.startswith("listener")] == ["listener 1883 127.0.0.1"]
