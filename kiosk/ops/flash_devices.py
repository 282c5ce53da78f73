"""Which block devices may be flashed: the system disk and anything in use are refused.

Everything here reads the kernel's own view (``/proc/self/mountinfo``, ``/proc/swaps``,
``/sys``) and follows a device down to the disks it lives on: a partition to its parent
disk, a device-mapper or md device to its slaves, a loop device to the disk holding its
backing file. A target is refused when it (or a partition of it) is mounted, used as swap,
held by another device (LVM, LUKS, md), or when a system path (/, /boot, /usr, the kiosk
state) lives on it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_PATHS = ("/", "/boot", "/boot/firmware", "/boot/efi", "/usr", "/var", "/var/lib/kiosk")


class TargetError(Exception):
    """A target that must not (or cannot) be written; str() is one line for the technician."""


@dataclass(frozen=True)
class Mount:
    devno: tuple[int, int]
    point: str
    source: str


@dataclass
class SystemView:
    """Where the kernel says things are; paths are injectable so tests can point elsewhere."""

    mountinfo: Path = Path("/proc/self/mountinfo")
    swaps: Path = Path("/proc/swaps")
    sysfs: Path = Path("/sys")
    extra_system_paths: list[str] = field(default_factory=list)

    def mounts(self) -> list[Mount]:
        found = []
        for line in self.mountinfo.read_text().splitlines():
            left, _, right = line.partition(" - ")
            parts, rparts = left.split(), right.split()
            if len(parts) < 5 or len(rparts) < 2:
                continue
            major, _, minor = parts[2].partition(":")
            found.append(Mount((int(major), int(minor)), _unescape(parts[4]), rparts[1]))
        return found

    def swap_devices(self) -> list[tuple[int, int]]:
        devs = []
        try:
            lines = self.swaps.read_text().splitlines()[1:]
        except OSError:
            return devs
        for line in lines:
            name = _unescape(line.split()[0]) if line.split() else ""
            try:
                st = os.stat(name)
            except OSError:
                continue
            if stat.S_ISBLK(st.st_mode):
                devs.append(_devno(st.st_rdev))
            else:  # a swap file: its filesystem's device is busy too
                devs.append(_devno(st.st_dev))
        return devs

    # --- sysfs ---------------------------------------------------------------------------

    def block_dir(self, devno: tuple[int, int]) -> Path | None:
        link = self.sysfs / "dev" / "block" / f"{devno[0]}:{devno[1]}"
        return link.resolve() if link.exists() else None

    def name_of(self, devno: tuple[int, int]) -> str:
        d = self.block_dir(devno)
        return d.name if d else f"{devno[0]}:{devno[1]}"

    def is_partition(self, devno: tuple[int, int]) -> bool:
        d = self.block_dir(devno)
        return bool(d and (d / "partition").exists())

    def disk_of(self, devno: tuple[int, int]) -> tuple[int, int]:
        """The whole disk a partition belongs to (itself when it is a disk)."""
        d = self.block_dir(devno)
        if d and (d / "partition").exists():
            return _read_devno(d.parent / "dev") or devno
        return devno

    def partitions_of(self, disk: tuple[int, int]) -> list[tuple[int, int]]:
        d = self.block_dir(disk)
        if not d:
            return []
        return [dn for p in d.iterdir() if (p / "partition").exists()
                if (dn := _read_devno(p / "dev"))]

    def holders_of(self, devno: tuple[int, int]) -> list[str]:
        d = self.block_dir(devno)
        if not d or not (d / "holders").is_dir():
            return []
        return sorted(h.name for h in (d / "holders").iterdir())

    def underlying_disks(self, devno: tuple[int, int], _seen: set | None = None
                         ) -> set[tuple[int, int]]:
        """Every disk whose blocks this device's data lives on."""
        seen = set() if _seen is None else _seen
        if devno in seen or devno[0] == 0:
            return set()
        seen.add(devno)
        disk = self.disk_of(devno)
        found = {disk}
        d = self.block_dir(disk)
        if d is None:
            return found
        slaves = d / "slaves"
        if slaves.is_dir():
            for s in slaves.iterdir():
                if dn := _read_devno(s / "dev"):
                    found |= self.underlying_disks(dn, seen)
        backing = d / "loop" / "backing_file"
        if backing.exists():
            try:
                st = os.stat(backing.read_text().strip())
                found |= self.underlying_disks(_devno(st.st_dev), seen)
            except OSError:
                pass
        return found

    # --- what the system stands on -------------------------------------------------------

    def device_of_path(self, path: str) -> tuple[int, int] | None:
        """The block device behind the filesystem holding ``path`` (None: virtual fs)."""
        mounts = self.mounts()
        best: Mount | None = None
        real = os.path.realpath(path)
        for m in mounts:
            if _under(real, m.point) and (best is None or len(m.point) >= len(best.point)):
                best = m
        if best is None:
            return None
        if best.devno[0] != 0:
            return best.devno
        # btrfs and some others report an anonymous device; the mount source still names it
        try:
            st = os.stat(best.source)
        except OSError:
            return None
        return _devno(st.st_rdev) if stat.S_ISBLK(st.st_mode) else None

    def system_disks(self) -> dict[tuple[int, int], str]:
        """Disk → the first system path found on it."""
        disks: dict[tuple[int, int], str] = {}
        for path in (*SYSTEM_PATHS, *self.extra_system_paths):
            if not os.path.exists(path):
                continue
            dev = self.device_of_path(path)
            if dev is None:
                continue
            for disk in self.underlying_disks(dev):
                disks.setdefault(disk, path)
        return disks


