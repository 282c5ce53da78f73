"""A private Xvfb display for the UI when there is no screen (CI, a headless demo, benches)."""

from __future__ import annotations

import os
import shutil
import subprocess


class XvfbError(RuntimeError):
    pass


def start_xvfb(width: int = 1280, height: int = 1024) -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a free display number; returns the process and ":N"."""
    if not shutil.which("Xvfb"):
        raise XvfbError("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()
    if not number:
        proc.kill()
        raise XvfbError("Xvfb did not report a display number")
    return proc, f":{number}"
