"""Retention: the back office drops day partitions older than every store's setting (after
summing them into ``event_daily``) and deletes a shorter-retention store's older rows; the
lane prunes kept receipts older than the e-receipt link validity."""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg

from kiosk.backoffice.retention import RetentionPolicy, apply, partitions
from kiosk.printing.store import ReceiptStore
from tests.backoffice.backup.pgschema import NOW, fresh_database, make_events


def test_old_partitions_are_summed_then_dropped_and_short_stores_trimmed(pg_admin, tmp_path):
    url = fresh_database(pg_admin, "bo_retention")
    make_events(url, days=10, stores={"S1": 3, "S2": 2}, tokens=tmp_path)  # 6 + 4 a day
    policy = RetentionPolicy.model_validate({"default": {"events_days": 5},
                                             "stores": {"S2": {"events_days": 2}}})
    with psycopg.connect(url) as conn:  # each lane's first event: a training sale's
        conn.execute("UPDATE events SET txn = 'TRAIN-S1-L1-000001' WHERE seq = 1")
    with psycopg.connect(url) as conn:
        report = apply(conn, policy, now=NOW)
        by_type = dict(conn.execute("SELECT type, sum(events) FROM event_daily GROUP BY 1"))
        kept = partitions(conn)
        oldest = kept[0][1]
        per_store = dict(conn.execute("SELECT s.code, count(*) FROM events e JOIN stores s"
                                      " ON s.id = e.store_id GROUP BY 1"))
        summary = dict(conn.execute("SELECT s.code, sum(d.events) FROM event_daily d JOIN"
                                    " stores s ON s.id = d.store_id GROUP BY 1"))
        s2_oldest = conn.execute("SELECT min(e.day) FROM events e JOIN stores s ON s.id ="
                                 " e.store_id WHERE s.code = 'S2'").fetchone()[0]

    # whole days: the 4 partitions that end by now - 5 days go; the one that straddles the
    # cut-off stays (a raw event is kept its days, at most one day more)
    assert len(report.dropped) == 4
    assert [p[0] for p in kept if p[1].date() <= NOW.date()][:1] == [
        f"events_{NOW - timedelta(days=5):%Y%m%d}"]  # (the week ahead's stay too)
    assert oldest.date() == (NOW - timedelta(days=5)).date()
    assert per_store["S1"] == 6 * 6
    assert per_store["S2"] == 3 * 4  # S2's days before now - 2 days are gone (same rule) ...
    assert s2_oldest == (NOW - timedelta(days=2)).date()
    assert report.deleted == {"S2": 3 * 4}
    assert summary == {"S1": 4 * 6, "S2": 7 * 4}  # ... but counted, nothing lost unsummed
    # training events are counted apart, never as sales (4 lanes, one each)
    assert by_type == {"item_added": 4 * 6 + 7 * 4 - 4, "training:item_added": 4}

    with psycopg.connect(url) as conn:  # a second run the same day changes nothing
        again = apply(conn, policy, now=NOW)
    assert again.dropped == [] and again.deleted == {"S2": 0}


def test_lane_prunes_kept_receipts_past_the_link_validity(tmp_path):
    store = ReceiptStore(tmp_path / "receipts")
    store.dir.mkdir()
    now = NOW.timestamp()
    for txn, age_days in (("S1-L1-000001", 40), ("S1-L1-000002", 29), ("S1-L1-000003", 31)):
        issued = (NOW - timedelta(days=age_days)).isoformat()
        (store.dir / f"{txn}.json").write_text(json.dumps({"txn": txn, "issued": issued}))
    assert store.prune(30, now=now) == ["S1-L1-000001", "S1-L1-000003"]
    assert sorted(p.stem for p in store.dir.glob("*.json")) == ["S1-L1-000002"]
