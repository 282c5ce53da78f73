"""Moving bytes onto the card: full write, ``bmaptool copy``, read-back verification.

The full writer copies the image in large page-aligned chunks (O_DIRECT where the target
allows it, so progress shows what reached the card rather than the page cache) and fsyncs
at the end. The bmap path runs ``bmaptool copy``, which checks every mapped range of the
image against the bmap's checksums as it copies; progress comes from the bytes the
bmaptool process has written (``/proc/PID/io``). Verification flushes the card's buffers
(BLKFLSBUF on a block device, POSIX_FADV_DONTNEED on a file) and reads back with O_DIRECT.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from kiosk.ops.flash_image import Bmap, Image

CHUNK = 4 << 20
BLKFLSBUF = 0x1261
ALIGN = 4096


class FlashError(Exception):
    """Writing or verifying failed; str() is one line."""


class Progress:
    """Bytes, percent, MB/s and ETA: one rewritten line on a terminal, plain lines else."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total = label, max(total, 1)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.last_shown = 0.0
        self.last_pct = -1
        self.done = 0

    def update(self, done: int, force: bool = False) -> None:
        self.done = done
        now = time.monotonic()
        pct = int(100 * done / self.total)
        if self.tty:
            if not force and now - self.last_shown < 0.2:
                return
        elif not force and pct // 10 == self.last_pct // 10 and now - self.last_shown < 10:
            return
        self.last_shown, self.last_pct = now, pct
        line = self._line(now)
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> float:
        """Show the final line; returns MB/s (10^6 bytes per second)."""
        if self.last_pct < 100 or self.tty:
            self.update(self.done, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        return self.rate()

    def rate(self) -> float:
        return self.done / max(time.monotonic() - self.start, 1e-6) / 1e6

    def _line(self, now: float) -> str:
        rate = self.rate()
        left = (self.total - self.done) / (rate * 1e6) if rate > 0 else 0
        eta = f"ETA {int(left) // 60}:{int(left) % 60:02d}" if self.done < self.total else (
            f"in {now - self.start:.1f} s")
        return (f"{self.label}: {self.done / 1e6:,.1f} / {self.total / 1e6:,.1f} MB"
                f" {100 * self.done / self.total:3.0f}%  {rate:6.1f} MB/s  {eta}")


@dataclass
class WriteResult:
    bytes_written: int
    seconds: float
    chunk_digests: list[bytes] = field(default_factory=list)

    @property
    def mb_s(self) -> float:
        return self.bytes_written / max(self.seconds, 1e-6) / 1e6


def _aligned_buffer(size: int) -> mmap.mmap:
    return mmap.mmap(-1, size)  # anonymous mappings are page aligned, as O_DIRECT needs


def _open_direct(path: Path, flags: int) -> tuple[int, bool]:
    try:
        return os.open(path, flags | os.O_DIRECT), True
    except OSError:  # tmpfs and some others refuse O_DIRECT: the page cache it is
        return os.open(path, flags), False


def full_write(image: Image, target: Path, is_block: bool, stream: TextIO | None = None,
               start: int = 0, end: int | None = None) -> WriteResult:
    """Copy every byte of the image (or of its span [start, end)) to the same place on the
    target; per-chunk SHA-256 kept for verify."""
    end = image.size if end is None else end
    buf = _aligned_buffer(CHUNK)
    view = memoryview(buf)
    flags = os.O_WRONLY | (os.O_EXCL if is_block else 0)
    try:
        out, direct = (_open_direct(target, flags) if start % ALIGN == 0
                       else (os.open(target, flags), False))
    except OSError as exc:
        raise FlashError(f"{target}: cannot open for writing: {exc.strerror}") from None
    progress = Progress("write", end - start, stream)
    digests = []
    pos = start
    try:
        with open(image.path, "rb", buffering=0) as src:
            src.seek(image.base + start)
            while pos < end:
                n = src.readinto(view[:min(CHUNK, end - pos)])
                if not n:
                    raise FlashError(f"{image.path}: image ended early at byte {pos}")
                digests.append(hashlib.sha256(view[:n]).digest())
                if direct and n % ALIGN:  # the unaligned tail goes through the page cache
                    os.close(out)
                    out, direct = os.open(target, flags), False
                _write_all(out, view[:n], pos, target)
                pos += n
                progress.update(pos - start)
        os.fsync(out)
    finally:
        os.close(out)
    progress.finish()
    return WriteResult(pos - start, time.monotonic() - progress.start, digests)


def _write_all(fd: int, data: memoryview, offset: int, target: Path) -> None:
    written = 0
    while written < len(data):
        try:
            written += os.pwrite(fd, data[written:], offset + written)
        except OSError as exc:
            raise FlashError(f"{target}: write failed at byte {offset + written}:"
                             f" {exc.strerror}") from None


def bmap_copy(image: Image, target: Path, stream: TextIO | None = None) -> WriteResult:
    """``bmaptool copy`` with progress; a checksum mismatch becomes a one-line FlashError."""
    assert image.bmap is not None
    tool = shutil.which("bmaptool")
    if tool is None:
        raise FlashError("bmaptool is not installed (apt install bmap-tools), or pass"
                         " --no-bmap for a full write")
    cmd = [tool, "-q", "copy", "--bmap", str(image.bmap.path), str(image.path), str(target)]
    progress = Progress("write (bmap)", image.bmap.mapped_bytes, stream)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    io_file = Path(f"/proc/{proc.pid}/io")
    while proc.poll() is None:
        try:
            wchar = int(next(line for line in io_file.read_text().splitlines()
                             if line.startswith("wchar:")).split()[1])
            progress.update(min(wchar, progress.total))
        except (OSError, StopIteration, ValueError):
            pass
        time.sleep(0.1)
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise FlashError(_bmaptool_error(output, image.bmap))
    progress.done = progress.total
    progress.finish()
    return WriteResult(progress.total, time.monotonic() - progress.start)


def _bmaptool_error(output: str, bmap: Bmap) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    errors = [ln.split("ERROR:", 1)[1].strip() for ln in plain.splitlines() if "ERROR:" in ln]
    errors = [e for e in errors if e and not e.startswith("An error occurred")]
    if any("checksum mismatch" in e for e in errors):
        first = next(e for e in errors if "checksum mismatch" in e)
        return (f"bmap mismatch: {first.split(' (image file')[0]} (image damaged, or"
                f" {bmap.path.name} from another build); the card is incomplete, do not use it")
    lines = [ln.strip() for ln in plain.splitlines() if ln.strip()]
    return "bmaptool copy failed: " + (errors[-1] if errors else lines[-1] if lines
                                       else "no output")


# --- verification ----------------------------------------------------------------------

def drop_caches(path: Path, is_block: bool) -> None:
    """Make the next read come from the card, not from memory."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        if is_block:
            try:
                fcntl.ioctl(fd, BLKFLSBUF, 0)
            except OSError:
                pass  # not permitted without CAP_SYS_ADMIN; O_DIRECT reads still bypass
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@dataclass
class VerifyResult:
    bytes_read: int
    seconds: float
    direct: bool

    @property
    def mb_s(self) -> float:
        return self.bytes_read / max(self.seconds, 1e-6) / 1e6


class _Reader:
    """Aligned reads of any (offset, length) span, O_DIRECT where it works."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd, self.direct = _open_direct(path, os.O_RDONLY)
        self.buf = _aligned_buffer(CHUNK + ALIGN)
        self.view = memoryview(self.buf)

    def chunks(self, offset: int, length: int):
        """Yield memoryviews covering [offset, offset+length) in order."""
        end = offset + length
        pos = offset
        while pos < end:
            start = pos - pos % ALIGN
            want = min(CHUNK, end - start)
            want += -want % ALIGN
            n = self._pread(start, want)
            lo, hi = pos - start, min(n, end - start)
            if hi <= lo:
                raise FlashError(f"{self.path}: read back ended at byte {pos}")
            yield self.view[lo:hi]
            pos = start + hi

    def _pread(self, offset: int, length: int) -> int:
        try:
            return os.preadv(self.fd, [self.view[:length]], offset)
        except OSError as exc:
            if self.direct and exc.errno == 22:  # EINVAL: the tail past the end of a file
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    return os.preadv(fd, [self.view[:length]], offset)
                finally:
                    os.close(fd)
            raise FlashError(f"{self.path}: read back failed at byte {offset}:"
                             f" {exc.strerror}") from None

    def close(self) -> None:
        os.close(self.fd)


def verify_full(image: Image, target: Path, is_block: bool, digests: list[bytes] | None,
                stream: TextIO | None = None, start: int = 0, end: int | None = None
                ) -> VerifyResult:
    """Read back the image (or its span [start, end)) and compare chunk by chunk (hashing
    the image too when the write did not keep digests)."""
    end = image.size if end is None else end
    drop_caches(target, is_block)
    if digests is None:
        digests = []
        with open(image.path, "rb") as src:
            src.seek(image.base + start)
            left = end - start
            while left > 0 and (block := src.read(min(CHUNK, left))):
                digests.append(hashlib.sha256(block).digest())
                left -= len(block)
    reader = _Reader(target)
    progress = Progress("verify", end - start, stream)
    done, index = 0, 0
    pending = hashlib.sha256()
    pending_len = 0
    try:
        # the reader yields at most CHUNK bytes per piece; regroup into the write's chunks
        for piece in reader.chunks(start, end - start):
            while piece:
                take = min(len(piece), CHUNK - pending_len)
                pending.update(piece[:take])
                pending_len += take
                done += take
                piece = piece[take:]
                if pending_len < CHUNK and done < end - start:
                    continue
                if pending.digest() != digests[index]:
                    first = start + index * CHUNK
                    raise FlashError(f"verify failed: card differs from the image in bytes"
                                     f" {first}-{first + pending_len - 1}")
                index, pending, pending_len = index + 1, hashlib.sha256(), 0
            progress.update(done)
    finally:
        reader.close()
    progress.finish()
    return VerifyResult(done, time.monotonic() - progress.start, reader.direct)


def verify_bmap(bmap: Bmap, target: Path, is_block: bool,
                stream: TextIO | None = None) -> VerifyResult:
    """Read back every mapped range and compare it with the bmap's checksum."""
    drop_caches(target, is_block)
    reader = _Reader(target)
    progress = Progress("verify (bmap)", bmap.mapped_bytes, stream)
    done = 0
    try:
        for r in bmap.ranges:
            start = r.first * bmap.block_size
            length = min((r.last + 1) * bmap.block_size, bmap.image_size) - start
            h = hashlib.new(bmap.checksum_type)
            for piece in reader.chunks(start, length):
                h.update(piece)
                done += len(piece)
                progress.update(done)
            if r.checksum and h.hexdigest() != r.checksum:
                raise FlashError(f"verify failed: blocks {r.first}-{r.last} on the card do not"
                                 f" match the bmap checksum (bytes {start}-{start + length - 1})")
    finally:
        reader.close()
    progress.finish()
    return VerifyResult(done, time.monotonic() - progress.start, reader.direct)
