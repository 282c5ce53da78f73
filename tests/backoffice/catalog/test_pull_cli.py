"""``kiosk catalog pull`` in its loop, as a technician runs it by hand: with the back office
away it says so once, keeps selling on the catalog it has, and SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from kiosk.ports import free_port
from tests.harness import REPO, kiosk_env


def test_the_pull_loop_says_the_back_office_is_away_and_stops_on_sigterm(tmp_path):
    port = free_port()  # nothing listens on it
    token = tmp_path / "token"
    token.write_text("t0k3n\n")
    os.chmod(token, 0o600)
    env = kiosk_env(tmp_path / "state", 1, "L1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "catalog", "pull", "--url",
         f"http://127.0.0.1:{port}", "--token-file", str(token), "--interval", "0.2"],
        env=env, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        first = proc.stderr.readline()  # its handlers are installed before the first poll
        assert "back office unreachable, selling on catalog version" in first
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "unreachable" not in proc.stderr.read()  # said once, not at every retry
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
