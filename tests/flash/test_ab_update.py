"""``kiosk update BUNDLE`` on an A/B layout laid out as files: the new root lands in the
other slot (read back, labelled), the Pi firmware's tryboot is armed, ``--commit`` makes
it stay or records the fall-back, and the data partition is never touched."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from kiosk.ops.update import TrialWatch, make_bundle, on_trial
from tests.flash.conftest import MiB, run_kiosk, sh

CMDLINE_A = "console=tty1 root=LABEL=kiosk-root-a rootfstype=ext4 ro rootwait quiet\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ext4(path: Path, label: str, mib: int, content: Path | None = None) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(mib * MiB)
    extra = ["-d", str(content)] if content else []
    sh("mkfs.ext4", "-q", "-F", "-L", label, *extra, str(path))
    return path


@pytest.fixture
def system(tmp_path: Path):
    """Booted from slot A: boot partition, by-label links, kernel command line, state."""
    boot = tmp_path / "boot"
    (boot / "slot-a").mkdir(parents=True)
    (boot / "config.txt").write_text("os_prefix=slot-a/\narm_64bit=1\nenable_uart=0\n")
    (boot / "slot-a" / "cmdline.txt").write_text(CMDLINE_A)
    labels = tmp_path / "by-label"
    labels.mkdir()
    for label, mib in (("kiosk-root-a", 16), ("kiosk-root-b", 24), ("kiosk-data", 8)):
        os.symlink(ext4(tmp_path / f"{label}.ext4", label, mib), labels / label)
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(CMDLINE_A)
    args = ["--boot", str(boot), "--by-label", str(labels), "--cmdline", str(cmdline),
            "--state", str(tmp_path / "state")]
    return tmp_path, boot, labels, cmdline, args


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    tree = tmp_path / "v2-root"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "kiosk-release").write_text("KIOSK_VERSION=0.2.0\nBUILD_ID=v2-build\n")
    root = ext4(tmp_path / "v2-root.ext4", "kiosk-root", 16, tree)
    boot = tmp_path / "v2-boot"
    (boot / "overlays").mkdir(parents=True)
    (boot / "vmlinuz").write_bytes(os.urandom(300_000))
    (boot / "initrd.img").write_bytes(os.urandom(200_000))
    (boot / "overlays" / "disable-bt.dtbo").write_bytes(b"dtbo")
    (boot / "cmdline.txt").write_text("console=tty1 root=LABEL=kiosk-root ro rootwait\n")
    out = tmp_path / "kiosk-v2.kup"
    make_bundle(out, root, boot, build_id="v2-build", version="0.2.0")
    return out


def test_update_installs_into_the_other_slot_and_commits(system, bundle: Path):
    tmp, boot, labels, cmdline, args = system
    slot_a, data = digest(labels / "kiosk-root-a"), digest(labels / "kiosk-data")
    done = run_kiosk("update", str(bundle), "--no-reboot", *args)
    assert done.returncode == 0, done.stderr
    assert "v2-build installed in slot B" in done.stderr

    slot_b = (labels / "kiosk-root-b").resolve()
    assert sh("e2label", str(slot_b)).stdout.strip() == "kiosk-root-b"
    release = sh("debugfs", "-R", "cat /etc/kiosk-release", str(slot_b)).stdout
    assert "BUILD_ID=v2-build" in release
    assert digest(labels / "kiosk-root-a") == slot_a  # the running root is untouched
    assert digest(labels / "kiosk-data") == data  # and so is the journal's partition
    assert (boot / "slot-b" / "vmlinuz").read_bytes() == (tmp / "v2-boot/vmlinuz").read_bytes()
    assert (boot / "slot-b/overlays/disable-bt.dtbo").read_bytes() == b"dtbo"
    assert (boot / "slot-b/cmdline.txt").read_text() == (
        "console=tty1 root=LABEL=kiosk-root-b ro rootwait\n")
    assert (boot / "tryboot.txt").read_text().splitlines() == [
        "os_prefix=slot-b/", "arm_64bit=1", "enable_uart=0"]
    assert (boot / "config.txt").read_text().startswith("os_prefix=slot-a/")
    state = json.loads((tmp / "state/update.json").read_text())
    assert (state["status"], state["from"], state["to"]) == ("trying", "A", "B")
    assert on_trial(tmp / "state") == state  # the journal is not migrated until the commit

    # the firmware booted slot B once and the kiosk came up: commit
    cmdline.write_text(CMDLINE_A.replace("root-a", "root-b"))
    done = run_kiosk("update", "--commit", *args)
    assert done.returncode == 0 and "committed: slot B is now the default" in done.stderr
    assert (boot / "config.txt").read_text().splitlines()[0] == "os_prefix=slot-b/"
    assert not (boot / "tryboot.txt").exists()
    assert json.loads((tmp / "state/update.json").read_text())["status"] == "committed"
    assert on_trial(tmp / "state") is None
    again = run_kiosk("update", "--commit", *args)
    assert "no update pending" in again.stderr


def test_a_slot_that_never_came_up_is_recorded_as_a_fall_back(system, bundle: Path):
    tmp, boot, labels, cmdline, args = system
    assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
    # the tried boot failed (watchdog reset): the firmware read config.txt, slot A again
    done = run_kiosk("update", "--commit", *args)
    assert done.returncode == 0
    assert "did not come up in slot B; running slot A (fell back)" in done.stderr
    assert (boot / "config.txt").read_text().startswith("os_prefix=slot-a/")
    assert not (boot / "tryboot.txt").exists()
    assert json.loads((tmp / "state/update.json").read_text())["status"] == "failed"
    assert on_trial(tmp / "state") is None  # the old release migrates as it always did


def test_a_damaged_or_unchecked_bundle_writes_nothing(system, bundle: Path):
    tmp, boot, labels, cmdline, args = system
    slot_b = digest(labels / "kiosk-root-b")
    with open(bundle, "r+b") as fh:
        fh.seek(bundle.stat().st_size // 2)
        fh.write(b"\xff\x00\xff")
    done = run_kiosk("update", str(bundle), "--no-reboot", *args)
    assert done.returncode == 2 and "SHA-256 mismatch" in done.stderr
    assert "Traceback" not in done.stderr
    bundle.with_name(bundle.name + ".sha256").unlink()
    done = run_kiosk("update", str(bundle), "--no-reboot", *args)
    assert done.returncode == 2 and "refusing an unchecked bundle" in done.stderr
    assert digest(labels / "kiosk-root-b") == slot_b
    assert not (boot / "tryboot.txt").exists() and not (boot / "slot-b").exists()


def test_a_single_root_image_points_to_keep_data(system, bundle: Path):
    tmp, boot, labels, cmdline, args = system
    cmdline.write_text("root=LABEL=kiosk-root ro\n")
    done = run_kiosk("update", str(bundle), "--no-reboot", *args)
    assert done.returncode == 2
    assert "not booted from an A/B root" in done.stderr and "--keep-data" in done.stderr



def test_the_record_says_pending_and_stays_readable_to_kiosk_core(system, bundle: Path):
    """kiosk-update-commit.service runs only while ``kiosk update --pending`` says the update
    is on trial, and kiosk-core (not root) reads the record to defer its journal migration:
    it is 0644 even when root's umask is 077."""
    tmp, boot, labels, cmdline, args = system
    assert run_kiosk("update", "--pending", *args).returncode == 1  # nothing installed
    old = os.umask(0o077)  # run_kiosk's subprocess inherits it
    try:
        assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
        record = tmp / "state/update.json"
        assert record.stat().st_mode & 0o777 == 0o644
        assert run_kiosk("update", "--pending", *args).returncode == 0
        cmdline.write_text(CMDLINE_A.replace("root-a", "root-b"))
        assert run_kiosk("update", "--commit", *args).returncode == 0
        assert record.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
    assert run_kiosk("update", "--pending", *args).returncode == 1  # committed


def test_kiosk_core_sees_what_became_of_the_update_it_started_on_trial_with(system,
                                                                            bundle: Path):
    """kiosk-core's look at the record on its idle tick (its held journal migration runs on
    "committed" only): nothing while on trial; the commit; another install replacing it."""
    tmp, boot, labels, cmdline, args = system
    assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
    tried = on_trial(tmp / "state")
    assert tried is not None
    watch, later = TrialWatch(tmp / "state", tried), TrialWatch(tmp / "state", tried)
    assert watch.outcome() is None and watch.outcome() is None  # on trial
    cmdline.write_text(CMDLINE_A.replace("root-a", "root-b"))  # the tried boot
    assert run_kiosk("update", "--commit", *args).returncode == 0
    assert watch.outcome() == "committed"

    # on the tried slot, yet another update is installed (into slot A) before this one is seen
    # committed: a later commit can no longer be of the update kiosk-core started with
    assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
    assert later.outcome() == "superseded"
