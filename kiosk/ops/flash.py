"""``kiosk flash IMAGE DEVICE``: write an SD-card image for a technician, safely.

Order: check the provisioning file (before anything is written), check the image and its
bmap, check that it is this project's image (its partition table holds the partitions its
own manifest lists), refuse a system, mounted, busy, read-only or too-small target,
confirm, write (``bmaptool copy`` when a .bmap sits next to the image, else a full write),
read back and compare, then copy the lane's provisioning file into the card's FAT boot
partition with mtools (no mount). A regular file can stand in for the card.
``--keep-data`` updates a kiosk card in place: only boot and root are written, the data
partition (journal, kept receipts, the kept provisioning) and the card's partition table
stay.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from kiosk.ops.flash_devices import SystemView, Target, TargetError, check_target, human_size
from kiosk.ops.flash_image import (
    Image,
    ImageError,
    boot_partition,
    check_kiosk_image,
    keep_data_span,
    open_image,
)
from kiosk.ops.flash_io import FlashError, bmap_copy, full_write, verify_bmap, verify_full
from kiosk.ops.provision import ProvisionError, validate_file

PROVISION_NAME = "kiosk-provision.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the .img (a .img.xz etc. needs its .bmap)")
    parser.add_argument("device", type=Path,
                        help="the whole card, e.g. /dev/sdb or /dev/mmcblk0 (or an image file)")
    parser.add_argument("--provision", type=Path, metavar="FILE",
                        help=f"this lane's provisioning file, copied to the card as"
                             f" {PROVISION_NAME}")
    parser.add_argument("--bmap", type=Path, help="bmap file (default: IMAGE.bmap if present)")
    parser.add_argument("--no-bmap", action="store_true", help="full write even if a bmap exists")
    parser.add_argument("--no-verify", action="store_true", help="skip the read-back check")
    parser.add_argument("--verify-only", action="store_true",
                        help="do not write: compare the card with the image")
    parser.add_argument("--keep-data", action="store_true",
                        help="update a kiosk card: write boot and root only, keep the data"
                             " partition (journal, receipts) and the card's partition table")
    parser.add_argument("--check", action="store_true",
                        help="only check image (partition table, manifest, bmap), target and"
                             " provisioning file; write nothing")
    parser.add_argument("--state", default="/var/lib/kiosk",
                        help="this machine's kiosk state dir (never flashed over)")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def flash_main(args: argparse.Namespace) -> int:
    try:
        return _flash(args)
    except (TargetError, ImageError, FlashError) as exc:
        _say(f"kiosk flash: {exc}")
        return 2
    except KeyboardInterrupt:
        _say("kiosk flash: interrupted; the card is incomplete, flash it again")
        return 130


def _flash(args: argparse.Namespace) -> int:
    if args.provision is not None:
        try:
            prov = validate_file(args.provision)
        except ProvisionError as exc:
            raise FlashError(f"provisioning file rejected, nothing written: {exc}") from None
        _say(f"provisioning: {prov.summary()}")
    image = open_image(args.image, args.bmap, use_bmap=not (args.no_bmap or args.keep_data))
    target = check_target(args.device, SystemView(extra_system_paths=[args.state]))
    if not target.is_block and os.path.samefile(target.path, image.path):
        raise TargetError(f"{target.path}: is the image itself")
    span: tuple[int, int] | None = None
    if args.keep_data:
        if image.compressed:
            raise ImageError(f"{image.path}: --keep-data needs the uncompressed image")
        start, end, data = keep_data_span(image.path, target.path)
        span = (start, end)
        how = (f"update: bytes {start}-{end - 1} (boot and root); partition {data.number}"
               f" (data, {human_size(data.size)}) and the partition table are kept")
    elif target.size < image.size:
        raise TargetError(f"{target.path}: too small: {human_size(target.size)}, the image needs"
                          f" {human_size(image.size)} ({image.size} bytes)")
    else:
        how = (f"bmap: {human_size(image.bmap.mapped_bytes)} mapped" if image.bmap
               else "full write")
    built = check_kiosk_image(image)
    _say(f"image: {image.path} ({built['image']}, build {built.get('build_id', '?')},"
         f" {human_size(image.size)}, {how})")
    _say(f"target: {target.description}")
    if args.check:
        _say("check OK: nothing written")
        return 0
    if args.verify_only:
        _verify(image, target, None, span)
        return 0
    if not args.yes and not _confirm(target, keep=span is not None):
        _say("kiosk flash: not confirmed, nothing written")
        return 1
    if span is not None:
        written = full_write(image, target.path, target.is_block, start=span[0], end=span[1])
        digests = written.chunk_digests
    elif image.bmap is not None:
        written = bmap_copy(image, target.path)
        digests = None
        if not target.is_block and target.path.stat().st_size < target.size:
            os.truncate(target.path, target.size)  # bmaptool cut the stand-in card down
    else:
        written = full_write(image, target.path, target.is_block)
        digests = written.chunk_digests
    _say(f"written: {written.bytes_written} bytes in {written.seconds:.1f} s"
         f" ({written.mb_s:.1f} MB/s)")
    if not args.no_verify:
        _verify(image, target, digests, span)
    if args.provision is not None:
        put_provision_file(target.path, args.provision)
    elif span is not None:
        _say("the lane's provisioning kept on the data partition is applied again on the new"
             " root's first boot")
    else:
        _say("no --provision file: the kiosk will start unprovisioned (out of service) until"
             f" a {PROVISION_NAME} is placed on its boot partition")
    _say(f"done: {target.description} is ready")
    return 0


def _verify(image: Image, target: Target, digests: list[bytes] | None,
            span: tuple[int, int] | None = None) -> None:
    if span is not None:
        result = verify_full(image, target.path, target.is_block, digests, start=span[0],
                             end=span[1])
    elif image.bmap is not None:
        result = verify_bmap(image.bmap, target.path, target.is_block)
    else:
        if image.compressed:
            raise FlashError("cannot verify a compressed image without its bmap")
        result = verify_full(image, target.path, target.is_block, digests)
    how = "O_DIRECT" if result.direct else "page cache dropped (no O_DIRECT here)"
    _say(f"verified: {result.bytes_read} bytes read back in {result.seconds:.1f} s"
         f" ({result.mb_s:.1f} MB/s, {how})")


def _confirm(target: Target, keep: bool = False) -> bool:
    what = "boot and root (the data partition is kept) on" if keep else "everything on"
    if not sys.stdin.isatty():
        raise FlashError(f"not on a terminal: pass --yes to confirm erasing {what}"
                         f" {target.description}")
    answer = input(f"ERASE {what} {target.description}? Type yes: ")
    return answer.strip().lower() == "yes"


def put_provision_file(card: Path, source: Path) -> None:
    """Copy ``source`` into the card's FAT boot partition as kiosk-provision.toml (mtools,
    no mount), then read it back."""
    if shutil.which("mcopy") is None:
        raise FlashError("mtools is not installed (apt install mtools): cannot write the"
                         " provisioning file")
    part = boot_partition(card)
    image_spec = f"{card}@@{part.offset}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    done = subprocess.run(["mcopy", "-o", "-i", image_spec, str(source),
                           f"::/{PROVISION_NAME}"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise FlashError(f"cannot write {PROVISION_NAME} to partition {part.number}:"
                         f" {done.stderr.strip() or done.stdout.strip()}")
    back = subprocess.run(["mtype", "-i", image_spec, f"::/{PROVISION_NAME}"],
                          capture_output=True, env=env)
    if back.returncode != 0 or back.stdout != source.read_bytes():
        raise FlashError(f"{PROVISION_NAME} did not read back the same from partition"
                         f" {part.number}")
    fd = os.open(card, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    label = f" ({part.label})" if part.label else ""
    _say(f"provisioning file written to boot partition {part.number}{label}")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
