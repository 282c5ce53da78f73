"""`kiosk bench sync` end to end at a small size (opt-in: KIOSK_BENCH_TESTS=1): its last
line is the JSON with the keys the issue names, and the table matched the journals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.bench
def test_bench_sync_prints_its_figures_as_json():
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "bench", "sync", "--sync-lanes",
                          "1,3", "--sync-events", "600", "--sync-seconds", "1"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["lanes"] == 3 and figures["events_per_s"] > 0
    assert figures["batch_ms_p95"] > 0
    assert [run["events"] for run in figures["runs"]] == [600, 600]
    assert all(run["rows_match_journals"] for run in figures["runs"])
