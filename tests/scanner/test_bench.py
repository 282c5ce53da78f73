"""``kiosk bench scanner`` runs end to end (small) and ends with its JSON figures line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kiosk.bench.scanner import JSON_KEYS
from tests.harness import REPO

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.bench]


def test_bench_scanner_prints_figures_then_json():
    # the real-photo figures take minutes: tests/scanner/test_photos.py covers that path
    done = subprocess.run([sys.executable, "-m", "kiosk.bench.scanner", "--presentations", "4",
                           "--fps-frames", "60", "--photos", "none"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert tuple(figures) == JSON_KEYS
    assert figures["fps_640"] > 0 and figures["fps_1280"] > 0
    assert 0 < figures["read_rate_zxing"] <= figures["read_rate_either"] <= 1
    assert figures["read_rate_zbar"] <= figures["read_rate_either"]
    assert figures["scan_to_bus_ms_p95_640"] >= figures["scan_to_bus_ms_median_640"] > 0
    assert isinstance(figures["false_reads"], int)
    assert any("read rate" in line for line in lines[:-1])
    # GS1 codes drawn by zint: most read, none ever priced from a wrong reading
    assert figures["gs1_wrong"] == 0 and 0 < figures["gs1_read"] <= figures["gs1_shows"]
