"""The dashboard's numbers against what was really sold: every table's CSV export, for a
store and for the chain, equals the ledger the journals were written from
(tests/backoffice/web/shop.py), and an independent SQL query over the same events. Training
sales, declined attempts and abandoned baskets never count; a row the ingest flagged as an
edited one (broken chain) is left out."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter

import psycopg

from kiosk.domain.feedback import REASONS
from tests.backoffice.web.shop import (
    CHANNEL_FIGURES,
    DAY,
    ITEMS,
    LANES,
    MILK_2_FOR_1,
    PROMO_FROM,
    RAMYUN_3_FOR_12,
)

WEEK = {DAY - dt.timedelta(days=i) for i in range(7)}


def _csv(client, path: str, table: str, lang: str = "en") -> list[dict[str, str]]:
    answer = client.get(path, params={"day": DAY.isoformat(), "table": table, "lang": lang})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def _sql_takings(url: str, stores: tuple[str, ...], day: dt.date) -> tuple[int, int]:
    """Sales and takings of ``day`` as a plain SQL reading of the events (a different
    query from the dashboard's: by the approved payment's requested amount)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), COALESCE(sum((r.data::jsonb->>'amount')::bigint), 0)"
            " FROM events a JOIN events r ON r.lane_id = a.lane_id AND r.txn = a.txn"
            "  AND r.type = 'auth_requested'"
            "  AND r.data::jsonb->'stan' = a.data::jsonb->'stan'"
            " JOIN stores s ON s.id = a.store_id"
            " WHERE a.type = 'auth_approved' AND a.day = %s AND s.code = ANY(%s)"
            "  AND a.txn NOT LIKE 'TRAIN-%%'", (day, list(stores))).fetchone()
    return row[0], int(row[1])


