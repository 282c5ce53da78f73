"""Updating a kiosk card in place (``kiosk flash --keep-data``): boot and root are
rewritten, every byte of the data partition (journal, receipts, kept provisioning) and the
card's own partition table stay; a changed layout is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.flash.conftest import DATA_OFFSET, ROOT_OFFSET, MiB, make_image, run_kiosk, sh


def digest(path: Path, start: int, end: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(start)
        return hashlib.sha256(fh.read(end - start)).hexdigest()


def kiosk_card(tmp_path: Path) -> Path:
    """A card flashed with release 1 whose data partition grew to the card's end and holds
    a journal, as after months in a lane."""
    v1 = make_image(tmp_path / "v1.img", seed=b"release-1 ")
    card = tmp_path / "card.bin"
    card.write_bytes(b"\0" * (64 * MiB))
    assert run_kiosk("flash", str(v1.path), str(card), "--yes").returncode == 0
    sh("sfdisk", "-q", "-N", "3", str(card), input=",+\n")  # first boot grew the data part
    with open(card, "r+b") as fh:
        fh.seek(DATA_OFFSET + 5 * MiB)
        fh.write(b"JOURNAL event 1..90210 " * 40000)
    return card


def test_keep_data_rewrites_boot_and_root_and_keeps_every_data_byte(tmp_path: Path):
    card = kiosk_card(tmp_path)
    table, data = digest(card, 0, 512), digest(card, DATA_OFFSET, 64 * MiB)
    v2 = make_image(tmp_path / "v2.img", seed=b"release-2 ")
    done = run_kiosk("flash", str(v2.path), str(card), "--keep-data", "--yes")
    assert done.returncode == 0, done.stderr
    assert "partition 3 (data" in done.stderr and "are kept" in done.stderr
    assert f"verified: {DATA_OFFSET - MiB} bytes read back" in done.stderr
    assert digest(card, MiB, DATA_OFFSET) == digest(v2.path, MiB, DATA_OFFSET)
    assert digest(card, ROOT_OFFSET + 3 * MiB, ROOT_OFFSET + 4 * MiB) == hashlib.sha256(
        (b"release-2 " * 200000)[:MiB]).hexdigest()
    assert digest(card, 0, 512) == table  # the grown data partition is still in the table
    assert digest(card, DATA_OFFSET, 64 * MiB) == data
    # and what was written reads back the same later on
    again = run_kiosk("flash", str(v2.path), str(card), "--keep-data", "--verify-only")
    assert again.returncode == 0, again.stderr


def test_keep_data_refuses_a_changed_layout_and_a_card_without_data(tmp_path: Path):
    card = kiosk_card(tmp_path)
    before = digest(card, 0, 64 * MiB)
    v2 = make_image(tmp_path / "v2.img")
    sh("sfdisk", "-q", "-N", "2", str(v2.path), input=",28000\n")  # root shrank
    done = run_kiosk("flash", str(v2.path), str(card), "--keep-data", "--yes")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "partition 2 differs" in done.stderr and "full flash is needed" in done.stderr
    assert digest(card, 0, 64 * MiB) == before

    blank = tmp_path / "blank.bin"
    blank.write_bytes(b"\0" * (64 * MiB))
    done = run_kiosk("flash", str(v2.path), str(blank), "--keep-data", "--yes")
    assert done.returncode == 2 and "no MBR partition table" in done.stderr
