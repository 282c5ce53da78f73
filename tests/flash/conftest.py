"""Fixtures for flashing tests: a small partitioned kiosk-like image with a .bmap, cards
(image files and real loop devices), and the ``kiosk`` command as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import REPO

MiB = 1 << 20
BOOT_OFFSET = 1 * MiB   # partition 1: FAT16 KIOSKBOOT, 16 MiB
ROOT_OFFSET = 17 * MiB  # partition 2: "root", random data in places, holes elsewhere
TOOLS = ("bmaptool", "mkfs.vfat", "mcopy", "sfdisk", "mkfs.ext4")


@dataclass
class SourceImage:
    path: Path
    bmap: Path
    size: int


def run_kiosk(*args: str, stdin: str | None = None, timeout: float = 120
              ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, input=stdin, timeout=timeout)


def sh(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          env=dict(os.environ, MTOOLS_SKIP_CHECK="1"), **kw)


def make_image(path: Path, size_mib: int = 48, data_mib: int = 3) -> SourceImage:
    """An MBR image like the kiosk's: a FAT boot partition labelled KIOSKBOOT with a file,
    then a partition with ``data_mib`` of random data and holes around it; plus its bmap."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: ./setup.sh installs bmap-tools, mtools,"
                    " dosfstools, fdisk, e2fsprogs")
    with open(path, "wb") as fh:
        fh.truncate(size_mib * MiB)
    sh("sfdisk", "-q", str(path), input="label: dos\nstart=2048, size=32768, type=c\n"
       "start=34816, type=83\n")
    sh("mkfs.vfat", "-F", "16", "-n", "KIOSKBOOT", "--offset", "2048", str(path), "16384")
    cfg = path.with_name("config.txt")
    cfg.write_text("arm_64bit=1\n")
    sh("mcopy", "-i", f"{path}@@{BOOT_OFFSET}", str(cfg), "::/config.txt")
    with open(path, "r+b") as fh:
        fh.seek(ROOT_OFFSET + 3 * MiB)
        fh.write(os.urandom(data_mib * MiB))
    bmap = path.with_name(path.name + ".bmap")
    sh("bmaptool", "create", "-o", str(bmap), str(path))
    return SourceImage(path, bmap, size_mib * MiB)


@pytest.fixture
def image(tmp_path: Path) -> SourceImage:
    return make_image(tmp_path / "kiosk.img")


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """A 64 MiB "card" (an image file) filled with a pattern, like a used card."""
    path = tmp_path / "card.bin"
    path.write_bytes(b"\xa5" * (64 * MiB))
    return path


def attach_loop(backing: Path) -> str:
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("loop devices need root and losetup")
    done = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine cannot attach loop devices ({done.stderr.strip()}):"
                    " the image-file target tests cover the same code")
    return done.stdout.strip()


@pytest.fixture
def loop_card(tmp_path: Path):
    """A real loop block device over a 64 MiB file; detached afterwards (only this one)."""
    backing = tmp_path / "loop-card.bin"
    backing.write_bytes(b"\x5a" * (64 * MiB))
    dev = attach_loop(backing)
    yield Path(dev)
    subprocess.run(["losetup", "-d", dev], check=False)
