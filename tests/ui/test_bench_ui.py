"""``kiosk bench ui`` runs end to end and ends with its JSON line (figures, no thresholds)."""

from __future__ import annotations

import json

import pytest

from tests.harness import kiosk_cli

pytestmark = [pytest.mark.ui, pytest.mark.slow, pytest.mark.bench]


def test_bench_ui_prints_figures_and_json(tmp_path):
    done = kiosk_cli({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, "bench", "ui",
                     timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    for key in ("first_frame_s", "idle_cpu_pct", "ui_rss_mb"):
        assert figures[key] > 0 or key == "idle_cpu_pct"
    assert any("first frame" in line for line in lines[:-1])
