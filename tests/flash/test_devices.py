"""Tracing a mount down to its disks on the kernel's own file formats. Device-mapper (LVM,
LUKS) and partition nodes cannot be created in a CI container, so these cases read a
sysfs and mountinfo laid out exactly as the kernel lays them out, in a tmp dir."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.ops.flash_devices import SystemView


def block(sysfs: Path, rel: str, devno: str, partition: bool = False) -> Path:
    d = sysfs / "devices" / rel
    d.mkdir(parents=True)
    (d / "dev").write_text(devno + "\n")
    if partition:
        (d / "partition").write_text("2\n")
    for sub in ("slaves", "holders"):
        (d / sub).mkdir()
    links = sysfs / "dev" / "block"
    links.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(d, links), links / devno)
    return d


def test_root_on_lvm_on_a_partition_marks_the_whole_disk(tmp_path: Path):
    sysfs = tmp_path / "sys"
    block(sysfs, "pci0000:00/ata1/block/sda", "8:0")
    sda2 = block(sysfs, "pci0000:00/ata1/block/sda/sda2", "8:2", partition=True)
    dm0 = block(sysfs, "virtual/block/dm-0", "253:0")
    os.symlink(os.path.relpath(sda2, dm0 / "slaves"), dm0 / "slaves" / "sda2")
    os.symlink(os.path.relpath(dm0, sda2 / "holders"), sda2 / "holders" / "dm-0")
    block(sysfs, "pci0000:00/usb1/block/sdb", "8:16")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "27 1 253:0 / / rw,relatime - ext4 /dev/mapper/vg-root rw\n"
        "40 27 8:17 / /media/tech/My\\040Card rw - vfat /dev/sdb1 rw\n")
    view = SystemView(mountinfo=mountinfo, sysfs=sysfs, swaps=tmp_path / "none")

    assert view.disk_of((8, 2)) == (8, 0) and view.is_partition((8, 2))
    assert view.partitions_of((8, 0)) == [(8, 2)]
    assert view.holders_of((8, 2)) == ["dm-0"]
    assert view.underlying_disks((253, 0)) == {(253, 0), (8, 0)}
    assert view.system_disks()[(8, 0)] == "/"
    assert (8, 16) not in view.system_disks()
    assert any(m.point == "/media/tech/My Card" for m in view.mounts())
