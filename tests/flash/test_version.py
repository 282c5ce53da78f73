"""``kiosk version``: the package, the git commit of a checkout, the image's release file."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk import __version__
from kiosk.ops.version import format_release, read_release
from tests.flash.conftest import run_kiosk

RELEASE = {"KIOSK_VERSION": "0.1.0", "KIOSK_COMMIT": "2ac22ca0d1e5-dirty",
           "BUILD_ID": "20261125T1324Z-2ac22ca", "BUILD_DATE": "2026-11-25T13:24:00Z",
           "VARIANT": "arm64", "DEBIAN_SUITE": "bookworm", "SLOT": "B",
           "BUILT_BY": "ci runner 7"}


def test_release_file_round_trips(tmp_path: Path):
    path = tmp_path / "kiosk-release"
    path.write_text("# image build\n" + format_release(RELEASE))
    assert read_release(path) == RELEASE
    assert "BUILT_BY='ci runner 7'" in path.read_text()
    assert read_release(tmp_path / "missing") == {}


def test_version_shows_package_commit_and_image(tmp_path: Path):
    path = tmp_path / "kiosk-release"
    path.write_text(format_release(RELEASE))
    done = run_kiosk("version", "--release-file", str(path))
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith(f"kiosk {__version__}")
    assert "(git " in first  # this checkout is a git repository
    assert second == ("image 20261125T1324Z-2ac22ca built 2026-11-25T13:24:00Z (arm64, slot B)"
                      " from 2ac22ca0d1e5-dirty")
    info = json.loads(run_kiosk("version", "--json", "--release-file", str(path)).stdout)
    assert info["version"] == __version__ and info["release"] == RELEASE


def test_version_outside_an_image(tmp_path: Path):
    done = run_kiosk("version", "--release-file", str(tmp_path / "none"))
    assert done.returncode == 0
    assert "not running from a kiosk image" in done.stdout