def test_every_table_matches_what_was_sold(shop):
    led = shop.ledger
    assert led.training > 0  # there were training sales to leave out
    assert shop.sign_in(shop.http, "admin").status_code == 303
    for path, stores in (("/dash/store/S001", {"S001"}), ("/dash/store/S002", {"S002"}),
                         ("/dash/chain", {"S001", "S002"})):
        glance = {r["Figure"]: int(r["Value"]) for r in _csv(shop.http, path + "/today.csv",
                                                             "glance")}
        sales = led.total(led.sales, stores, {DAY})
        amount = led.total(led.amount, stores, {DAY})
        assert sales > 0
        assert glance == {"sales": sales, "amount_minor": amount,
                          "average_minor": (2 * amount + sales) // (2 * sales)}, path
        assert _sql_takings(shop.url, tuple(stores), DAY) == (sales, amount)

        mix = {(r["Method"], r["Card brand"]): (int(r["Sales"]), int(r["Amount"]))
               for r in _csv(shop.http, path + "/today.csv", "payment_mix")}
        want = {}
        for (store, day, method, brand), n in led.mix.items():
            if store in stores and day == DAY:
                want[method, brand] = n + want.get((method, brand), 0)
        assert {k: v[0] for k, v in mix.items()} == want
        assert sum(v[1] for v in mix.values()) == amount

        hours = {int(r["Hour"]): (int(r["Takings"]), int(r["Takings before"]))
                 for r in _csv(shop.http, path + "/today.csv", "by_hour")}
        last_week = DAY - dt.timedelta(days=7)
        assert hours == {h: (sum(v for (s, d, hh), v in led.hour_amount.items()
                                 if s in stores and d == DAY and hh == h),
                             sum(v for (s, d, hh), v in led.hour_amount.items()
                                 if s in stores and d == last_week and hh == h))
                         for h in range(24)}

        days = _csv(shop.http, path + "/sales.csv", "by_day")
        assert [r["Day"] for r in days] == sorted(d.isoformat() for d in WEEK)
        for r in days:
            d = dt.date.fromisoformat(r["Day"])
            before = d - dt.timedelta(days=7)
            assert (int(r["Sales"]), int(r["Takings"]), int(r["Sales before"]),
                    int(r["Takings before"])) == (
                led.total(led.sales, stores, {d}), led.total(led.amount, stores, {d}),
                led.total(led.sales, stores, {before}), led.total(led.amount, stores, {before}))

        every = _csv(shop.http, path + "/items.csv", "all_items")
        qty = {k: sum(v for (s, d, kk), v in led.item_qty.items()
                      if s in stores and d in WEEK and kk == k) for k, *_ in ITEMS}
        got = {r["Code"]: (int(r["Quantity"]), int(r["Takings"])) for r in every}
        assert {k: q for k, (q, _) in got.items()} == {k: q for k, q in qty.items() if q}
        assert {k: a for k, (_, a) in got.items()} == {
            k: sum(v for (s, d, kk), v in led.item_amount.items()
                   if s in stores and d in WEEK and kk == k) for k in got}
        amounts = [int(r["Takings"]) for r in every]
        assert amounts == sorted(amounts, reverse=True)
        top = _csv(shop.http, path + "/items.csv", "top_items")
        bottom = _csv(shop.http, path + "/items.csv", "bottom_items")
        assert top == every[:10] and bottom == list(reversed(every[-10:]))
        # the names (and the column titles) in the asked language
        ko = [list(r.values()) for r in _csv(shop.http, path + "/items.csv", "all_items",
                                             lang="ko")]
        assert {r[1] for r in ko} == set(got)
        assert any("신라면" in r[0] for r in ko) or "00000000000017" not in got


def test_an_edited_row_is_left_out_of_the_figures(shop):
    """A lane's journal row whose amount was edited is stored and flagged broken_chain by
    the ingest: the dashboard leaves that sale out rather than count a forged amount."""
    assert shop.sign_in(shop.http, "mgr2").status_code == 303
    before = {r["Figure"]: int(r["Value"]) for r in _csv(
        shop.http, "/dash/store/S002/today.csv", "glance")}
    with psycopg.connect(shop.url) as conn:
        seq, txn = conn.execute(
            "SELECT e.seq, e.txn FROM events e JOIN lanes l ON l.id = e.lane_id"
            " WHERE l.name = 'S002-L01' AND e.day = %s AND e.type = 'auth_approved'"
            " AND e.txn NOT LIKE 'TRAIN-%%' ORDER BY e.seq LIMIT 1", (DAY,)).fetchone()
        amount = conn.execute(
            "SELECT (data::jsonb->>'amount')::bigint FROM events e JOIN lanes l"
            " ON l.id = e.lane_id WHERE l.name = 'S002-L01' AND e.txn = %s"
            " AND e.type = 'auth_requested' ORDER BY e.seq DESC LIMIT 1", (txn,)).fetchone()[0]
        lane_id = conn.execute("SELECT id FROM lanes WHERE name = 'S002-L01'").fetchone()[0]
        conn.execute("INSERT INTO flags (lane_id, seq, kind, detail) VALUES (%s, %s,"
                     " 'broken_chain', 'test')", (lane_id, seq))
    after = {r["Figure"]: int(r["Value"]) for r in _csv(
        shop.http, "/dash/store/S002/today.csv", "glance")}
    assert after["sales"] == before["sales"] - 1
    assert after["amount_minor"] == before["amount_minor"] - amount
    assert set(LANES.values()) == {"S001", "S002"}


def test_checkout_page_counts_problems_interventions_and_abandonment(shop):
    import statistics

    led = shop.ledger
    assert shop.sign_in(shop.http, "admin").status_code == 303
    for path, stores in (("/dash/store/S001", {"S001"}), ("/dash/chain", {"S001", "S002"})):
        url = path + "/checkout.csv"
        declines = {(r["Kind"], r["Reason"]): int(r["Count"]) for r in _csv(
            shop.http, url, "declines")}
        assert declines == {("declined", "card_declined"): led.total(led.declined, stores,
                                                                      WEEK)}
        inter = _csv(shop.http, url, "interventions")
        causes = {r["Cause"]: int(r["Count"]) for r in inter}
        att = {what: [w for s, d, w in got if s in stores and d in WEEK]
               for what, got in led.attended.items()}
        assert causes == {"help": led.total(led.help, stores, WEEK),
                          "void": led.total(led.voids, stores, WEEK),
                          "age_check": len(att["age_wait_s"]),
                          "unexpected_item": len(att["bagging_override_s"])
                          + len(att["bagging_put_right_s"])}
        # time to serve: help, from the call to the attendant signing in; an age check, from
        # the scan to the approval; a bagging alert, to staff's override (the ones the
        # shopper put right were not served)
        served = {r["Cause"]: r["Median time to serve"] for r in inter}
        waits = [w for s, d, w in led.help_waits if s in stores and d in WEEK]
        assert float(served["help"]) == round(statistics.median(waits), 1)
        assert float(served["age_check"]) == round(statistics.median(att["age_wait_s"]), 1)
        assert float(served["unexpected_item"]) == round(
            statistics.median(att["bagging_override_s"]), 1)
        assert served["void"] == ""  # a void is staff's own doing: nobody waited
        gone = {(r["Reason"], r["Step"]): int(r["Count"]) for r in _csv(
            shop.http, url, "abandoned")}
        assert gone == {("cancel", step): sum(v for (s, d, st), v in led.abandoned.items()
                                              if s in stores and d in WEEK and st == step)
                        for step in ("basket", "payment")}
        times = {r["Figure"]: float(r["Value"]) for r in _csv(shop.http, url, "checkout_time")}
        secs = [x for s, d, x in led.seconds if s in stores and d in WEEK]
        assert times["baskets"] == len(secs)
        assert times["median_s"] == round(statistics.median(secs), 1)


def test_checkout_page_counts_shopper_ratings_and_reasons(shop):
    """Issue 18: the ratings shoppers gave after the receipt, and what went wrong, beside the
    abandonment figures: equal to the ratings journaled (training ones left out) and to a
    plain SQL count of the same events."""
    led = shop.ledger
    assert led.training_ratings > 0  # training sales rated too: never counted
    assert shop.sign_in(shop.http, "admin").status_code == 303
    for path, stores in (("/dash/store/S002", {"S002"}), ("/dash/chain", {"S001", "S002"})):
        url = path + "/checkout.csv"
        rows = _csv(shop.http, url, "ratings")
        given = {int(r["Rating"]): int(r["Count"]) for r in rows}
        want = {g: sum(v for (s, d, gg), v in led.ratings.items()
                       if s in stores and d in WEEK and gg == g) for g in (1, 2, 3)}
        assert given == {g: n for g, n in want.items() if n} and sum(given.values()) > 0
        for r in rows:  # the basket's own step timing, journaled with its rating
            ms = [x for s, d, g, x in led.rated_ms
                  if s in stores and d in WEEK and g == int(r["Rating"])]
            median = round(statistics.median(ms) / 1000, 1)
            assert float(r["Median, first scan to receipt"]) == median
        why = {r["Reason"]: int(r["Count"]) for r in _csv(shop.http, url, "rating_reasons")}
        want_why = {w: sum(v for (s, d, ww), v in led.reasons.items()
                           if s in stores and d in WEEK and ww == w) for w in REASONS}
        assert why == {w: n for w, n in want_why.items() if n} and why
        with psycopg.connect(shop.url) as conn:
            sql = conn.execute(
                "SELECT count(*) FROM events e JOIN stores s ON s.id = e.store_id"
                " WHERE e.type = 'shopper_rating' AND e.day BETWEEN %s AND %s"
                " AND s.code = ANY(%s) AND e.txn NOT LIKE 'TRAIN-%%'",
                (min(WEEK), max(WEEK), sorted(stores))).fetchone()[0]
        assert sql == sum(given.values())
    page = shop.http.get("/dash/chain/checkout", params={"day": DAY.isoformat(), "lang": "ko"})
    assert page.status_code == 200
    assert 'id="ratings"' in page.text and "무엇이 문제였나" in page.text
    assert "보통이에요" in page.text or "좋아요" in page.text


def test_checkout_page_counts_how_shoppers_checked_out(shop):
    """Issue 18: voice and accessible-mode use. The baskets finished, and how many were
    driven by voice, by the tactile keys, by touch only (``session_finished``'s channels),
    and how many journaled no channels: equal to the ledger and to a plain SQL count."""
    led = shop.ledger
    assert shop.sign_in(shop.http, "admin").status_code == 303
    for path, stores in (("/dash/store/S002", {"S002"}), ("/dash/chain", {"S001", "S002"})):
        rows = _csv(shop.http, path + "/checkout.csv", "channels")
        got = {r["Figure"]: int(r["Baskets"]) for r in rows}
        want = {f: led.total(Counter({(s, d): v for (s, d, ff), v in led.channels.items()
                                      if ff == f}), stores, WEEK) for f in CHANNEL_FIGURES}
        assert got == want and all(want.values())
        where = ("FROM events e JOIN stores s ON s.id = e.store_id WHERE e.type ="
                 " 'session_finished' AND e.day BETWEEN %(first)s AND %(last)s"
                 " AND s.code = ANY(%(stores)s) AND e.txn NOT LIKE 'TRAIN-%%'")
        args = {"first": min(WEEK), "last": max(WEEK), "stores": sorted(stores)}
        with psycopg.connect(shop.url) as conn:
            finished = conn.execute("SELECT count(*) " + where, args).fetchone()[0]
            sql = dict(conn.execute(
                "SELECT c, count(*) FROM (SELECT jsonb_array_elements_text("
                "e.data::jsonb->'channels') AS c " + where + " AND jsonb_typeof("
                "e.data::jsonb->'channels') = 'array') x GROUP BY c", args).fetchall())
        assert (finished, sql["voice"], sql["keys"]) == (got["baskets"], got["voice"],
                                                         got["keys"])
    page = shop.http.get("/dash/chain/checkout",
                         params={"day": DAY.isoformat(), "lang": "zh_Hans"})
    assert page.status_code == 200
    assert 'id="channels"' in page.text and "顾客如何结账" in page.text


def _days(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}


def test_a_date_range_on_every_page_and_csv(shop):
    """``?from=&to=`` sets the days of every table (and the comparison: the same weekdays,
    whole weeks before); ``day`` alone keeps its meaning (the page's default range ending
    there)."""
    led = shop.ledger
    assert shop.sign_in(shop.http, "admin").status_code == 303
    first, last = DAY - dt.timedelta(days=3), DAY - dt.timedelta(days=1)
    days, before = _days(first, last), {d - dt.timedelta(days=7) for d in _days(first, last)}
    rng = {"from": first.isoformat(), "to": last.isoformat()}
    for path, stores in (("/dash/store/S002", {"S002"}), ("/dash/chain", {"S001", "S002"})):
        def csv_of(page: str, table: str, path: str = path) -> list[dict[str, str]]:
            answer = shop.http.get(f"{path}/{page}.csv", params={**rng, "table": table})
            assert answer.status_code == 200, answer.text
            assert f"{first.isoformat()}_{last.isoformat()}.csv" in \
                answer.headers["content-disposition"]
            return list(csv.DictReader(io.StringIO(answer.text)))

        glance = {r["Figure"]: int(r["Value"]) for r in csv_of("today", "glance")}
        assert glance["sales"] == led.total(led.sales, stores, days) > 0
        assert glance["amount_minor"] == led.total(led.amount, stores, days) == sum(
            _sql_takings(shop.url, tuple(stores), d)[1] for d in days)
        hours = {int(r["Hour"]): (int(r["Takings"]), int(r["Takings before"]))
                 for r in csv_of("today", "by_hour")}
        assert hours == {h: (sum(v for (s, d, hh), v in led.hour_amount.items()
                                 if s in stores and d in days and hh == h),
                             sum(v for (s, d, hh), v in led.hour_amount.items()
                                 if s in stores and d in before and hh == h))
                         for h in range(24)}
        by_day = csv_of("sales", "by_day")
        assert [r["Day"] for r in by_day] == sorted(d.isoformat() for d in days)
        for r in by_day:
            d = dt.date.fromisoformat(r["Day"])
            assert (int(r["Takings"]), int(r["Takings before"])) == (
                led.total(led.amount, stores, {d}),
                led.total(led.amount, stores, {d - dt.timedelta(days=7)}))
        qty = {r["Code"]: int(r["Quantity"]) for r in csv_of("items", "all_items")}
        assert qty == {k: q for k in {k for k, *_ in ITEMS}
                       if (q := sum(v for (s, d, kk), v in led.item_qty.items()
                                    if s in stores and d in days and kk == k))}
        causes = {r["Cause"]: int(r["Count"]) for r in csv_of("checkout", "interventions")}
        assert causes.get("help", 0) == led.total(led.help, stores, days)
    # the page: its form holds the range, its links (other pages, CSVs) keep it
    page = shop.http.get("/dash/store/S001/sales", params={**rng, "lang": "ko"})
    assert page.status_code == 200
    assert f'name="from" value="{first.isoformat()}"' in page.text
    assert f'name="to" value="{last.isoformat()}"' in page.text
    assert f"/dash/store/S001/items?lang=ko&amp;to={last.isoformat()}&amp;from=" \
        f"{first.isoformat()}" in page.text
    # the form's redirect carries the range
    went = shop.http.get("/dash/go", params={"page": "items", "here": "S001", **rng},
                         follow_redirects=False)
    assert went.status_code == 303
    assert f"from={first.isoformat()}" in went.headers["location"]


def test_a_bad_range_is_a_clear_400_never_a_500(shop):
    assert shop.sign_in(shop.http, "mgr1").status_code == 303
    far = (DAY - dt.timedelta(days=92)).isoformat()
    for params, words in (
            ({"from": "2026-13-01", "to": "2026-11-30"}, "like 2026-12-07"),
            ({"day": "30/11/2026"}, "like 2026-12-07"),
            ({"to": "20261130"}, "like 2026-12-07"),
            ({"from": "0001-01-01", "to": "0001-01-03"}, "like 2026-12-07"),
            ({"to": "9999-12-31"}, "like 2026-12-07"),
            ({"from": "2026-11-30", "to": "2026-11-01"}, "must not be after"),
            ({"from": far, "to": DAY.isoformat()}, "at most 92 days")):
        for page in ("today", "sales.csv", "items", "checkout.csv"):
            answer = shop.http.get(f"/dash/store/S001/{page}", params={**params, "table": "x"})
            assert answer.status_code == 400, (params, page, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")
            assert words in answer.text, (params, answer.text)
    ko = shop.http.get("/dash/store/S001/today", params={"from": "2026-11-30",
                                                         "to": "2026-11-01", "lang": "ko"})
    assert ko.status_code == 400 and "must not" not in ko.text
    # 92 days is allowed
    ok = shop.http.get("/dash/store/S001/sales.csv", params={
        "from": (DAY - dt.timedelta(days=91)).isoformat(), "to": DAY.isoformat(),
        "table": "by_day"})
    assert ok.status_code == 200 and len(ok.text.splitlines()) == 1 + 92


def test_promotions_effect_matches_the_ledger_and_sql(shop):
    """Per promotion, over a range and the same weekdays before: baskets it discounted,
    units of its item sold while it was in place, what it gave away (the ramyun promotion
    only from the catalog version that brought it). Their total is what the items' line
    prices and the payments differ by (an independent SQL reading of the payments)."""
    led = shop.ledger
    assert shop.sign_in(shop.http, "admin").status_code == 303
    for path, stores in (("/dash/store/S001", {"S001"}), ("/dash/chain", {"S001", "S002"})):
        for first, last in ((DAY - dt.timedelta(days=6), DAY), (PROMO_FROM, DAY)):
            days = _days(first, last)
            before = {d - dt.timedelta(days=7) for d in days}
            params = {"from": first.isoformat(), "to": last.isoformat(), "table": "promotions"}
            rows = shop.http.get(path + "/items.csv", params=params)
            assert rows.status_code == 200
            got = {r["Code"]: r for r in csv.DictReader(io.StringIO(rows.text))}
            assert set(got) == {MILK_2_FOR_1[0], RAMYUN_3_FOR_12[0]}
            for pid in got:
                def total(what, when, pid=pid, stores=stores):
                    return sum(v for (s, d, p), v in what.items()
                               if s in stores and d in when and p == pid)
                r = got[pid]
                assert [int(r[k]) for k in ("Baskets", "Units sold", "Given away",
                                            "Baskets before", "Units sold before",
                                            "Given away before")] == [
                    total(led.promo_baskets, days), total(led.promo_units, days),
                    total(led.promo_given, days), total(led.promo_baskets, before),
                    total(led.promo_units, before), total(led.promo_given, before)], (pid, r)
            assert int(got[MILK_2_FOR_1[0]]["Given away"]) > 0
            assert int(got[RAMYUN_3_FOR_12[0]]["Given away"]) > 0
            if first == PROMO_FROM:  # not in place a week before
                assert int(got[RAMYUN_3_FOR_12[0]]["Units sold before"]) == 0
            given = sum(int(r["Given away"]) for r in got.values())
            lines = sum(int(r["Takings"]) for r in _csv_range(
                shop.http, path + "/items.csv", "all_items", first, last))
            paid = sum(_sql_takings(shop.url, tuple(stores), d)[1] for d in days)
            assert lines - paid == given
    page = shop.http.get("/dash/store/S001/items", params={"day": DAY.isoformat(),
                                                            "lang": "zh_Hans"})
    assert "牛奶买一送一" in page.text and 'id="promotions"' in page.text


def _csv_range(client, path: str, table: str, first: dt.date, last: dt.date):
    answer = client.get(path, params={"from": first.isoformat(), "to": last.isoformat(),
                                      "table": table})
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(answer.text)))
