"""The UI leaves Kivy exactly one input provider (SDL's mouse events): Kivy's Linux default
also probes touchscreens through mtdev, and two providers make every tap count twice.

Checked on Kivy's real Config in a fresh process (Kivy configures itself at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.harness import REPO

PROBE = """
import json
from kivy.config import Config
before = dict(Config.items("input"))
from kiosk.ui import keep_one_input_provider
keep_one_input_provider(Config)
print(json.dumps({"before": before, "after": dict(Config.items("input"))}))
"""


def test_exactly_one_input_provider(tmp_path):
    env = {**os.environ, "KIVY_HOME": str(tmp_path / "kivy"), "KIVY_NO_CONFIG": "1",
           "KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Kivy's own default on Linux: the mouse provider plus a probesysfs (mtdev) one
    assert "probesysfs" in seen["before"].values()
    assert seen["after"] == {"mouse": "mouse,disable_multitouch"}
