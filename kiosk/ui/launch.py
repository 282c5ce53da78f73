"""Start the shopper UI for ``kiosk run`` (the desktop demo).

With a display the UI opens as a window; without one (a server, a container)
it runs on a private Xvfb and saves a PNG of every screen it shows, so the demo
can still be followed: ``kiosk run`` prints the folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kiosk.ui.xvfb import XvfbError, start_xvfb


def start_demo_ui(state_dir: Path) -> tuple[list[subprocess.Popen], str]:
    """Start ``kiosk ui`` (and Xvfb if needed); returns the processes and a line to print."""
    env = dict(os.environ)
    procs: list[subprocess.Popen] = []
    cmd = [sys.executable, "-m", "kiosk.cli", "ui", "--windowed"]
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        note = "demo: shopper UI window opened (tap the sample items under the screen)"
    else:
        try:
            xvfb, display = start_xvfb()
        except XvfbError as exc:
            return [], f"demo: no display and no Xvfb, so no shopper UI ({exc})"
        procs.append(xvfb)
        env["DISPLAY"] = display
        shots = state_dir / "ui-screens"
        cmd += ["--screenshots", str(shots)]
        note = (f"demo: no display: the shopper UI runs on Xvfb {display} and saves every"
                f" screen it shows to {shots}/ (current.png is the latest)")
    log = (state_dir / "ui.log").open("ab")
    procs.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=log))
    return procs, note
