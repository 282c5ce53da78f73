"""``kiosk bench bagging`` runs end to end (a few baskets, many mistakes) and ends with its
JSON figures line (opt-in: KIOSK_BENCH_TESTS=1)."""

from __future__ import annotations

import json

import pytest

from tests.harness import kiosk_cli, kiosk_env

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.bench]


def test_bench_bagging_prints_figures_then_json(tmp_path, broker_port):
    env = kiosk_env(tmp_path / "state", broker_port, "BB")
    done = kiosk_cli(env, "bench", "bagging", "--baskets", "3", "--seed", "5", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert list(figures)[:4] == ["alerts_missed", "false_alerts", "alert_ms_median",
                                 "alert_ms_p95"]
    assert figures["items"] >= 9 and figures["baskets"] == 3
    assert figures["alerts_missed"] == 0
    assert figures["alerts_raised"] == figures["mistakes"] + figures["false_alerts"]
    assert any("alerts raised" in line for line in lines[:-1])
