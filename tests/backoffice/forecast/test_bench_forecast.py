"""``kiosk bench forecast`` (issue 18, item 2): the backtest table and the JSON keys the issue
names, on a small synthetic year (the full bench is 1,000 series: run it by hand)."""

from __future__ import annotations

import json

from kiosk.bench.forecast import bench_forecast


def test_bench_forecast_prints_the_table_and_its_json(capsys):
    code = bench_forecast(stores=2, items=40, days=200, seed=5, runs=1)
    out = capsys.readouterr().out.splitlines()
    figures = json.loads(out[-1])
    assert {"wape_model", "wape_seasonal_naive", "forecast_s_per_1000_items"} <= set(figures)
    assert figures["series"] == 80 and figures["cuts"] == 3  # days 200, 172, 144
    assert figures["forecast_s_per_1000_items"] > 0
    assert code == 0 and figures["beats_baseline"]
    assert figures["wape_model"] < figures["wape_seasonal_naive"]
    rows = [line.split() for line in out]
    table = {row[0]: row[1:] for row in rows
             if len(row) == 4 and row[0] in {*figures["models"], "chosen"}}
    assert set(table) == {*figures["models"], "chosen"}
    assert float(table["chosen"][0]) == round(figures["wape_model"], 3)
    assert sum(m["chosen"] for m in figures["models"].values()) == 80