@dataclass(frozen=True)
class Target:
    path: Path
    is_block: bool
    size: int
    description: str


def check_target(path: Path, view: SystemView | None = None) -> Target:
    """The target if it may be written, else :class:`TargetError` saying why not."""
    view = view or SystemView()
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TargetError(f"{path}: no such device or file") from None
    except OSError as exc:
        raise TargetError(f"{path}: cannot open: {exc.strerror}") from None
    if stat.S_ISREG(st.st_mode):
        if not os.access(path, os.W_OK):
            raise TargetError(f"{path}: file is not writable")
        return Target(path, False, st.st_size, f"image file {path} ({human_size(st.st_size)})")
    if not stat.S_ISBLK(st.st_mode):
        raise TargetError(f"{path}: not a block device nor a regular file")
    dev = _devno(st.st_rdev)
    name = view.name_of(dev)
    if view.is_partition(dev):
        disk = view.name_of(view.disk_of(dev))
        raise TargetError(f"{path}: is a partition ({name}) of /dev/{disk}; give the whole card"
                          f" (/dev/{disk})")
    system = view.system_disks()
    if dev in system:
        raise TargetError(f"{path}: refusing the system disk: {system[dev]} is on /dev/{name}")
    busy = {dev, *view.partitions_of(dev)}
    for m in view.mounts():
        if m.devno in busy:
            raise TargetError(f"{path}: /dev/{view.name_of(m.devno)} is mounted on {m.point};"
                              " unmount it first (umount), then flash")
    for s in view.swap_devices():
        if s in busy:
            raise TargetError(f"{path}: /dev/{view.name_of(s)} is in use as swap (swapoff first)")
    for part in busy:
        if holders := view.holders_of(part):
            raise TargetError(f"{path}: /dev/{view.name_of(part)} is in use by"
                              f" {', '.join(holders)} (LVM, dm-crypt or RAID); release it first")
    d = view.block_dir(dev)
    if d and (d / "ro").exists() and (d / "ro").read_text().strip() == "1":
        raise TargetError(f"{path}: device is read-only (is the card's lock switch on?)")
    size = _block_size(path)
    model = ""
    if d and (d / "device" / "model").exists():
        model = (d / "device" / "model").read_text().strip()
    desc = f"/dev/{name} {model} ({human_size(size)})".replace("  ", " ")
    return Target(path, True, size, desc)


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _block_size(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _devno(raw: int) -> tuple[int, int]:
    return os.major(raw), os.minor(raw)


def _read_devno(path: Path) -> tuple[int, int] | None:
    try:
        major, _, minor = path.read_text().strip().partition(":")
        return int(major), int(minor)
    except (OSError, ValueError):
        return None


def _under(path: str, point: str) -> bool:
    return point == "/" or path == point or path.startswith(point.rstrip("/") + "/")


def _unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and len(text[i + 1:i + 4]) == 3 and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
