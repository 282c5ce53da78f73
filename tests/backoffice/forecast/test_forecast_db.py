"""The forecast on the back office's own data (issue 18, item 2): a synthetic year loaded as
synced lane events into a real PostgreSQL back office, replayed back into daily sales that
match what was generated; stock on hand from the feed's count less the sales since; training
sales, unpaid baskets and removed lines never count; ``kiosk backoffice forecast``."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import psycopg
import pytest

from kiosk.backoffice import item_daily
from kiosk.backoffice.forecast_data import read_feed_stock, record_stock, sales_history
from kiosk.journal.store import canonical_data, chain_digest
from kiosk.sim.salesyear import generate, write_events
from tests.harness import kiosk_cli

DAYS = 120


@pytest.fixture(scope="module")
def loaded(pg_cluster, backoffice_template: str):
    """One database with the year loaded for the module and summed (as the back office
    service's maintenance job does): S002 is only read; the test that appends rows does so
    to S001 only."""
    url = pg_cluster.create_database("forecast_year", template=backoffice_template)
    year = generate(stores=2, items=25, days=DAYS, start=dt.date(2025, 9, 1), seed=3,
                    volume=0.4)
    with psycopg.connect(url) as conn:
        written = write_events(conn, year)
        item_daily.refresh(conn)
    assert set(written) == {"S001", "S002"} and min(written.values()) > 5000
    return url, year


def test_the_replayed_sales_are_the_generated_ones(loaded):
    url, year = loaded
    with psycopg.connect(url) as conn:
        for s, store in [(1, "S002")]:
            history = sales_history(conn, store, days=DAYS)
            assert history.first == year.start
            keys = [item.key for item in year.items]
            sold = [k for k in keys if k in history.keys]
            assert sold == keys  # every item sells in 120 days (or has a stock count)
            rows = [history.keys.index(k) for k in keys]
            assert (history.units[rows] == year.units[s]).all()
            # on hand: the count at the start of stock_day less the sales since
            for i, key in enumerate(keys[:5]):
                count = history.stock[key]
                since = year.units[s, i, year.stock_day:].sum()
                assert count.on_hand == year.stock[s, i]
                assert count.now == max(0, year.stock[s, i] - since)


def _append(conn, lane: str, rows: list[tuple[str, str, dict]], ts: float) -> None:
    """Rows appended to ``lane``'s synced chain, as its kiosk-sync would have shipped."""
    lane_id, store_id, seq, prev = conn.execute(
        "SELECT l.id, l.store_id, c.last_seq, c.last_hash FROM lanes l JOIN lane_chain c"
        " ON c.lane_id = l.id WHERE l.name = %s", (lane,)).fetchone()
    for kind, txn, data in rows:
        seq, ts = seq + 1, ts + 1
        text = canonical_data(data)
        prev = chain_digest(prev, seq, ts, kind, text)
        conn.execute("INSERT INTO events (store_id, lane_id, seq, day, ts, type, txn, data,"
                     " hash) VALUES (%s, %s, %s, (to_timestamp(%s) AT TIME ZONE 'UTC')::date,"
                     " %s, %s, %s, %s, %s)",
                     (store_id, lane_id, seq, ts, ts, kind, txn, text, prev))
    conn.execute("UPDATE lane_chain SET last_seq = %s, last_hash = %s WHERE lane_id = %s",
                 (seq, prev, lane_id))


def _basket(txn: str, key: str, qty: int, paid: bool, remove: bool = False) -> list:
    line = {"key": key, "gtin": key, "plu": None, "names": {"en": "x"},
            "unit_price_minor": 100, "tax_class": "standard", "age_restricted": False,
            "sold_by_weight": False}
    rows = [("session_started", txn, {"v": 1, "txn": txn, "txn_seq": 1, "locale": "en"}),
            ("item_added", txn, {"v": 1, "line": line}),
            ("item_added", txn, {"v": 1, "line": line}),
            ("quantity_changed", txn, {"v": 1, "line_id": 2, "qty": qty})]
    if remove:
        rows.append(("line_removed", txn, {"v": 1, "line_id": 1, "by": "shopper"}))
    rows.append(("auth_requested", txn, {"v": 1, "method": "card", "amount": 100,
                                         "stan": 9, "idem_key": txn}))
    if paid:
        rows.append(("auth_approved", txn, {"v": 1, "stan": 9, "auth_code": "A",
                                            "card": None, "rrn": "1", "response_code": "00"}))
    else:
        rows.append(("basket_voided", txn, {"v": 1, "reason": "cancel"}))
    return rows


def _weighed(txn: str, grams: int) -> list:
    line = {"key": "PLU4011", "gtin": None, "plu": "4011", "names": {"en": "Bananas"},
            "unit_price_minor": 199, "tax_class": "reduced", "age_restricted": False,
            "sold_by_weight": True, "weight_g": grams, "price_minor": 249}
    return [("session_started", txn, {"v": 1, "txn": txn, "txn_seq": 5, "locale": "en"}),
            ("item_added", txn, {"v": 1, "line": line}),
            ("auth_requested", txn, {"v": 1, "method": "card", "amount": 249, "stan": 11,
                                     "idem_key": txn}),
            ("auth_approved", txn, {"v": 1, "stan": 11, "auth_code": "A", "card": None,
                                    "rrn": "2", "response_code": "00"})]


def test_training_unpaid_removed_flagged_never_count_weighed_in_kg(loaded):
    url, year = loaded
    key = year.items[0].key
    last_day = year.day(year.days - 1)
    noon = dt.datetime.combine(last_day, dt.time(22), dt.UTC).timestamp()
    with psycopg.connect(url) as conn:
        before = sales_history(conn, "S001", days=DAYS)
        row = before.keys.index(key)
        _append(conn, "S001-L01",
                _basket("TRAIN-S001-L01-900001", key, 5, paid=True)     # training: no sale
                + _basket("S001-L01-900002", key, 7, paid=False)        # never paid
                + _basket("S001-L01-900003", key, 3, paid=True, remove=True)
                + _basket("S001-L01-900004", key, 40, paid=True)
                + _weighed("S001-L01-900005", 1250), noon)
        # the ingest found basket 900004's quantity row edited: flagged broken_chain
        lane_id, seq = conn.execute(
            "SELECT lane_id, seq FROM events WHERE txn = 'S001-L01-900004'"
            " AND type = 'quantity_changed'").fetchone()
        conn.execute("INSERT INTO flags (lane_id, seq, kind, detail) VALUES (%s, %s,"
                     " 'broken_chain', 'edited')", (lane_id, seq))
        conn.commit()
        item_daily.refresh(conn)  # the maintenance job's next round
        after = sales_history(conn, "S001", days=DAYS)
    added = after.units[row] - before.units[row]
    assert added[-1] == 3 and added[:-1].sum() == 0  # only line 2 (qty 3) of the paid basket
    assert after.stock[key].sold_since == before.stock[key].sold_since + 3
    assert (before.flagged_baskets, after.flagged_baskets) == (0, 1)
    bananas = after.units[after.keys.index("PLU4011")]
    assert bananas[-1] == pytest.approx(1.25) and bananas[:-1].sum() == 0  # kg


def test_feed_stock_counts(tmp_path: Path, backoffice_url: str):
    feed = tmp_path / "catalog.csv"
    feed.write_text("gtin,plu,price,on_hand,lead_time_days\n4006381333931,,1.00,12,3\n"
                    ",4011,2.00,7.5,\n4012345678901,,1.00,,\n", encoding="utf-8")
    counts = read_feed_stock(feed)
    assert counts == [("4006381333931", 12.0, 3), ("PLU4011", 7.5, None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("gtin,plu,on_hand\n4006381333931,,-1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_feed_stock(bad)
    bad.write_text("gtin,plu,on_hand\n4006381333931,,lots\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a number"):
        read_feed_stock(bad)
    with psycopg.connect(backoffice_url) as conn:
        assert record_stock(conn, "S001", counts) == 2
        held = conn.execute("SELECT item_key, on_hand, lead_time_days FROM stock_counts"
                            " ORDER BY item_key").fetchall()
    assert [(k, float(v), lt) for k, v, lt in held] == [("4006381333931", 12.0, 3),
                                                        ("PLU4011", 7.5, None)]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    """``kiosk ARGV`` in this process (the subprocess run above covers the entry point)."""
    from kiosk.cli import build_parser

    argv = list(argv)
    args = build_parser(argv).parse_args(argv)
    code = args.fn(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_kiosk_backoffice_forecast(loaded, capsys):
    url, year = loaded
    env = {**os.environ, "KIOSK_BACKOFFICE_DB": url}
    done = kiosk_cli(env, "backoffice", "forecast", "S002", "--json", "--history", str(DAYS),
                     "--lead-time", "3")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["first_day"] == (year.day(year.days - 1) + dt.timedelta(days=1)).isoformat()
    assert len(out["items"]) == len(year.items)
    for item in out["items"]:
        assert len(item["mean"]) == 14
        assert all(lo <= m <= hi for lo, m, hi in zip(item["lo"], item["mean"], item["hi"],
                                                      strict=True))
        assert item["lead_time_days"] == 3 and item["order"] >= 0
    # an item with little on hand is reordered, one with plenty is not
    stock = dict(zip([i.key for i in year.items], year.stock[1].tolist(), strict=True))
    orders = {i["key"]: i for i in out["items"]}
    need = [k for k, i in orders.items() if i["on_hand"] < 0.5 * sum(i["mean"][:10])]
    assert need and all(orders[k]["order"] > 0 for k in need)
    assert all(orders[k]["on_hand"] <= stock[k] for k in orders)
    code, text, _ = _run(capsys, "backoffice", "--db", url, "forecast", "S002", "--history",
                         str(DAYS), "--item", year.items[0].key)
    assert code == 0
    assert year.items[0].key in text and "90% interval" in text
    first = orders[year.items[0].key]
    row = next(line for line in text.splitlines() if line.startswith(year.items[0].key))
    total = sum(first["mean"])
    half = 1.6448536 * first["sigma"] * 14 ** 0.5  # the horizon's interval, not summed bounds
    shown_total, shown = row.split()[-6:-4]  # ... total lo-hi on-hand lead safety order
    lo, hi = (float(v) for v in shown.split("-"))
    assert float(shown_total) == pytest.approx(total, abs=0.2)  # the JSON rounds each day
    assert (lo, hi) == (pytest.approx(max(0, total - half), abs=0.2),
                        pytest.approx(total + half, abs=0.2))
    days = [line for line in text.splitlines() if line.startswith("    20")]
    assert len(days) == 14 and days[0].split()[0] == out["first_day"]
    code, _, err = _run(capsys, "backoffice", "--db", url, "forecast", "NOPE")
    assert code == 2 and "no store 'NOPE'" in err
    assert np.isfinite(out["wape_model"]) and out["wape_model"] < out["wape_seasonal_naive"]


def test_catalog_import_records_the_feeds_on_hand(tmp_path: Path, backoffice_url: str,
                                                  capsys, monkeypatch):
    from kiosk.catalog import SAMPLE_CATALOG

    monkeypatch.chdir(tmp_path)  # no site configuration here: the defaults' currency, taxes
    lines = SAMPLE_CATALOG.read_text(encoding="utf-8").splitlines()
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join([lines[0] + ",on_hand,lead_time_days",
                               lines[1] + ",24,4", *(f"{line}," + "," for line in lines[2:])])
                    + "\n", encoding="utf-8")
    code, out, err = _run(capsys, "backoffice", "--db", backoffice_url, "catalog", "import",
                          "S009", str(feed), "--by", "manager")
    assert code == 0, err
    assert "1 stock counts recorded" in out
    with psycopg.connect(backoffice_url) as conn:
        held = conn.execute("SELECT item_key, on_hand, lead_time_days, source"
                            " FROM stock_counts WHERE store_code = 'S009'").fetchall()
    assert [(k, float(v), lt, src) for k, v, lt, src in held] == [
        (lines[1].split(",")[0], 24.0, 4, "catalog")]
    # a bad count refuses the import whole: no new catalog version, no count
    feed.write_text(lines[0] + ",on_hand\n" + lines[1] + ",-3\n", encoding="utf-8")
    code, _, err = _run(capsys, "backoffice", "--db", backoffice_url, "catalog", "import",
                        "S009", str(feed), "--by", "manager")
    assert code == 1 and "line 2" in err
    with psycopg.connect(backoffice_url) as conn:
        assert conn.execute("SELECT count(*) FROM catalog_snapshots").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM stock_counts").fetchone()[0] == 1


def test_salesyear_command_and_too_short_a_history(backoffice_url: str, capsys):
    code, out, _ = _run(capsys, "sim", "salesyear", "--db", backoffice_url, "--stores",
                        "1", "--items", "6", "--days", "60")
    assert code == 0 and "store S001: lane S001-L01" in out
    with psycopg.connect(backoffice_url) as conn:
        events, last = conn.execute("SELECT count(*), max(seq) FROM events").fetchone()
    assert events == last == int(out.split(" events")[0].split()[-1])
    code, _, err = _run(capsys, "sim", "salesyear", "--db", backoffice_url, "--stores",
                        "1", "--items", "6", "--days", "60")
    assert code == 1 and "already loaded" in err
    code, _, err = _run(capsys, "backoffice", "--db", backoffice_url, "forecast", "S001",
                        "--history", "60", "--refresh")  # the year summed first
    assert code == 2 and "too short" in err
    with psycopg.connect(backoffice_url) as conn:
        assert item_daily.behind(conn) == 0
        assert conn.execute("SELECT count(*) FROM item_daily").fetchone()[0] > 0


def test_on_hand_is_the_count_less_what_sold_after_it_within_its_day(backoffice_url):
    """A count taken mid-day: the day's baskets paid before it are on the count already,
    the ones paid after it and every later day's come off it (the summary has no time of
    day: the count's own day is replayed from the events)."""
    from kiosk.sim.salesyear import journal_rows

    year = generate(stores=1, items=5, days=40, start=dt.date(2025, 5, 1), seed=8, volume=0.5)
    with psycopg.connect(backoffice_url) as conn:
        write_events(conn, year)
    day = year.stock_day + 1  # after the generator's own count (at midnight of stock_day)
    at = dt.datetime.combine(year.day(day), dt.time(14, 30), dt.UTC)
    # the truth, from the journal rows themselves: units of each item paid after ``at``
    sold: dict[str, float] = {}
    basket: list[tuple[str, int]] = []
    for _seq, ts, kind, _txn, data in journal_rows(year, 0):
        if kind == "session_started":
            basket = []
        elif kind == "item_added":
            basket.append([data["line"]["key"], 1])
        elif kind == "quantity_changed":
            basket[data["line_id"] - 1][1] = data["qty"]
        elif kind == "auth_approved" and ts > at.timestamp():
            for key, qty in basket:
                sold[key] = sold.get(key, 0) + qty
    counts = [(item.key, 1000.0 + i, None) for i, item in enumerate(year.items)]
    with psycopg.connect(backoffice_url) as conn:
        record_stock(conn, "S001", counts, at)
        item_daily.refresh(conn)
        history = sales_history(conn, "S001", days=40)
    same_day = year.units[0, :, day].sum()
    assert 0 < sum(sold.values()) - year.units[0, :, day + 1:].sum() < same_day  # mid-day
    for key, on_hand, _ in counts:
        assert history.stock[key].sold_since == sold.get(key, 0), key
        assert history.stock[key].now == on_hand - sold.get(key, 0)
