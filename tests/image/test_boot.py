"""The OS image: built by image-build/build, booted under QEMU by image-build/boot-test.

Not in the default run (minutes, root, KVM): ``KIOSK_IMAGE_TESTS=1 pytest -m image
tests/image``. ``KIOSK_IMAGE=path.img`` boots an image already built; otherwise the
amd64 CI flavour is built first (apt and wheel caches in var/image-cache).

One module-scoped boot sequence (two boots) backs every assertion: boot 1 reaches
kiosk.target with kiosk-core READY and the broker up, survives a SIGSTOPped core (the
systemd watchdog restarts it) and starts a card payment; QEMU is killed mid-payment; boot 2
checks the journal and that the in-flight authorization was reversed, never charged.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO

pytestmark = [
    pytest.mark.image,
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("KIOSK_IMAGE_TESTS") != "1",
                       reason="image tests run with KIOSK_IMAGE_TESTS=1 (root, QEMU, minutes)"),
]


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def image() -> Path:
    given = os.environ.get("KIOSK_IMAGE")
    if given:
        return Path(given)
    out = REPO / "var/image"
    done = subprocess.run([str(REPO / "image-build/build"), "--arch", "amd64", "--flavour", "ci",
                           "--no-zstd", "--out", str(out)],
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    return Path(last_json(done.stdout)["image"])


@pytest.fixture(scope="module")
def booted(image: Path, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("boot")
    done = subprocess.run([str(REPO / "image-build/boot-test"), str(image), "--work", str(work)],
                          capture_output=True, text=True, timeout=3600)
    assert done.stdout.strip(), done.stderr[-3000:]
    result = last_json(done.stdout)
    print(json.dumps({k: result.get(k) for k in ("accel", "boot_to_ready_s",
                                                 "guest_uptime_at_ready_s")}))
    return result


def test_image_has_bmap_and_manifest(image: Path):
    stem = image.with_suffix("")
    assert Path(f"{stem}.img.bmap").exists()  # bmaptool's name, found by kiosk flash
    manifest = json.loads(Path(f"{stem}.manifest.json").read_text())
    assert "systemd" in manifest["debian"] and "mosquitto" in manifest["debian"]
    assert "gcc" not in manifest["debian"] and "gcc-12" not in manifest["debian"]
    assert any(p.startswith("paho-mqtt==") for p in manifest["python"])


def test_boots_to_kiosk_target_with_core_ready(booted: dict):
    ready = booted["boot1"]["ready"]
    assert "error" not in ready, ready
    assert ready["target"] == "active"
    assert ready["core"] == "active" and "bus connected" in ready["core_status"]
    assert ready["broker"] == "active"
    assert ready["gpio"] == "active"  # the tower light on gpiozero's mock pins
    assert ready["root_ro"] is True  # the root is mounted read-only
    assert ready["failed"] == [""] or ready["failed"] == [], ready["failed"]


def test_watchdog_restarts_a_hung_core(booted: dict):
    wd = booted["boot1"]["watchdog"]
    assert "error" not in wd, wd
    assert wd["new_pid"] != wd["old_pid"]
    assert wd["restarts_after"] == wd["restarts_before"] + 1
    assert wd["watchdog_timeout_logged"]


def test_power_cut_mid_payment_reverses_and_journal_verifies(booted: dict):
    pay = booted["boot1"]["pay"]
    assert pay.get("state") == "authorizing", pay
    verify = booted["boot2"]["verify"]
    assert "error" not in verify, verify
    assert verify["journal_verify_rc"] == 0, verify["journal_verify"]
    assert [pay["txn"], pay["stan"]] in verify["auth_requested"]
    assert verify["reversals_ok"] >= 1
    assert pay["txn"] in verify["ledger_reversals"]  # the acquirer saw the reversal
    assert pay["txn"] not in verify["ledger_auths"]  # and never charged it
    assert verify["state"] in ("attract", "shopping", "payment")


def test_a_service_that_fails_for_good_closes_the_lane_red(booted: dict):
    fault = booted["boot2"]["fault"]
    assert "error" not in fault, fault
    assert fault["core"] == "failed" and fault["kills"] >= 5
    assert fault["fault_unit_result"] == "success"
    assert fault["retained_status"] == {"v": 1, "type": "core_status", "online": False,
                                        "failed_unit": "kiosk-core.service"}
    assert fault["last_light"] == "red"


def test_second_boot_powers_off_cleanly(booted: dict):
    assert booted["boot2"]["ready"]["core"] == "active"
    assert booted["boot2"]["poweroff"].get("clean_exit") is True
