"""``kiosk bench qrpay`` runs end to end against kiosk sim qrpay and ends with its JSON line
(a few sales; the full run is the bench itself: KIOSK_BENCH_TESTS=1)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.harness import REPO

pytestmark = [pytest.mark.integration, pytest.mark.bench]


def test_bench_qrpay_prints_figures_then_json():
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "bench", "qrpay",
                           "--qrpay-sales", "10"], cwd=REPO, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["sales"] == 10 and figures["gateway"] == "https"
    for key in ("read_to_approved_ms_median", "read_to_approved_ms_p95",
                "simulator_ms_median", "lane_own_ms_p95"):
        assert figures[key] > 0
    assert figures["read_to_approved_ms_p95"] >= figures["read_to_approved_ms_median"]
    assert any("lane's own time" in line for line in lines[:-1])
