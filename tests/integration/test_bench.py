"""``kiosk bench core`` runs end to end and ends with its JSON figures line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness import REPO

pytestmark = pytest.mark.integration  # small and quick: stays in the default run


def test_bench_core_prints_figures_then_json():
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "bench", "core", "--events", "40",
                           "--runs", "1"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    for key in ("append_ms_median", "append_ms_p95", "scan_to_state_ms_median",
                "scan_to_state_ms_p95"):
        assert figures[key] > 0
    assert figures["append_ms_p95"] >= figures["append_ms_median"]
    assert any("journal append" in line for line in lines[:-1])
