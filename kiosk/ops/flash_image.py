"""What is being flashed: the image, its block map (.bmap) and its FAT boot partition.

The bmap file (bmaptool's XML format, versions 1.x and 2.x) lists the mapped block ranges
of a sparse image with a checksum per range and a checksum of the bmap file itself; the
verifier re-reads exactly those ranges from the card. The boot partition is found in the
card's own partition table (MBR or GPT), preferring the FAT volume labelled KIOSK-BOOT.
:func:`check_kiosk_image` tells this project's image from any other file: its partition
table must hold exactly the partitions its own manifest (``kiosk-image.json`` on the boot
partition, written by image-build/build) lists, with the labels it names.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

COMPRESSED = (".xz", ".gz", ".bz2", ".zst", ".lz4")
BOOT_LABELS = ("KIOSK-BOOT", "KIOSKBOOT")  # image-build/recipe.toml names it KIOSK-BOOT


class ImageError(Exception):
    """A bad image or bmap file; str() is one line."""


@dataclass(frozen=True)
class BmapRange:
    first: int  # block numbers, inclusive
    last: int
    checksum: str | None


@dataclass(frozen=True)
class Bmap:
    path: Path
    image_size: int
    block_size: int
    mapped_blocks: int
    checksum_type: str
    ranges: tuple[BmapRange, ...]

    @property
    def mapped_bytes(self) -> int:
        return sum(min((r.last + 1) * self.block_size, self.image_size)
                   - r.first * self.block_size for r in self.ranges)


@dataclass(frozen=True)
class Image:
    path: Path
    size: int  # bytes the card receives (bmap's ImageSize for a compressed image)
    bmap: Bmap | None
    compressed: bool
    base: int = 0  # where byte 0 of the image sits in ``path`` (a member of an update bundle)


def open_image(path: Path, bmap_path: Path | None = None, use_bmap: bool = True) -> Image:
    """Check the image (and its .bmap, found next to it unless given) and describe it."""
    if not path.exists():
        raise ImageError(f"{path}: no such image file")
    if not path.is_file():
        raise ImageError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise ImageError(f"{path}: image is not readable")
    compressed = path.suffix in COMPRESSED
    bmap = None
    if use_bmap:
        if bmap_path is None:
            bmap_path = find_bmap(path)
        elif not bmap_path.is_file():
            raise ImageError(f"{bmap_path}: no such bmap file")
        if bmap_path is not None:
            bmap = parse_bmap(bmap_path)
    if compressed and bmap is None:
        raise ImageError(f"{path}: a compressed image needs its .bmap (or decompress it first)")
    size = bmap.image_size if compressed and bmap else path.stat().st_size
    if size == 0:
        raise ImageError(f"{path}: image is empty")
    if bmap and not compressed and bmap.image_size != size:
        raise ImageError(f"{bmap.path}: bmap is for an image of {bmap.image_size} bytes, but"
                         f" {path.name} has {size} (a bmap from another build?)")
    return Image(path, size, bmap, compressed)


def find_bmap(image: Path) -> Path | None:
    candidates = [image.with_name(image.name + ".bmap")]
    if image.suffix in COMPRESSED:
        candidates.append(image.with_name(image.stem + ".bmap"))
    candidates.append(image.with_suffix(".bmap"))
    return next((c for c in candidates if c.is_file()), None)


def parse_bmap(path: Path) -> Bmap:
    """Read a bmap file and check its own checksum; :class:`ImageError` when it is bad."""
    try:
        raw = path.read_bytes()
        root = ET.fromstring(raw)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror}") from None
    except ET.ParseError as exc:
        raise ImageError(f"{path}: not a bmap file: {exc}") from None
    if root.tag != "bmap":
        raise ImageError(f"{path}: not a bmap file (root element <{root.tag}>)")
    version = root.get("version", "")
    if not re.fullmatch(r"[12]\.\d+", version):
        raise ImageError(f"{path}: unsupported bmap version {version!r}")

    def field(name: str) -> str:
        el = root.find(name)
        if el is None or el.text is None:
            raise ImageError(f"{path}: missing <{name}>")
        return el.text.strip()

    try:
        image_size, block_size = int(field("ImageSize")), int(field("BlockSize"))
        mapped = int(field("MappedBlocksCount"))
    except ValueError:
        raise ImageError(f"{path}: ImageSize, BlockSize and MappedBlocksCount must be numbers"
                         ) from None
    ctype = field("ChecksumType") if version.startswith("2") else "sha1"
    if ctype not in ("sha1", "sha256"):
        raise ImageError(f"{path}: unsupported checksum type {ctype!r}")
    own = root.find("BmapFileChecksum")
    if own is None:
        own = root.find("BmapFileSHA1")
    if own is not None and own.text:
        want = own.text.strip()
        zeroed = raw.replace(want.encode(), b"0" * len(want), 1)
        if hashlib.new(ctype, zeroed).hexdigest() != want:
            raise ImageError(f"{path}: bmap file checksum mismatch (file edited or damaged)")
    ranges = []
    for el in root.iter("Range"):
        text = (el.text or "").strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", text)
        if not m:
            raise ImageError(f"{path}: bad range {text!r}")
        first = int(m.group(1))
        last = int(m.group(2) or first)
        ranges.append(BmapRange(first, last, el.get("chksum") or el.get("sha1")))
    if block_size <= 0 or block_size % 512:
        raise ImageError(f"{path}: block size {block_size} is not a multiple of 512")
    for r in ranges:
        if r.last < r.first or r.first * block_size >= image_size:
            raise ImageError(f"{path}: range {r.first}-{r.last} lies outside the image")
    return Bmap(path, image_size, block_size, mapped, ctype, tuple(ranges))


# --- partition table -------------------------------------------------------------------

FAT_MBR_TYPES = {0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E}
GPT_FAT_TYPES = {"c12a7328-f81f-11d2-ba4b-00a0c93ec93b",   # EFI system partition
                 "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"}   # Microsoft basic data


@dataclass(frozen=True)
class Partition:
    number: int
    offset: int
    size: int
    label: str  # FAT volume label ("" when none)


def fat_partitions(path: Path) -> list[Partition]:
    """FAT partitions in the partition table at the start of ``path`` (card or image)."""
    with open(path, "rb") as fh:
        mbr = fh.read(512)
        if len(mbr) < 512 or mbr[510:512] != b"\x55\xaa":
            return []
        entries = [struct.unpack_from("<B3xB3xII", mbr, 446 + 16 * i) for i in range(4)]
        parts: list[tuple[int, int, int]] = []
        if any(kind == 0xEE for _, kind, _, _ in entries):
            parts = _gpt_fat(fh)
        else:
            parts = [(i + 1, lba * 512, count * 512)
                     for i, (_, kind, lba, count) in enumerate(entries)
                     if kind in FAT_MBR_TYPES and count]
        return [Partition(n, off, size, _fat_label(fh, off)) for n, off, size in parts]


def boot_partition(path: Path) -> Partition:
    parts = fat_partitions(path)
    if not parts:
        raise ImageError(f"{path}: no FAT boot partition in the partition table")
    labelled = [p for p in parts if p.label in BOOT_LABELS]
    return (labelled or parts)[0]


def _gpt_fat(fh) -> list[tuple[int, int, int]]:
    return [(n, off, size) for n, kind, off, size in _gpt_entries(fh) if kind in GPT_FAT_TYPES]


def _gpt_entries(fh) -> list[tuple[int, str, int, int]]:
    """(number, type GUID, offset, size) of the used entries of a GPT ([] when none)."""
    fh.seek(512)
    header = fh.read(92)
    if header[:8] != b"EFI PART":
        return []
    entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
    if not 128 <= entry_size <= 4096 or count > 1024:
        return []
    fh.seek(entries_lba * 512)
    table = fh.read(count * entry_size)
    found = []
    for i in range(count):
        e = table[i * entry_size:(i + 1) * entry_size]
        if len(e) < 48:
            break
        if e[:16] == bytes(16):
            continue  # unused entry
        kind = str(uuid.UUID(bytes_le=e[:16]))
        first, last = struct.unpack_from("<QQ", e, 32)
        found.append((i + 1, kind, first * 512, (last - first + 1) * 512))
    return found


def _fat_label(fh, offset: int) -> str:
    fh.seek(offset)
    boot = fh.read(512)
    if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
        return ""
    # FAT32 keeps the extended boot record at 0x40, FAT12/16 at 0x24 (boot signature 0x29)
    for sig_at, label_at in ((0x42, 0x47), (0x26, 0x2B)):
        if boot[sig_at] == 0x29 and boot[label_at + 11:label_at + 19].startswith(b"FAT"):
            return boot[label_at:label_at + 11].decode("ascii", "replace").strip()
    return ""


# --- keeping the data partition ----------------------------------------------------------

DATA_LABEL = "kiosk-data"  # image-build/recipe.toml


@dataclass(frozen=True)
class MbrEntry:
    number: int
    kind: int
    offset: int
    size: int


def mbr_entries(path: Path) -> list[MbrEntry]:
    """The primary partitions of an MBR table ([] for GPT or no table)."""
    with open(path, "rb") as fh:
        mbr = fh.read(512)
    if len(mbr) < 512 or mbr[510:512] != b"\x55\xaa":
        return []
    entries = []
    for i in range(4):
        _, kind, lba, count = struct.unpack_from("<B3xB3xII", mbr, 446 + 16 * i)
        if kind == 0xEE:
            return []
        if kind and count:
            entries.append(MbrEntry(i + 1, kind, lba * 512, count * 512))
    return entries


def ext4_label(path: Path, offset: int) -> str | None:
    """The volume label of an ext2/3/4 filesystem at ``offset`` (None: not ext)."""
    with open(path, "rb") as fh:
        fh.seek(offset + 1024)
        sb = fh.read(136)
    if len(sb) < 136 or sb[0x38:0x3A] != b"\x53\xef":
        return None
    return sb[0x78:0x88].split(b"\0")[0].decode("utf-8", "replace")


def keep_data_span(image: Path, card: Path) -> tuple[int, int, MbrEntry]:
    """[start, end) of the image to write so the card's data partition (and its partition
    table, which may have grown that partition) stays as it is; ImageError if the layouts
    differ, since then only a full flash (which erases the journal) is right."""
    mine, theirs = mbr_entries(image), mbr_entries(card)
    if not mine:
        raise ImageError(f"{image}: no MBR partition table: --keep-data needs the kiosk layout")
    if not theirs:
        raise ImageError(f"{card}: no MBR partition table: not a kiosk card, flash it whole")
    data = [e for e in theirs if ext4_label(card, e.offset) == DATA_LABEL]
    if not data:
        raise ImageError(f"{card}: no partition labelled {DATA_LABEL}: nothing to keep,"
                         " flash without --keep-data")
    keep = data[0]
    new = {e.number: e for e in mine}
    twin = new.get(keep.number)
    if twin is None or twin.offset != keep.offset or ext4_label(image, twin.offset) != DATA_LABEL:
        raise ImageError(f"{image}: its data partition is not partition {keep.number} at"
                         f" {keep.offset // 2**20} MiB as on the card: the layout changed, a"
                         " full flash is needed (it erases the journal)")
    for e in theirs:
        if e.number == keep.number:
            continue
        other = new.get(e.number)
        if other is None or (other.kind, other.offset, other.size) != (e.kind, e.offset, e.size):
            raise ImageError(f"{image}: partition {e.number} differs from the card's"
                             f" ({_span(other)} vs {_span(e)}): a full flash is needed (it"
                             " erases the journal)")
    extra = [e for e in mine if e.number not in {t.number for t in theirs}]
    if extra:
        raise ImageError(f"{image}: has partition {extra[0].number} the card lacks: a full"
                         " flash is needed (it erases the journal)")
    start = min(e.offset for e in mine)
    if any(e.offset + e.size > keep.offset for e in mine if e.number != keep.number):
        raise ImageError(f"{image}: a partition lies after the data partition")
    return start, keep.offset, keep


def _span(e: MbrEntry | None) -> str:
    if e is None:
        return "missing"
    return f"type {e.kind:#04x} at {e.offset // 2**20} MiB, {e.size // 2**20} MiB"


# --- is this the project's image? --------------------------------------------------------

IMAGE_MANIFEST = "kiosk-image.json"  # on the boot partition; image-build/build writes it
ROOT_LABEL = "kiosk-root"  # image-build/recipe.toml (A/B roots: kiosk-root-a, kiosk-root-b)


def partition_table(path: Path) -> tuple[str, list[tuple[int, int, int]]]:
    """("mbr" | "gpt", [(number, offset, size)]) of the table at the start of ``path``;
    ("", []) when there is none (an all-zero file, say)."""
    with open(path, "rb") as fh:
        mbr = fh.read(512)
        if len(mbr) < 512 or mbr[510:512] != b"\x55\xaa":
            return "", []
        if any(struct.unpack_from("<B3xB", mbr, 446 + 16 * i)[1] == 0xEE for i in range(4)):
            gpt = _gpt_entries(fh)
            return ("gpt", [(n, off, size) for n, _kind, off, size in gpt]) if gpt else ("", [])
    return "mbr", [(e.number, e.offset, e.size) for e in mbr_entries(path)]


def check_kiosk_image(image: Image) -> dict:
    """The image's own manifest, after checking that ``image`` is this project's image: a
    partition table (MBR or GPT) with exactly the partitions the manifest on its boot
    partition lists, each with the label it names (a boot partition KIOSK-BOOT, a root, the
    data partition); and the build manifest next to the image (``<name>.manifest.json``),
    when there is one, from the same build. :class:`ImageError` otherwise, nothing written.
    A compressed image is checked as far as its boot partition reaches (its first MiB past
    it): the labels of partitions further in are left to the bmap's checksums."""
    with _uncompressed_head(image) as (path, available):
        scheme, table = partition_table(path)
        if not table:
            raise ImageError(f"{image.path}: no partition table (MBR or GPT): not a kiosk"
                             " image")
        boot = [p for p in fat_partitions(path) if p.label in BOOT_LABELS]
        if not boot:
            raise ImageError(f"{image.path}: no FAT partition labelled {BOOT_LABELS[0]}:"
                             " not a kiosk image")
        manifest = _read_manifest(image.path, path, boot[0])
        listed = manifest["partitions"]
        want = [(p["number"], p["start_mib"] * 2**20, p["size_mib"] * 2**20) for p in listed]
        if sorted(table) != sorted(want):
            raise ImageError(f"{image.path}: its {scheme.upper()} partitions"
                             f" ({_layout(table)}) are not those of its manifest"
                             f" ({_layout(want)}): a damaged or altered image")
        for p in listed:
            offset = p["start_mib"] * 2**20
            if offset + 2048 > available:
                continue
            found = (_fat_at(path, offset) if p["fs"] == "vfat" else ext4_label(path, offset))
            if found != p["label"]:
                raise ImageError(f"{image.path}: partition {p['number']} is labelled"
                                 f" {found!r}, its manifest says {p['label']!r}: a damaged or"
                                 " altered image")
    side = _side_manifest(image.path)
    if side is not None:
        try:
            other = json.loads(side.read_text())
        except (OSError, ValueError) as exc:
            raise ImageError(f"{side}: unreadable build manifest ({exc})") from None
        mine = {k: manifest.get(k) for k in ("image", "build_id", "git")}
        theirs = {k: other.get(k) if isinstance(other, dict) else None for k in mine}
        if mine != theirs:
            raise ImageError(f"{side}: is the manifest of another build ({_ident(theirs)});"
                             f" the image is {_ident(mine)}: keep each image with its own"
                             " files")
    return manifest


