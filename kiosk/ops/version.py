"""``kiosk version``: what is running: the package, its git commit, the image build.

The image build writes ``/etc/kiosk-release``, key=value lines like os-release (values may
be double-quoted; ``#`` starts a comment line):

    KIOSK_VERSION=0.1.0              package version installed in the image
    KIOSK_COMMIT=2ac22ca0d1...       git commit the image was built from (+ "-dirty")
    BUILD_ID=20261125T1324Z-2ac22ca  unique id of this image build
    BUILD_DATE=2026-11-25T13:24:00Z  UTC, ISO 8601
    VARIANT=arm64                    arm64 (Raspberry Pi) or amd64 (boot tests)
    DEBIAN_SUITE=bookworm

An A/B image also carries ``SLOT=A`` or ``SLOT=B`` in the copy on each root (see
docs/technician.md). Unknown keys are kept and shown.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from kiosk import __version__

RELEASE_FILE = Path("/etc/kiosk-release")
RELEASE_KEYS = ("KIOSK_VERSION", "KIOSK_COMMIT", "BUILD_ID", "BUILD_DATE", "VARIANT",
                "DEBIAN_SUITE", "SLOT")
#: the source checkout when running from one (an editable install); installed from a wheel
#: this is site-packages' parent, no git checkout, and the commit is None
REPO = Path(__file__).resolve().parents[2]


def package_version() -> str:
    try:
        return version("kiosk")
    except PackageNotFoundError:
        return __version__


def git_commit(repo: Path = REPO) -> str | None:
    """``<sha>`` or ``<sha>-dirty`` when ``repo`` is a git checkout, else None."""
    if not (repo / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def read_release(path: Path = RELEASE_FILE) -> dict[str, str]:
    """The release file's keys ({} when there is none)."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value]
        fields[key.strip()] = parts[0] if len(parts) == 1 else " ".join(parts)
    return fields


def format_release(fields: dict[str, str]) -> str:
    """Release file text: known keys first, each value quoted when it needs it."""
    order = [k for k in RELEASE_KEYS if k in fields] + sorted(set(fields) - set(RELEASE_KEYS))
    return "".join(f"{k}={shlex.quote(str(fields[k]))}\n" for k in order)


def version_info(release: Path = RELEASE_FILE) -> dict[str, object]:
    return {"version": package_version(), "commit": git_commit(), "release": read_release(
        release)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--release-file", type=Path, default=RELEASE_FILE,
                        help=f"image release file (default {RELEASE_FILE})")


def version_main(args: argparse.Namespace) -> int:
    info = version_info(args.release_file)
    if args.json:
        print(json.dumps(info, sort_keys=True))
        return 0
    line = f"kiosk {info['version']}"
    if info["commit"]:
        line += f" (git {info['commit']})"
    print(line)
    release = info["release"]
    assert isinstance(release, dict)
    if release:
        slot = f", slot {release['SLOT']}" if "SLOT" in release else ""
        print(f"image {release.get('BUILD_ID', '?')} built {release.get('BUILD_DATE', '?')}"
              f" ({release.get('VARIANT', '?')}{slot}) from"
              f" {release.get('KIOSK_COMMIT', '?')}")
    else:
        print(f"no {args.release_file}: not running from a kiosk image")
    return 0
