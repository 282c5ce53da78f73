"""The image recipe and build script, without building (fast; part of the default run)."""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import tomllib

import pytest

from tests.harness import REPO

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
    assert "gpio" in RECIPE["users"]["kiosk"]["groups"]
