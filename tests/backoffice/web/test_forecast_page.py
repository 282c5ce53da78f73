"""The dashboard's forecast page (``/dash/store/{store}/forecast``) on the shop's two weeks
of real lane journals (tests/backoffice/web/shop.py) with stock counts recorded: who may see
it, its numbers against ``kiosk backoffice forecast`` run as a process on the same
database, its chart, its CSV, and its words in Chinese and Korean."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from dataclasses import replace
from html import unescape

import psycopg
from starlette.testclient import TestClient

from kiosk.backoffice.app import create_app
from kiosk.backoffice.forecast_data import record_stock
from kiosk.sim.salesyear import generate, write_events
from tests.backoffice.web.conftest import maintained
from tests.backoffice.web.shop import DAY, ITEMS
from tests.harness import kiosk_cli

PAGE = "/dash/store/S001/forecast"


def _rows(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table}"
    return [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1))]


def _strict_json(text: str) -> dict:
    """``text`` parsed as JSON proper: NaN and Infinity are not JSON."""
    def refuse(word: str) -> None:
        raise ValueError(f"{word} in the output: not JSON")
    return json.loads(text, parse_constant=refuse)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_forecast_page_shows_what_the_command_prints(shop):
    counted = dt.datetime.combine(DAY, dt.time(12), dt.UTC)  # mid-day: the day's later sales
    with psycopg.connect(shop.url) as conn:
        record_stock(conn, "S001", [(ITEMS[0][0], 3.0, None), (ITEMS[1][0], 400.0, 5),
                                    (ITEMS[2][0], 1.0, 1)], counted)
    for user, status in (("mgr2", 403), ("mgr1", 200), ("admin", 200)):
        shop.http.cookies.clear()
        assert shop.sign_in(shop.http, user).status_code == 303
        answer = shop.http.get(PAGE, params={"day": DAY.isoformat()})
        assert answer.status_code == status, (user, answer.text)
    html = answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")

    env = {**os.environ, "KIOSK_BACKOFFICE_DB": shop.url}
    text = kiosk_cli(env, "backoffice", "forecast", "S001")
    as_json = kiosk_cli(env, "backoffice", "forecast", "S001", "--json")
    assert text.returncode == as_json.returncode == 0, text.stderr + as_json.stderr
    printed = {line.split()[0]: line.split()[-6:] for line in text.stdout.splitlines()[2:]}
    items = {it["key"]: it for it in _strict_json(as_json.stdout)["items"]}
    rows = _rows(html, "forecast")
    assert len(rows) == len(items) == len(printed) == len(ITEMS)
    ordered = 0
    for name, order, hand, total, low, high, lead, safety, _model, key in rows:
        p_total, p_interval, p_hand, p_lead, p_safety, p_order = printed[key]
        assert f"{_number(total):.1f}" == p_total
        assert f"{_number(low):.1f}-{_number(high):.1f}" == p_interval
        if p_hand == "-":  # never counted: no suggestion
            assert (hand, order, p_order) == ("–", "–", "-")
        else:
            assert (_number(hand), int(order)) == (float(p_hand), int(p_order))
        assert int(lead) == int(p_lead) == items[key]["lead_time_days"]
        assert f"{_number(safety):.1f}" == p_safety
        assert name == items[key]["name"]
        ordered += order not in ("–", "0")
    # the counts: the first two items' shelves are short or full, the third sold out
    assert items[ITEMS[0][0]]["order"] > 0 and items[ITEMS[1][0]]["order"] == 0
    assert ordered >= 1 and items[ITEMS[1][0]]["lead_time_days"] == 5
    sold_after = items[ITEMS[0][0]]["on_hand"]
    assert 0 <= sold_after <= 3

    # the chart of the first row's item: its sales as bars, the forecast band and line
    assert re.search(r'<polygon class="band" points="[\d., ]+"', html)
    assert html.count('class="bar sold"') == 42 and 'class="forecast"' in html
    first = rows[0][9]
    days = _rows(html, "days")
    assert [_number(d[1]) for d in days] == [round(m, 2) for m in items[first]["mean"]]

    # another item picked; the CSV of both tables
    other = ITEMS[5][0]
    picked = shop.http.get(PAGE, params={"day": DAY.isoformat(), "item": other}).text
    assert f'<option value="{other}" selected>' in picked
    assert [_number(d[1]) for d in _rows(picked, "days")] == [
        round(m, 2) for m in items[other]["mean"]]
    got = shop.http.get(PAGE + ".csv", params={"day": DAY.isoformat(), "table": "forecast"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(got.text)))
    assert len(table) == len(ITEMS) + 1
    assert {r[9]: r[8] for r in table[1:]} == {k: it["model"] for k, it in items.items()}
    assert {r[9]: r[1] for r in table[1:]} == {
        k: "" if it["order"] is None else str(it["order"]) for k, it in items.items()}


def test_the_forecast_page_in_chinese_and_korean_and_for_the_chain(shop):
    assert shop.sign_in(shop.http, "admin").status_code == 303
    for lang, words in (("zh_Hans", ("预测与补货", "建议订货量", "现有库存")),
                        ("ko", ("예측과 발주", "권장 발주량", "현재 재고"))):
        html = shop.http.get(PAGE, params={"day": DAY.isoformat(), "lang": lang}).text
        for word in words:
            assert word in html, (lang, word)
        for english in ("Suggested order", "On hand", "Lead time", "Safety stock",
                        "units sold and forecast", "Backtest", "Weekday average",
                        "Last week again", "Slow mover"):
            assert english not in html, (lang, english)
    with psycopg.connect(shop.url) as conn:  # a store with no sale yet: an empty table
        conn.execute("INSERT INTO stores (code) VALUES ('S003')")
    empty = shop.http.get("/dash/store/S003/forecast", params={"day": DAY.isoformat()})
    assert empty.status_code == 200 and _rows(empty.text, "forecast") == [["No sales"]]
    assert "NaN" not in empty.text and "nan" not in empty.text
    chain = shop.http.get("/dash/chain/forecast", params={"day": DAY.isoformat()})
    assert chain.status_code == 200 and "pick a store" in chain.text


def test_the_page_reads_only_what_the_maintenance_job_summed(shop):
    """A GET (and the command without --refresh) writes nothing: a store's year synced after
    the job's last round is not on the page, nor summed by it, until the service's
    maintenance job sums it; the command says the summary is behind meanwhile."""
    year = generate(stores=1, items=4, days=30, start=DAY - dt.timedelta(days=29), seed=7,
                    volume=0.3)
    year = replace(year, stores=["S003"])
    with psycopg.connect(shop.url) as conn:
        write_events(conn, year)
        conn.execute("DELETE FROM stock_counts WHERE store_code = 'S003'")  # sales only

    def summary() -> tuple[list, int]:
        with psycopg.connect(shop.url) as conn:
            return (conn.execute("SELECT * FROM item_daily_watermark ORDER BY lane_id")
                    .fetchall(),
                    conn.execute("SELECT count(*) FROM item_daily").fetchone()[0])

    env = {**os.environ, "KIOSK_BACKOFFICE_DB": shop.url}
    page = "/dash/store/S003/forecast"
    assert shop.sign_in(shop.http, "admin").status_code == 303
    before = summary()
    got = shop.http.get(page, params={"day": DAY.isoformat()})
    assert got.status_code == 200 and _rows(got.text, "forecast") == [["No sales"]]
    printed = kiosk_cli(env, "backoffice", "forecast", "S003", "--json")
    assert printed.returncode == 0
    nothing = _strict_json(printed.stdout)  # no sales, no error rate: null, never NaN
    assert nothing["items"] == [] and nothing["wape_model"] is None
    assert "not in the sales summary yet" in printed.stderr
    assert summary() == before

    app = create_app(shop.url, pool_max=2)  # a service (re)started: its job's first round
    with TestClient(app):
        maintained(app)
    assert summary() != before
    keys = sorted(item.key for i, item in enumerate(year.items) if year.units[0, i].sum())
    assert keys
    got = shop.http.get(page, params={"day": DAY.isoformat()})
    assert sorted(row[9] for row in _rows(got.text, "forecast")) == keys
    printed = kiosk_cli(env, "backoffice", "forecast", "S003", "--json")
    assert sorted(it["key"] for it in json.loads(printed.stdout)["items"]) == keys
    assert printed.stderr == ""
