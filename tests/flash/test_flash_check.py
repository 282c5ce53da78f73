"""``kiosk flash`` writes only this project's image: a partition table (MBR or GPT) with
exactly the partitions the image's own manifest (kiosk-image.json on its boot partition,
as image-build/build writes it) lists, with their labels; the build manifest next to the
image, when there, from the same build. Anything else is refused with one line, and the
card is not touched."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from tests.flash.conftest import ROOT_OFFSET, MiB, SourceImage, make_image, run_kiosk, sh
from tests.flash.test_flash_file import assert_clean_failure


def refused(image: Path, card: Path, *phrases: str) -> None:
    for extra in (["--check"], ["--yes"]):
        done = run_kiosk("flash", str(image), str(card), "--no-bmap", *extra)
        assert_clean_failure(done, *phrases)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert card.read_bytes()[:4096] == b"\xa5" * 4096


def test_an_all_zero_file_is_not_an_image(tmp_path: Path, card: Path):
    zeros = tmp_path / "zeros.img"
    zeros.write_bytes(bytes(4 * MiB))
    refused(zeros, card, "no partition table (MBR or GPT): not a kiosk image")


def test_a_partitioned_disk_without_the_kiosk_manifest_is_refused(image: SourceImage,
                                                                  card: Path):
    sh("mdel", "-i", f"{image.path}@@{MiB}", "::/kiosk-image.json")
    refused(image.path, card, "no kiosk-image.json on its boot partition")


def test_a_disk_without_the_boot_partition_is_refused(tmp_path: Path, card: Path):
    other = tmp_path / "other.img"
    with open(other, "wb") as fh:
        fh.truncate(8 * MiB)
    sh("sfdisk", "-q", str(other), input="label: dos\nstart=2048, type=c\n")
    sh("mkfs.vfat", "-n", "USBSTICK", "--offset", "2048", str(other), "7168")
    refused(other, card, "no FAT partition labelled KIOSK-BOOT")


def test_a_partition_table_other_than_the_manifest_says_is_refused(image: SourceImage,
                                                                   card: Path):
    sh("sfdisk", "-q", "-N", "3", str(image.path), input="67584,20480\n")  # data shrank
    refused(image.path, card, "are not those of its manifest", "3: 33+10 MiB")


def test_a_wrong_label_is_refused(image: SourceImage, card: Path):
    with open(image.path, "r+b") as fh:  # the root's ext4 label, in its superblock
        fh.seek(ROOT_OFFSET + 1024 + 0x78)
        fh.write(b"rootfs\0\0\0\0")
    refused(image.path, card, "partition 2 is labelled 'rootfs'", "'kiosk-root'")


def test_the_build_manifest_beside_the_image_must_be_of_the_same_build(image: SourceImage,
                                                                      card: Path):
    side = image.path.with_name("kiosk.manifest.json")
    side.write_text(json.dumps({"image": "kiosk", "build_id": "20261201T0900Z-1234567",
                                "git": "1" * 40, "debian": {}, "python": []}))
    refused(image.path, card, "kiosk.manifest.json: is the manifest of another build")
    mine = {"image": "kiosk", "build_id": "20261206T1200Z-kiosk", "git": "0" * 40}
    side.write_text(json.dumps({**mine, "debian": {}, "python": []}))
    done = run_kiosk("flash", str(image.path), str(card), "--check")
    assert done.returncode == 0, done.stderr
    assert "image: " in done.stderr and "(kiosk, build 20261206T1200Z-kiosk," in done.stderr


def test_a_gpt_image_with_its_partitions_passes(tmp_path: Path, card: Path):
    gpt = make_image(tmp_path / "kiosk-gpt.img", table="gpt")
    done = run_kiosk("flash", str(gpt.path), str(card), "--check")
    assert done.returncode == 0, done.stderr
    assert "check OK: nothing written" in done.stderr


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_a_compressed_image_is_checked_through_its_boot_partition(tmp_path: Path,
                                                                  image: SourceImage,
                                                                  card: Path, kind: str):
    packed = tmp_path / f"kiosk.img.{kind}"
    zeros = tmp_path / f"zeros.img.{kind}"
    blank = tmp_path / "zeros.img"
    blank.write_bytes(bytes(image.size))
    for src, dst in ((image.path, packed), (blank, zeros)):
        if kind == "gz":
            with open(src, "rb") as fh, gzip.open(dst, "wb", compresslevel=1) as out:
                shutil.copyfileobj(fh, out)
        else:  # the image build's .img.zst
            sh("zstd", "-q", "-1", str(src), "-o", str(dst))
        shutil.copy(image.bmap, dst.with_name(dst.name + ".bmap"))  # the table decides
    done = run_kiosk("flash", str(packed), str(card), "--check")
    assert done.returncode == 0, done.stderr
    assert "(kiosk, build 20261206T1200Z-kiosk," in done.stderr
    done = run_kiosk("flash", str(zeros), str(card), "--check")
    assert_clean_failure(done, "no partition table (MBR or GPT): not a kiosk image")
