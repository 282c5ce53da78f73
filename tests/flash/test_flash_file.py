"""``kiosk flash`` onto an image file standing in for the card: both write paths, the
read-back check, and a clear one-line refusal for every bad input (never a traceback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kiosk.ops.flash_image import parse_bmap
from tests.flash.conftest import (
    ROOT_OFFSET,
    MiB,
    SourceImage,
    flip_byte,
    make_image,
    run_kiosk,
)


def sha(path: Path, length: int, offset: int = 0) -> str:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return hashlib.sha256(fh.read(length)).hexdigest()


def assert_clean_failure(done, *phrases: str) -> None:
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def test_full_write_copies_every_byte_and_verifies(image: SourceImage, card: Path):
    done = run_kiosk("flash", str(image.path), str(card), "--no-bmap", "--yes")
    assert done.returncode == 0, done.stderr
    assert "full write" in done.stderr
    assert f"verified: {image.size} bytes read back" in done.stderr
    assert sha(card, image.size) == sha(image.path, image.size)
    # the rest of the card is not touched, and the stand-in keeps its size
    assert card.stat().st_size == 64 * MiB
    assert sha(card, 64 * MiB - image.size, image.size) == hashlib.sha256(
        b"\xa5" * (64 * MiB - image.size)).hexdigest()


def test_bmap_write_copies_mapped_ranges_and_verifies_them(image: SourceImage, card: Path):
    done = run_kiosk("flash", str(image.path), str(card), "--yes")
    assert done.returncode == 0, done.stderr
    bmap = parse_bmap(image.bmap)
    assert f"verified: {bmap.mapped_bytes} bytes read back" in done.stderr
    assert "write (bmap)" in done.stderr and "MB/s" in done.stderr
    for r in bmap.ranges:
        start, length = r.first * bmap.block_size, (r.last - r.first + 1) * bmap.block_size
        assert sha(card, length, start) == sha(image.path, length, start)
    assert card.stat().st_size == 64 * MiB


def test_a_damaged_image_range_is_caught_by_the_bmap_checksums(image: SourceImage, card: Path):
    flip_byte(image.path, ROOT_OFFSET + 4 * MiB)  # inside the mapped random data
    done = run_kiosk("flash", str(image.path), str(card), "--yes")
    assert_clean_failure(done, "bmap mismatch", "checksum")


def test_verify_reads_the_card_not_the_cache_and_names_the_bad_range(image: SourceImage,
                                                                     card: Path):
    assert run_kiosk("flash", str(image.path), str(card), "--yes").returncode == 0
    flip_byte(card, ROOT_OFFSET + 5 * MiB + 17)  # the card "loses" a byte after writing
    done = run_kiosk("flash", str(image.path), str(card), "--verify-only")
    assert_clean_failure(done, "verify failed: blocks", "do not match the bmap checksum")
    done = run_kiosk("flash", str(image.path), str(card), "--verify-only", "--no-bmap")
    assert_clean_failure(done, "verify failed: card differs from the image in bytes")


def test_an_edited_bmap_file_is_refused_before_writing(image: SourceImage, card: Path):
    text = image.bmap.read_text()
    first = text.index('chksum="') + len('chksum="')
    image.bmap.write_text(text[:first] + ("0" if text[first] != "0" else "1") + text[first + 1:])
    done = run_kiosk("flash", str(image.path), str(card), "--yes")
    assert_clean_failure(done, "bmap file checksum mismatch")
    assert card.read_bytes()[:512] == b"\xa5" * 512


def test_a_bmap_from_another_image_is_refused(tmp_path: Path, image: SourceImage, card: Path):
    other = make_image(tmp_path / "other.img", size_mib=40)
    done = run_kiosk("flash", str(image.path), str(card), "--bmap", str(other.bmap), "--yes")
    assert_clean_failure(done, "bmap is for an image of")


def test_bad_inputs_get_one_clear_line(tmp_path: Path, image: SourceImage, card: Path):
    small = tmp_path / "small.bin"
    small.write_bytes(b"\0" * MiB)
    cases = [
        (("flash", str(tmp_path / "nope.img"), str(card), "--yes"), "no such image file"),
        (("flash", str(image.path), str(tmp_path / "nocard"), "--yes"), "no such device"),
        (("flash", str(image.path), "/dev/null", "--yes"), "not a block device nor a regular"),
        (("flash", str(image.path), str(small), "--yes"), "too small"),
        (("flash", str(tmp_path), str(card), "--yes"), "not a regular file"),
    ]
    for args, phrase in cases:
        done = run_kiosk(*args)
        assert_clean_failure(done, phrase)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert card.read_bytes()[:4096] == b"\xa5" * 4096


def test_without_yes_and_without_a_terminal_nothing_is_written(image: SourceImage, card: Path):
    done = run_kiosk("flash", str(image.path), str(card), stdin="yes\n")
    assert_clean_failure(done, "pass --yes")
    assert card.read_bytes()[:4096] == b"\xa5" * 4096


def test_check_mode_writes_nothing(image: SourceImage, card: Path):
    done = run_kiosk("flash", str(image.path), str(card), "--check")
    assert done.returncode == 0, done.stderr
    assert "check OK: nothing written" in done.stderr
    assert card.read_bytes()[:4096] == b"\xa5" * 4096


def test_on_a_terminal_it_asks_and_shows_one_updating_progress_line(image: SourceImage,
                                                                    card: Path):
    import os
    import pty
    import subprocess
    import sys

    from tests.harness import REPO

    main, sub = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "flash", str(image.path),
                             str(card), "--no-bmap"], cwd=REPO, env=env, stdin=sub,
                            stdout=sub, stderr=sub)
    os.close(sub)
    out = b""
    answered = False
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
        if not answered and b"Type yes: " in out:
            os.write(main, b"yes\n")
            answered = True
    os.close(main)
    assert proc.wait(60) == 0, out.decode(errors="replace")
    text = out.decode(errors="replace")
    assert "ERASE everything on image file" in text
    assert "\r\x1b[Kwrite:" in text and "\r\x1b[Kverify:" in text
    assert "MB/s" in text and "%" in text
    assert sha(card, image.size) == sha(image.path, image.size)
