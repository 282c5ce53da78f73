"""The ingest API on a real PostgreSQL, fed with a real lane's journal (the v0 fixture,
written by a real kiosk-core): exactly once in the table, the chain re-checked (an edited
amount and a seq gap flagged), one lane's token confined to its lane, bad input refused
with a 4xx that changes nothing."""

from __future__ import annotations

import json

import psycopg
import pytest
from starlette.testclient import TestClient

from kiosk.backoffice.app import create_app
from tests.backoffice.server.support import (
    V0_JOURNAL,
    checksum_journal,
    checksum_table,
    flags,
    journal_copy,
    register,
    rows,
    tamper,
)

#: the v0 fixture's rows
V0_ROWS = 226


@pytest.fixture
def http(backoffice_url):
    with TestClient(create_app(backoffice_url, pool_max=4, max_events=100)) as client:
        yield client


def test_a_journal_lands_exactly_once_and_comes_back_as_it_was(backoffice_url, http, tmp_path):
    lane = register(backoffice_url, "S001", "S001-L07", tmp_path, http)
    assert lane.acked() == 0
    assert lane.sync(V0_JOURNAL, batch=60) == []
    assert lane.acked() == V0_ROWS
    assert checksum_table(backoffice_url, lane.name) == checksum_journal(V0_JOURNAL)

    for start in range(0, V0_ROWS, 60):  # every batch resent, and the whole journal at once
        answer = lane.post(rows(V0_JOURNAL, start, 60))
        assert answer.json() == {"acked_seq": V0_ROWS, "flags": []}
    assert lane.post(rows(V0_JOURNAL, 150, 100)).json()["acked_seq"] == V0_ROWS
    assert checksum_table(backoffice_url, lane.name) == checksum_journal(V0_JOURNAL)

    back = http.get(f"/v1/lanes/{lane.name}/events?after=200&limit=10", headers=lane.auth)
    assert back.json()["events"] == rows(V0_JOURNAL, 200, 10)
    with psycopg.connect(backoffice_url) as conn:  # the rows move to their day's partition
        conn.execute("SELECT ensure_event_partitions('2026-12-06', '2026-12-06')")
        parts = conn.execute("SELECT tableoid::regclass::text, count(*) FROM events"
                             " GROUP BY 1").fetchall()
    assert parts == [("events_20261206", V0_ROWS)]  # the fixture's day (UTC)


def test_an_edited_amount_is_stored_and_flagged_as_a_broken_chain(backoffice_url, http,
                                                                   tmp_path):
    journal = journal_copy(tmp_path)
    seq, data = next((r["seq"], r["data"]) for r in rows(journal)
                     if r["type"] == "item_added")
    data["line"]["unit_price_minor"] = 1  # the shopper's price, edited on the SD card
    tamper(journal, "UPDATE events SET data = ? WHERE seq = ?",
           json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False), seq)
    lane = register(backoffice_url, "S001", "L1", tmp_path, http)

    answered = lane.sync(journal, batch=100)

    assert [(f["seq"], f["kind"]) for f in answered] == [(seq, "broken_chain")]
    assert flags(backoffice_url, "L1") == [(seq, "broken_chain")]
    assert lane.acked() == V0_ROWS  # kept and flagged: the lane goes on syncing
    assert checksum_table(backoffice_url, "L1") == checksum_journal(journal)
    assert lane.post(rows(journal, seq - 1, 1)).json()["flags"] == []  # flagged once


def test_a_seq_gap_is_flagged_and_a_batch_past_the_chain_is_out_of_order(backoffice_url,
                                                                         http, tmp_path):
    journal = journal_copy(tmp_path)
    tamper(journal, "DELETE FROM events WHERE seq BETWEEN 100 AND 102")  # inside a batch
    tamper(journal, "DELETE FROM events WHERE seq = 151")  # at a batch's start
    lane = register(backoffice_url, "S001", "L2", tmp_path, http)
    assert lane.post(rows(journal, 0, 50)).json()["acked_seq"] == 50
    assert lane.post(rows(journal, 50, 75)).json()["flags"] == [
        {"seq": 100, "kind": "gap",
         "detail": "seq 100-102 missing from the lane's journal (the next row is 103)"}]
    assert lane.acked() == 128

    assert lane.post(rows(journal, 128, 22)).json()["acked_seq"] == 150
    refused = lane.post(rows(journal, 150, 10))  # starts at 152: the server holds up to 150
    assert refused.status_code == 409 and refused.json()["acked_seq"] == 150
    assert lane.acked() == 150
    answer = lane.post(rows(journal, 150, 10), after=150)  # the lane: nothing between
    assert answer.json()["flags"][0]["kind"] == "gap" and answer.json()["acked_seq"] == 161

    lane.sync(journal)
    assert lane.acked() == V0_ROWS
    assert flags(backoffice_url, "L2") == [(100, "gap"), (151, "gap")]
    assert checksum_table(backoffice_url, "L2") == checksum_journal(journal)


