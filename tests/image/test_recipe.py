"""The image recipe and build script, without building (fast; part of the default run)."""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import re
import subprocess
import sys
import tomllib

import pytest

from tests.harness import REPO
from tests.systemd.test_units import read_unit

RECIPE = tomllib.loads((REPO / "image-build/recipe.toml").read_text())


def load_build():
    loader = importlib.machinery.SourceFileLoader("image_build", str(REPO / "image-build/build"))
    spec = importlib.util.spec_from_loader("image_build", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def make_build(tmp_path, arch: str, flavour: str):
    mod = load_build()
    args = argparse.Namespace(arch=arch, flavour=flavour, models=None, cache=str(tmp_path),
                              out=str(tmp_path), no_zstd=True)
    return mod.Build(args)


def test_every_unit_the_recipe_installs_exists():
    for unit in RECIPE["units"]["install"]:
        assert (REPO / "systemd" / unit).exists(), unit
    assert "kiosk.target" in RECIPE["units"]["enable"]
    assert RECIPE["image"]["default_target"] == "kiosk.target"
    for getty in ("getty@tty1.service", "serial-getty@ttyS0.service",
                  "serial-getty@ttyAMA0.service"):
        assert getty in RECIPE["units"]["mask"]


def test_partitions_by_label_and_a_read_only_root():
    parts = {p["name"]: p for p in RECIPE["partition"]}
    assert parts["boot"]["fs"] == "vfat" and RECIPE["partition"][0]["name"] == "boot"
    assert "ro" in parts["root"]["options"].split(",")
    assert parts["data"]["mount"] == "/var/lib"
    assert "root=LABEL=kiosk-root" in RECIPE["image"]["cmdline"]
    assert " ro " in f" {RECIPE['image']['cmdline']} "
    assert {t["mount"] for t in RECIPE["tmpfs"]} >= {"/tmp", "/var/tmp"}
    assert [b["mount"] for b in RECIPE["bind"]] == ["/var/log"]  # the journal on data


def test_models_are_pinned():
    for flavour in RECIPE["flavour"].values():
        for name in flavour["models"]:
            assert len(RECIPE["model"][name]["sha256"]) == 64


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_requirements_for_the_target(tmp_path, arch: str):
    full = make_build(tmp_path, arch, "full").requirements()
    names = {r.split(">")[0].split("=")[0].split("<")[0].split(";")[0] for r in full}
    assert "pyscard" not in names and "evdev" not in names  # from Debian (sdist only)
    assert ("lgpio" in names) == (arch == "arm64")  # marker evaluated for the target
    assert "kivy" in names and "vosk" in names
    ci = make_build(tmp_path, arch, "ci").requirements()
    assert not any(r.startswith(("kivy", "vosk", "opencv")) for r in ci)
    assert all(";" not in r for r in full + ci)


def test_raspi_firmware_keeps_the_uart_for_the_printer():
    text = (REPO / "image-build/overlay/common/etc/default/raspi-firmware").read_text()
    assert 'CONSOLES=""' in text and 'ROOTPART="LABEL=kiosk-root"' in text
    assert 'CMA="0"' in text  # no cma= (Debian omits it on a Pi 4; the build host is no Pi)


def test_hardware_watchdog_and_gpio_group():
    conf = (REPO / "image-build/overlay/common/etc/systemd/system.conf.d/kiosk-watchdog.conf")
    assert "RuntimeWatchdogSec=" in conf.read_text()
    rule = (REPO / "image-build/overlay/common/etc/udev/rules.d/60-kiosk-gpio.rules").read_text()
    assert 'GROUP="gpio"' in rule and "gpiochip*" in rule
    assert RECIPE["groups"]["gpio"]["system"] is True
    gpio = read_unit("kiosk-gpio.service")["Service"]
    assert "gpio" in gpio["SupplementaryGroups"][0].split()


#: groups a Debian root has before the build adds any: base-passwd's (dialout, audio,
#: video) and udev's (input, render; the earlier images' `useradd --groups` relied on them)
DEBIAN_GROUPS = {"dialout", "audio", "video", "input", "render"}


def test_the_image_installs_every_unit_the_lane_runs():
    """What kiosk.target wants, and the lane's timers, are in the image (kiosk-sync was not:
    kiosk.target wanted a unit the card did not have)."""
    wanted = {u for line in read_unit("kiosk.target")["Unit"]["Wants"] for u in line.split()
              if u.startswith("kiosk-")}
    timers = {p.name for p in (REPO / "systemd").glob("kiosk-*.timer")}
    assert wanted | timers <= set(RECIPE["units"]["install"])
    assert timers <= set(RECIPE["units"]["enable"])


def test_store_server_units_stay_off_the_lane_image():
    """The back office's and the attendant station's units (systemd/backoffice/,
    systemd/store/) run on the store's servers: the lane image neither installs nor enables
    them, and kiosk.target does not want them."""
    server_units = {p.name for folder in ("backoffice", "store")
                    for p in (REPO / "systemd" / folder).iterdir()}
    assert "kiosk-attendant.service" in server_units
    lane = set(RECIPE["units"]["install"]) | set(RECIPE["units"]["enable"])
    lane |= {u for line in read_unit("kiosk.target")["Unit"]["Wants"] for u in line.split()}
    assert not server_units & lane


def test_every_unit_identity_exists_in_the_image():
    """Each static User= of a unit is a recipe user whose state folder is the unit's
    StateDirectory=; every SupplementaryGroups= group exists; DynamicUser= names resolve."""
    dynamic = False
    for unit in RECIPE["units"]["install"]:
        svc = read_unit(unit).get("Service", {})
        dynamic |= svc.get("DynamicUser") == ["yes"]
        for user in svc.get("User", []):
            assert user in RECIPE["users"], f"{unit}: User={user} is not made by the image"
            if "StateDirectory" not in svc and unit == "kiosk-metrics.service":
                # kiosk-core's, reading its state (the journal) with all of it read-only
                assert svc["ProtectSystem"] == ["strict"] and "ReadWritePaths" not in svc
                continue
            if "StateDirectory" not in svc:  # kiosk-core's user borrowed: ereceipt (its state
                # hidden), receipt-prune (the receipts only), sync (read-only but its inbox)
                assert svc["ProtectSystem"] == ["strict"], unit
                continue
            state = svc["StateDirectory"][0]
            assert RECIPE["users"][user]["state"] == f"/var/lib/{state}", unit
        for group in " ".join(svc.get("SupplementaryGroups", [])).split():
            assert group in DEBIAN_GROUPS | set(RECIPE["groups"]), f"{unit}: group {group}"
    # device access is the unit's (SupplementaryGroups=), never a user's group membership
    assert all("groups" not in user for user in RECIPE["users"].values())
    assert set(RECIPE["users"]) == {"kiosk-core", "kiosk-ui"}
    assert dynamic and "libnss-systemd" in RECIPE["packages"]["common"]


def test_configure_makes_each_user_and_its_private_state_folder(tmp_path):
    """The configure stage's commands (recorded, not run): useradd per recipe user with no
    supplementary groups, then its state folder owned by it, mode 0700."""
    build = make_build(tmp_path, "amd64", "full")
    build.root = root = tmp_path / "rootfs"
    for sub in ("etc/systemd/system", "etc/mosquitto/conf.d", "etc/default", "var/log",
                "var/lib"):
        (root / sub).mkdir(parents=True)
    ran: list[list[str]] = []
    build.run = lambda *cmd, **_: ran.append([str(c) for c in cmd]) or ""
    build.stage_configure()
    inside = [cmd[2:] for cmd in ran if cmd[:2] == ["chroot", str(root)]]
    for name, user in RECIPE["users"].items():
        add = [c for c in inside if c[0] == "useradd" and c[-1] == name]
        assert len(add) == 1 and "--groups" not in add[0], add
        assert ["install", "-d", "-o", name, "-g", name, "-m", "0700", user["state"]] in inside
        assert inside.index(add[0]) < inside.index(
            ["install", "-d", "-o", name, "-g", name, "-m", "0700", user["state"]])


@pytest.mark.parametrize("flavour", sorted(RECIPE["flavour"]))
def test_each_flavours_device_config_is_valid(tmp_path, flavour: str):
    """What the build's `kiosk config check` sees (and every service at boot, before any
    provisioning): the packaged defaults under the flavour's /etc/kiosk. The full image is
    a production device: no simulator may be left selected."""
    from kiosk.config import load_config

    site = tmp_path / "etc-kiosk"
    site.mkdir()
    for overlay in RECIPE["flavour"][flavour]["overlays"]:
        for toml in sorted((REPO / "image-build" / overlay / "etc/kiosk").glob("*.toml")):
            (site / toml.name).write_bytes(toml.read_bytes())
    config = load_config(site_dir=site, environ={})
    assert config.security.production is (flavour == "full")
    if flavour == "full":
        assert "sim" not in (config.devices.scanner, config.devices.printer,
                             config.devices.payment)


def test_help_lists_every_subcommand():
    done = subprocess.run([sys.executable, str(REPO / "image-build/build"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    subcommands = load_build().SUBCOMMANDS
    assert "deps" in subcommands
    for name, (_func, text) in subcommands.items():
        assert f"  {name}" in done.stdout and text in done.stdout, done.stdout
    for option in ("--arch", "--flavour", "--models", "--cache", "--out", "--no-zstd"):
        assert option in done.stdout


def test_the_release_file_is_what_kiosk_version_reads(tmp_path):
    from kiosk.ops.version import RELEASE_KEYS, read_release

    build = make_build(tmp_path, "arm64", "full")
    (tmp_path / "kiosk-release").write_text(build.release())
    fields = read_release(tmp_path / "kiosk-release")
    assert set(RELEASE_KEYS) - {"SLOT"} <= set(fields)
    assert fields["BUILD_ID"] == build.build_id and fields["VARIANT"] == "arm64"
    assert fields["KIOSK_COMMIT"].startswith(build.commit)
    assert re.fullmatch(r"\d{8}T\d{4}Z-[0-9a-f]{7}", build.build_id)


def test_the_data_partition_grows_to_the_card_on_first_boot():
    """The recipe's 768 MiB data partition is grown before it is checked and mounted, by a
    unit the image enables (the script itself: tests/image/test_growdata.py)."""
    overlay = REPO / "image-build/overlay/common"
    unit = (overlay / "etc/systemd/system/kiosk-growdata.service").read_text()
    assert "kiosk-growdata.service" in RECIPE["units"]["enable"]
    assert "WantedBy=var-lib.mount" in unit and "DefaultDependencies=no" in unit
    before = " ".join(line.split("=", 1)[1] for line in unit.splitlines()
                      if line.startswith("Before="))
    assert "var-lib.mount" in before
    assert r"systemd-fsck@dev-disk-by\x2dlabel-kiosk\x2ddata.service" in before
    assert "ExecStart=/usr/local/libexec/kiosk-growdata /dev/disk/by-label/kiosk-data" in unit
    assert (overlay / "usr/local/libexec/kiosk-growdata").stat().st_mode & 0o111
    assert "fdisk" in RECIPE["packages"]["common"]  # sfdisk; partx, findmnt: util-linux
    data = next(p for p in RECIPE["partition"] if p["label"] == "kiosk-data")
    assert data is RECIPE["partition"][-1]  # the last one: only it can grow


def test_the_image_stage_writes_what_kiosk_flash_accepts(tmp_path):
    """The build's image and bmap stages on a tiny root (real mkfs, sfdisk, bmaptool): the
    files are named as docs/technician.md says, and `kiosk flash --check` finds the
    partitions the image's own manifest lists."""
    build = make_build(tmp_path, "amd64", "ci")
    build.root = root = tmp_path / "rootfs"
    for sub in ("boot/firmware", "var/lib/kiosk", "etc"):
        (root / sub).mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(RECIPE["image"]["cmdline"] + "\n")
    (root / "etc/kiosk-release").write_text(build.release())
    for p in build.recipe["partition"]:  # small, to keep the test quick
        p["size_mib"] = {"vfat": 64, "ext4": p["size_mib"] and 8}[p["fs"]]
    build.work = tmp_path / "work"
    build.work.mkdir()
    build.stage_image()
    build.stage_bmap()
    img = tmp_path / "kiosk-amd64-ci.img"
    assert img.exists() and (tmp_path / "kiosk-amd64-ci.img.bmap").exists()
    layout = build.figures["layout"]
    assert [p["label"] for p in layout] == ["KIOSK-BOOT", "kiosk-root", "kiosk-data"]
    assert build.figures["image_mib"] == layout[-1]["start_mib"] + layout[-1]["size_mib"] + 1
    card = tmp_path / "card.bin"
    with open(card, "wb") as fh:
        fh.truncate(img.stat().st_size + 2**20)
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "flash", str(img), str(card),
                           "--check"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert f"(kiosk-amd64-ci, build {build.build_id}," in done.stderr
