"""Fixtures for flashing tests: a small partitioned kiosk-like image with a .bmap, cards
(image files and real loop devices), and the ``kiosk`` command as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import REPO

MiB = 1 << 20
# the layout of image-build/recipe.toml, small: boot (FAT), root, data (ext4 kiosk-data)
BOOT_OFFSET = 1 * MiB   # partition 1: FAT16 KIOSK-BOOT, 16 MiB
ROOT_OFFSET = 17 * MiB  # partition 2: ext4 kiosk-root, 16 MiB, random data in places
DATA_OFFSET = 33 * MiB  # partition 3: ext4 kiosk-data, to the end of the image
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


def flip_byte(path: Path, offset: int) -> None:
    """Change the byte at ``offset`` (inverted: writing a fixed value would change nothing
    where the random data already held it, 1 time in 256)."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def make_image(path: Path, size_mib: int = 48, data_mib: int = 3, seed: bytes | None = None,
               table: str = "dos") -> SourceImage:
    """An MBR image like the kiosk's: a FAT boot partition labelled KIOSK-BOOT with a file
    and the image's manifest (as image-build/build writes it), an ext4 root partition
    labelled kiosk-root with ``data_mib`` of random data (or ``seed`` repeated) and holes,
    and an empty ext4 data partition labelled kiosk-data; plus its bmap. ``table="gpt"``:
    the same partitions in a GPT (the data partition 1 MiB shorter, for the backup table)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: ./setup.sh installs bmap-tools, mtools,"
                    " dosfstools, fdisk, e2fsprogs")
    with open(path, "wb") as fh:
        fh.truncate(size_mib * MiB)
    data_mib_size = size_mib - DATA_OFFSET // MiB - (table == "gpt")
    types = ("c", "83", "83") if table == "dos" else ("U", "L", "L")
    sh("sfdisk", "-q", str(path), input=f"label: {table}\nstart=2048, size=32768, type={types[0]}\n"
       f"start=34816, size=32768, type={types[1]}\n"
       f"start=67584, size={data_mib_size * 2048}, type={types[2]}\n")
    sh("mkfs.vfat", "-F", "16", "-n", "KIOSK-BOOT", "--offset", "2048", str(path), "16384")
    sh("mkfs.ext4", "-q", "-F", "-L", "kiosk-data", "-E", f"offset={DATA_OFFSET}", str(path),
       f"{data_mib_size}M")
    sh("mkfs.ext4", "-q", "-F", "-L", "kiosk-root", "-E", f"offset={ROOT_OFFSET}", str(path),
       "16M")
    cfg = path.with_name("config.txt")
    cfg.write_text("arm_64bit=1\n")
    sh("mcopy", "-i", f"{path}@@{BOOT_OFFSET}", str(cfg), "::/config.txt")
    manifest = path.with_name("kiosk-image.json")
    manifest.write_text(json.dumps(image_manifest(path.stem, data_mib_size)))
    sh("mcopy", "-i", f"{path}@@{BOOT_OFFSET}", str(manifest), "::/kiosk-image.json")
    with open(path, "r+b") as fh:
        fh.seek(ROOT_OFFSET + 3 * MiB)
        fh.write(os.urandom(data_mib * MiB) if seed is None else
                 (seed * (data_mib * MiB // len(seed) + 1))[:data_mib * MiB])
    bmap = path.with_name(path.name + ".bmap")
    sh("bmaptool", "create", "-o", str(bmap), str(path))
    return SourceImage(path, bmap, size_mib * MiB)


def image_manifest(name: str, data_size_mib: int = 15) -> dict:
    """What image-build/build writes to the boot partition (kiosk-image.json), for the
    layout :func:`make_image` makes."""
    return {"image": name, "arch": "arm64", "flavour": "full", "version": "0.1.0",
            "git": "0" * 40, "build_id": f"20261206T1200Z-{name}",
            "partitions": [
                {"number": 1, "label": "KIOSK-BOOT", "fs": "vfat", "start_mib": 1,
                 "size_mib": 16},
                {"number": 2, "label": "kiosk-root", "fs": "ext4", "start_mib": 17,
                 "size_mib": 16},
                {"number": 3, "label": "kiosk-data", "fs": "ext4", "start_mib": 33,
                 "size_mib": data_size_mib}]}


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


def assert_ours(dev: Path, backing: Path) -> None:
    """Other jobs on this machine use loop devices too: before writing, make sure ``dev`` is
    still the one over our file (never write onto a device someone else attached)."""
    done = subprocess.run(["losetup", "--noheadings", "-O", "BACK-FILE", str(dev)],
                          capture_output=True, text=True)
    assert done.stdout.strip() == str(backing), f"{dev} is no longer ours: {done.stdout}"


@pytest.fixture
def loop_card(tmp_path: Path):
    """A real loop block device over a 64 MiB file; detached afterwards (only this one)."""
    backing = tmp_path / "loop-card.bin"
    backing.write_bytes(b"\x5a" * (64 * MiB))
    dev = attach_loop(backing)
    assert_ours(Path(dev), backing)
    yield Path(dev)
    subprocess.run(["losetup", "-d", dev], check=False)