def _read_manifest(shown: Path, path: Path, boot: Partition) -> dict:
    if shutil.which("mtype") is None:
        raise ImageError("mtools is not installed (apt install mtools): cannot read the"
                         " image's manifest")
    done = subprocess.run(["mtype", "-i", f"{path}@@{boot.offset}", f"::/{IMAGE_MANIFEST}"],
                          capture_output=True, env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    if done.returncode != 0:
        raise ImageError(f"{shown}: no {IMAGE_MANIFEST} on its boot partition: not an image"
                         " built by image-build/build")
    try:
        manifest = json.loads(done.stdout)
        parts = manifest["partitions"]
        ok = (isinstance(manifest.get("image"), str) and isinstance(parts, list) and parts
              and all(isinstance(p.get("number"), int) and isinstance(p.get("start_mib"), int)
                      and isinstance(p.get("size_mib"), int) and p.get("fs") in ("vfat", "ext4")
                      and isinstance(p.get("label"), str) for p in parts))
    except (ValueError, TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        raise ImageError(f"{shown}: {IMAGE_MANIFEST} on its boot partition is not a kiosk"
                         " image manifest")
    labels = [p["label"] for p in parts]
    if (labels[0] not in BOOT_LABELS or DATA_LABEL not in labels
            or not any(label.startswith(ROOT_LABEL) for label in labels)):
        raise ImageError(f"{shown}: its manifest lists partitions {labels}; a kiosk image has"
                         f" {BOOT_LABELS[0]}, {ROOT_LABEL} and {DATA_LABEL}")
    return manifest


def _fat_at(path: Path, offset: int) -> str:
    with open(path, "rb") as fh:
        return _fat_label(fh, offset)


def _layout(parts: list[tuple[int, int, int]]) -> str:
    return ", ".join(f"{n}: {off // 2**20}+{size // 2**20} MiB" for n, off, size in sorted(parts))


def _ident(fields: dict) -> str:
    return f"{fields.get('image')} build {fields.get('build_id')}"


def _side_manifest(path: Path) -> Path | None:
    name = path.name
    for suffix in (*COMPRESSED, ".img"):
        name = name.removesuffix(suffix)
    side = path.with_name(name + ".manifest.json")
    return side if side.is_file() else None


_OPENERS = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}
_TOOLS = {".zst": "zstd", ".lz4": "lz4"}


@contextlib.contextmanager
def _uncompressed_head(image: Image):
    """(a path holding the image's first bytes, how many are there): the image itself when
    it is not compressed; else a temporary file with its start decompressed, up to the end
    of its boot partition and one MiB more (the root's superblock)."""
    if not image.compressed:
        yield image.path, image.size
        return
    with tempfile.NamedTemporaryFile(prefix="kiosk-flash-head-") as tmp, \
            _decompressed(image.path) as stream:
        try:
            head = stream.read(2**20)
            tmp.write(head)
            tmp.flush()
            _scheme, table = partition_table(Path(tmp.name))
            first = table[0] if table else (0, 0, 0)  # the boot partition comes first
            want = min(image.size, first[1] + first[2] + 2**20)
            have = len(head)
            while have < want:
                chunk = stream.read(min(4 * 2**20, want - have))
                if not chunk:
                    break
                tmp.write(chunk)
                have += len(chunk)
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise ImageError(f"{image.path}: cannot decompress: {exc}") from None
        tmp.flush()
        yield Path(tmp.name), have


@contextlib.contextmanager
def _decompressed(path: Path):
    suffix = path.suffix
    if suffix in _OPENERS:
        with _OPENERS[suffix](path, "rb") as stream:
            yield stream
        return
    tool = _TOOLS[suffix]
    if shutil.which(tool) is None:
        raise ImageError(f"{path}: {tool} is not installed: cannot look into the image")
    proc = subprocess.Popen([tool, "-dc", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        yield proc.stdout
    finally:
        proc.kill()
        proc.wait()
