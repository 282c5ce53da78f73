"""``kiosk flash`` onto real block devices (loop devices), and the refusals that protect
the technician's own machine: the system disk, a mounted card, a card the kiosk state is on.
Skipped with the reason when this machine cannot attach loop devices."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.ops.flash_devices import SystemView, TargetError, check_target
from kiosk.ops.flash_image import parse_bmap
from tests.flash.conftest import MiB, SourceImage, assert_ours, attach_loop, run_kiosk


def device_sha(dev: Path, length: int, offset: int = 0) -> str:
    with open(dev, "rb") as fh:
        fh.seek(offset)
        return hashlib.sha256(fh.read(length)).hexdigest()


def figures(stderr: str) -> str:
    wrote = re.search(r"written: .*\(([\d.]+) MB/s\)", stderr)
    read = re.search(r"verified: .*\(([\d.]+) MB/s, ([^)]+)\)", stderr)
    return (f"write {wrote.group(1) if wrote else '?'} MB/s, verify"
            f" {read.group(1) if read else '?'} MB/s ({read.group(2) if read else '?'})")


def test_full_write_onto_a_loop_device(image: SourceImage, loop_card: Path):
    done = run_kiosk("flash", str(image.path), str(loop_card), "--no-bmap", "--yes")
    assert done.returncode == 0, done.stderr
    assert "O_DIRECT" in done.stderr
    assert device_sha(loop_card, image.size) == device_sha(image.path, image.size)
    print(f"\nloop full write of {image.size // MiB} MiB: {figures(done.stderr)}")


def test_bmap_write_onto_a_loop_device(image: SourceImage, loop_card: Path):
    done = run_kiosk("flash", str(image.path), str(loop_card), "--yes")
    assert done.returncode == 0, done.stderr
    bmap = parse_bmap(image.bmap)
    for r in bmap.ranges:
        start, length = r.first * bmap.block_size, (r.last - r.first + 1) * bmap.block_size
        assert device_sha(loop_card, length, start) == device_sha(image.path, length, start)
    print(f"\nloop bmap write ({bmap.mapped_bytes // 1024} KiB mapped):"
          f" {figures(done.stderr)}")


@pytest.fixture
def mounted_loop(tmp_path: Path):
    """A loop device with an ext4 filesystem (holding a ``kiosk-state`` folder) mounted
    read-only on tmp_path/mnt. Read-only: a read-write ext4 keeps writing its own metadata
    for seconds after the mount, which the "left alone" check would blame on the flash."""
    backing = tmp_path / "mounted-card.bin"
    with open(backing, "wb") as fh:
        fh.truncate(64 * MiB)
    content = tmp_path / "content"
    (content / "kiosk-state").mkdir(parents=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(content), str(backing)], check=True)
    dev = attach_loop(backing)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(["mount", "-o", "ro", dev, str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["losetup", "-d", dev], check=False)
        pytest.skip(f"cannot mount here ({done.stderr.strip()})")
    assert_ours(Path(dev), backing)
    yield Path(dev), mnt
    subprocess.run(["umount", str(mnt)], check=False)
    subprocess.run(["losetup", "-d", dev], check=False)


def test_a_mounted_card_is_refused_and_left_alone(image: SourceImage, mounted_loop):
    dev, mnt = mounted_loop
    before = device_sha(dev, 4 * MiB)
    assert os.path.ismount(mnt)
    done = run_kiosk("flash", str(image.path), str(dev), "--yes")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"is mounted on {mnt}" in done.stderr and "unmount it first" in done.stderr
    assert device_sha(dev, 4 * MiB) == before


def test_the_card_holding_the_kiosk_state_counts_as_system_disk(image: SourceImage,
                                                                mounted_loop):
    dev, mnt = mounted_loop
    state = mnt / "kiosk-state"
    assert state.is_dir()
    done = run_kiosk("flash", str(image.path), str(dev), "--check", "--state", str(state))
    assert done.returncode == 2, done.stderr
    assert "refusing the system disk" in done.stderr and str(state) in done.stderr


def test_a_loop_device_is_traced_to_the_disk_of_its_backing_file(loop_card: Path,
                                                                 tmp_path: Path):
    view = SystemView()
    st = os.stat(loop_card)
    loop = (os.major(st.st_rdev), os.minor(st.st_rdev))
    backing_dev = view.device_of_path(str(tmp_path))  # loop_card's backing file is here
    if backing_dev is None:
        pytest.skip("the test's tmp dir is on a virtual filesystem (no disk behind it)")
    assert view.disk_of(backing_dev) in view.underlying_disks(loop)


def test_the_system_disk_is_refused():
    view = SystemView()
    root = view.device_of_path("/")
    if root is None:
        pytest.skip("/ is not on a block device here (overlay or virtual root in a container)")
    disk = view.disk_of(root)
    node = Path("/dev") / view.name_of(disk)
    if not node.exists():
        pytest.skip(f"{node} is not visible in this container's /dev")
    with pytest.raises(TargetError, match="refusing the system disk: / is on"):
        check_target(node, view)
    # and through the command, in --check mode so nothing could be written even by mistake
    img = Path(shutil.which("true") or "/bin/true")  # any readable, non-empty file
    done = run_kiosk("flash", str(img), str(node), "--check", "--no-bmap")
    assert done.returncode == 2, done.stderr
    assert "refusing the system disk" in done.stderr