def _state(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return (conn.execute("SELECT count(*), COALESCE(sum(seq), 0) FROM events").fetchone(),
                conn.execute("SELECT array_agg(last_seq ORDER BY lane_id) FROM lane_chain")
                .fetchone(), conn.execute("SELECT count(*) FROM flags").fetchone())


def test_a_lane_token_acts_for_its_own_lane_only(backoffice_url, http, tmp_path):
    mine = register(backoffice_url, "S001", "L1", tmp_path, http)
    other = register(backoffice_url, "S002", "L9", tmp_path, http)
    mine.sync(V0_JOURNAL)
    before = _state(backoffice_url)

    forged = other.post(rows(V0_JOURNAL, 0, 10), lane="L1")
    assert forged.status_code == 403 and "L9" in forged.json()["error"]
    for path in ("/v1/lanes/L1/acked", "/v1/lanes/L1/events?after=0"):
        assert http.get(path, headers=other.auth).status_code == 403
    no_token = http.post("/v1/lanes/L1/events", json={"events": rows(V0_JOURNAL, 0, 1)})
    assert no_token.status_code == 401
    wrong = http.get("/v1/lanes/L1/acked", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert _state(backoffice_url) == before
    assert other.acked() == 0


#: (case, body or the name of one made from the journal, status, what the error says)
BAD = [
    ("not JSON", b"{not json", 400, "not JSON"),
    ("no events key", {"rows": []}, 400, "events"),
    ("empty batch", {"events": []}, 400, "no events"),
    ("events not a list", {"events": "x"}, 400, "events"),
    ("missing fields", {"events": [{"seq": 1}]}, 400, "exactly the fields"),
    ("unknown field", "unknown-field", 400, "unknown field"),
    ("seq backwards", "seq-backwards", 400, "oldest first"),
    ("bad hash", "bad-hash", 400, "hash must be"),
    ("ts a string", "string-ts", 400, "ts must be"),
    ("card data", "card-data", 400, "card data refused"),
    ("too many events", "too-many", 413, "at most 100"),
    ("body too big", "too-big", 413, "request body over"),
    ("a gap before the batch", "out-of-order", 409, "out of order"),
]


def test_bad_input_gets_a_clear_4xx_and_changes_nothing(backoffice_url, http, tmp_path):
    lane = register(backoffice_url, "S001", "L1", tmp_path, http)
    lane.post(rows(V0_JOURNAL, 0, 20))
    before = _state(backoffice_url)
    good = rows(V0_JOURNAL, 20, 5)
    shaped = {
        "unknown-field": lambda: {"events": good, "lane": "L2"},
        "seq-backwards": lambda: {"events": [good[1], good[0]]},
        "bad-hash": lambda: {"events": [dict(good[0], hash="XYZ")]},
        "string-ts": lambda: {"events": [dict(good[0], ts="yesterday")]},
        "card-data": lambda: {"events": [dict(good[0], data={**good[0]["data"],
                                                            "pan": "4111111111111111"})]},
        "too-many": lambda: {"events": rows(V0_JOURNAL, 20, 101)},
        "too-big": lambda: {"events": [dict(good[0], txn="x" * (5 * 1024 * 1024))]},
        "out-of-order": lambda: {"events": rows(V0_JOURNAL, 30, 5)},
    }
    for case, body, status, reason in BAD:
        if isinstance(body, str):
            body = shaped[body]()
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        answer = http.post("/v1/lanes/L1/events", content=content,
                           headers={**lane.auth, "Content-Type": "application/json"})
        assert answer.status_code == status, (case, answer.text)
        assert reason in answer.json()["error"], case
        assert "4111111111111111" not in answer.text
        assert _state(backoffice_url) == before, case
    assert lane.acked() == 20
    assert lane.post(good).json() == {"acked_seq": 25, "flags": []}  # and the lane goes on
