"""``kiosk update BUNDLE`` on an A/B layout laid out as files: the new root lands in the
other slot (read back, labelled), the Pi firmware's tryboot is armed, ``--commit`` makes
it stay or records the fall-back, and the data partition is never touched."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.journal.store import Journal
from kiosk.ops.core_ready import Ready, read_ready, record_ready
from kiosk.ops.update import TrialWatch, make_bundle, on_trial
from tests.flash.conftest import MiB, run_kiosk, sh
from tests.harness import REPO, CoreProcess

CMDLINE_A = "console=tty1 root=LABEL=kiosk-root-a rootfstype=ext4 ro rootwait quiet\n"
#: the commit with no settle period: these tests' kiosk-core is this test process, its READY
#: recorded (``record_ready``) just before (the settle itself: the tests at the end)
COMMIT = ("update", "--commit", "--settle", "0")


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
    record_ready(tmp / "state")
    done = run_kiosk(*COMMIT, *args)
    assert done.returncode == 0 and "committed: slot B is now the default" in done.stderr
    assert (boot / "config.txt").read_text().splitlines()[0] == "os_prefix=slot-b/"
    assert not (boot / "tryboot.txt").exists()
    assert json.loads((tmp / "state/update.json").read_text())["status"] == "committed"
    assert on_trial(tmp / "state") is None
    again = run_kiosk(*COMMIT, *args)
    assert "no update pending" in again.stderr


def test_a_slot_that_never_came_up_is_recorded_as_a_fall_back(system, bundle: Path):
    tmp, boot, labels, cmdline, args = system
    assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
    # the tried boot failed (watchdog reset): the firmware read config.txt, slot A again
    done = run_kiosk(*COMMIT, *args)
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
        record_ready(tmp / "state")
        assert run_kiosk(*COMMIT, *args).returncode == 0
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
    record_ready(tmp / "state")
    assert run_kiosk(*COMMIT, *args).returncode == 0
    assert watch.outcome() == "committed"

    # on the tried slot, yet another update is installed (into slot A) before this one is seen
    # committed: a later commit can no longer be of the update kiosk-core started with
    assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
    assert later.outcome() == "superseded"


# --- the settle: committed only once kiosk-core stayed up ---------------------------------

def tried_on_lane(system, bundle: Path, lane_env: dict[str, str]) -> tuple[list[str], Path]:
    """The update installed with its record in the lane's state dir (where kiosk-core writes
    its READY record), then booted into slot B: ``kiosk update`` options and that dir."""
    tmp, boot, labels, cmdline, args = system
    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    Journal(load_config(environ=lane_env).journal_path).close()  # the lane sold before
    args = [*args[:-1], str(state)]
    assert run_kiosk("update", str(bundle), "--no-reboot", *args).returncode == 0
    cmdline.write_text(CMDLINE_A.replace("root-a", "root-b"))  # the tried boot
    return args, state


def ready_of(core: CoreProcess, state: Path) -> Ready:
    """``core``'s READY record, once it has written it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = read_ready(state)
        if ready is not None and ready.pid == core.proc.pid:
            return ready
        assert core.proc.poll() is None, core.log()
        time.sleep(0.05)
    pytest.fail(f"kiosk-core never recorded its READY:\n{core.log()}")


def commit_process(*args: str) -> subprocess.Popen:
    """``kiosk update --commit`` as the unit runs it, in the background."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    return subprocess.Popen([sys.executable, "-m", "kiosk.cli", "update", "--commit", *args],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)


def test_the_commit_waits_until_kiosk_core_has_stayed_up(system, bundle: Path, lane_env,
                                                         start_core):
    """READY alone does not commit: the same kiosk-core (its pid in core-ready.json, still
    running) must have been up for the settle period first."""
    tmp, boot, labels, cmdline, _ = system
    args, state = tried_on_lane(system, bundle, lane_env)
    core = start_core()
    ready = ready_of(core, state)
    done = run_kiosk("update", "--commit", "--settle", "1", "--settle-timeout", "60", *args)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() >= ready.ready_mono + 1  # not before the settle
    assert (f"committed: slot B is now the default (kiosk-core pid {core.proc.pid} up 1 s"
            " without a restart)") in done.stderr
    assert (boot / "config.txt").read_text().splitlines()[0] == "os_prefix=slot-b/"
    assert json.loads((state / "update.json").read_text())["status"] == "committed"


def test_a_kiosk_core_that_died_after_ready_is_not_committed_its_restart_is(
        system, bundle: Path, lane_env, start_core):
    """kiosk-core crashed right after READY (SIGKILL) and systemd restarts it while the commit
    waits: the dead one's READY, older than the settle by then, does not count; the commit
    waits for the new one to stay up the whole settle period and commits that."""
    tmp, boot, labels, cmdline, _ = system
    args, state = tried_on_lane(system, bundle, lane_env)
    first = start_core()
    ready_of(first, state)
    first.kill9()
    commit = commit_process("--settle", "1", "--settle-timeout", "60", *args)
    second = start_core()  # the restart
    ready = ready_of(second, state)
    _, err = commit.communicate(timeout=90)
    assert commit.returncode == 0, err
    assert time.monotonic() >= ready.ready_mono + 1
    assert f"(kiosk-core pid {second.proc.pid} up 1 s without a restart)" in err
    assert (boot / "config.txt").read_text().splitlines()[0] == "os_prefix=slot-b/"
    assert json.loads((state / "update.json").read_text())["status"] == "committed"


def test_no_kiosk_core_no_commit(system, bundle: Path, lane_env):
    """kiosk-core not running on the tried slot: exit 2, one line saying why, nothing
    changed: update.json still "trying", so the next reset boots slot A."""
    tmp, boot, labels, cmdline, _ = system
    args, state = tried_on_lane(system, bundle, lane_env)
    config, tryboot = (boot / "config.txt").read_text(), (boot / "tryboot.txt").read_text()
    done = run_kiosk("update", "--commit", "--settle", "1", "--settle-timeout", "1", *args)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "update: v2-build not committed: kiosk-core is not running (no READY recorded) after"
        ' 1 s; update.json stays "trying", the next reset boots slot A')
    assert "Traceback" not in done.stderr
    assert json.loads((state / "update.json").read_text())["status"] == "trying"
    assert (boot / "config.txt").read_text() == config
    assert (boot / "tryboot.txt").read_text() == tryboot


def test_sigterm_ends_the_wait_without_a_commit(system, bundle: Path, lane_env):
    """systemctl stop (or the unit's timeout) while the commit waits: it stops at once,
    commits nothing and says so."""
    tmp, boot, labels, cmdline, _ = system
    args, state = tried_on_lane(system, bundle, lane_env)
    commit = commit_process("--settle", "1", "--settle-timeout", "300", *args)
    assert "waiting for kiosk-core to stay up 1 s" in commit.stderr.readline()
    commit.send_signal(signal.SIGTERM)
    _, err = commit.communicate(timeout=30)
    assert commit.returncode == 2
    assert "not committed: stopped before kiosk-core settled" in err
    assert json.loads((state / "update.json").read_text())["status"] == "trying"
    assert (boot / "config.txt").read_text().startswith("os_prefix=slot-a/")
