"""The image's first-boot growth of the data partition (image-build/overlay/common/usr/local/
libexec/kiosk-growdata), run on a real partitioned loop device as on a card: the partition
grows to the disk's end, its ext4 to the partition, the data on it stays; a second run
changes nothing; a partition followed by another is left alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO

SCRIPT = REPO / "image-build/overlay/common/usr/local/libexec/kiosk-growdata"
MiB = 1 << 20


def sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def card_with_data(path: Path, card_mib: int, tail: str = "") -> None:
    """A card-sized file: a small boot partition, then ext4 kiosk-data of 8 MiB holding a
    file, as flashed (the image's partition table), with ``tail`` partitions after it."""
    with open(path, "wb") as fh:
        fh.truncate(card_mib * MiB)
    sh("sfdisk", "-q", str(path), input="label: dos\nstart=2048, size=4096, type=c\n"
       "start=6144, size=16384, type=83\n" + tail)
    tree = path.with_name("tree")
    tree.mkdir(exist_ok=True)
    (tree / "journal.db").write_bytes(b"JOURNAL " * 4096)
    sh("mkfs.ext4", "-q", "-F", "-L", "kiosk-data", "-d", str(tree), "-E",
       f"offset={3 * MiB}", str(path), "8M")


def partitions(path: Path) -> list[dict]:
    return json.loads(sh("sfdisk", "--json", str(path)).stdout)["partitiontable"]["partitions"]


@pytest.fixture
def loop_disk():
    """Attach a file as a partitioned loop device (-P); detach only that one afterwards."""
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("loop devices need root and losetup")
    attached: list[str] = []

    def attach(backing: Path) -> str:
        done = subprocess.run(["losetup", "-f", "-P", "--show", str(backing)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"this machine cannot attach loop devices ({done.stderr.strip()})")
        dev = done.stdout.strip()
        attached.append(dev)
        back = sh("losetup", "--noheadings", "-O", "BACK-FILE", dev).stdout.strip()
        assert back == str(backing), f"{dev} is not ours: {back}"
        if shutil.which("udevadm"):
            subprocess.run(["udevadm", "settle", "-t", "10"], capture_output=True)
        if not Path(f"{dev}p2").exists():  # devtmpfs makes them as the kernel scans
            subprocess.run(["partx", "--update", dev], capture_output=True)
        if not Path(f"{dev}p2").exists():
            pytest.skip(f"no partition nodes for {dev} (no devtmpfs here)")
        return dev

    yield attach
    for dev in attached:
        subprocess.run(["losetup", "-d", dev], check=False)


def run_grow(dev: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), dev], capture_output=True, text=True, timeout=120)


def fs_bytes(dev: str) -> int:
    head = sh("dumpe2fs", "-h", dev).stdout
    field = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    return int(field["Block count"]) * int(field["Block size"])


def test_first_boot_grows_the_data_partition_and_its_filesystem(tmp_path: Path, loop_disk):
    backing = tmp_path / "card.bin"
    card_with_data(backing, 64)
    dev = loop_disk(backing)
    done = run_grow(f"{dev}p2")
    assert done.returncode == 0, done.stderr
    assert "grown from 8 MiB to 61 MiB" in done.stdout, done.stdout
    data = partitions(backing)[1]
    assert data["start"] == 6144 and data["start"] + data["size"] == 64 * 2048
    assert fs_bytes(f"{dev}p2") == 61 * MiB
    sh("e2fsck", "-f", "-n", f"{dev}p2")  # clean after the resize
    kept = sh("debugfs", "-R", "cat /journal.db", f"{dev}p2").stdout
    assert kept == "JOURNAL " * 4096
    # the next boot: nothing to do, nothing changed
    table = backing.read_bytes()[:512]
    again = run_grow(f"{dev}p2")
    assert again.returncode == 0 and again.stdout == "", again.stdout + again.stderr
    assert backing.read_bytes()[:512] == table and fs_bytes(f"{dev}p2") == 61 * MiB


def test_a_partition_followed_by_another_is_left_alone(tmp_path: Path, loop_disk):
    backing = tmp_path / "card.bin"
    card_with_data(backing, 64, tail="start=40960, size=8192, type=83\n")
    dev = loop_disk(backing)
    table = backing.read_bytes()[:512]
    done = run_grow(f"{dev}p2")
    assert done.returncode == 0, done.stderr
    assert "followed by" in done.stdout and "left at its size" in done.stdout
    assert backing.read_bytes()[:512] == table and fs_bytes(f"{dev}p2") == 8 * MiB


def test_a_mounted_partition_is_not_touched(tmp_path: Path, loop_disk):
    backing = tmp_path / "card.bin"
    card_with_data(backing, 64)
    dev = loop_disk(backing)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-o", "ro", f"{dev}p2", str(mnt)]).returncode != 0:
        pytest.skip("cannot mount here")
    try:
        table = backing.read_bytes()[:512]
        done = run_grow(f"{dev}p2")
        assert done.returncode == 1 and "is mounted" in done.stderr, done.stderr
        assert backing.read_bytes()[:512] == table
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
