"""kiosk-sync end to end: the real kiosk-core selling, the real ``kiosk sync`` process, the
back office as its own process over TLS behind a proxy that cuts connections; kill -9 of
either at random points. Afterwards the back office holds exactly the lane's journal: the
same row count and checksum (zero lost, zero duplicated), while the wire carried some
batches twice (counted from kiosk-sync's ``sent seq A-B`` lines and the server's log of
every row received)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import threading
import time
from collections import Counter
from csv import DictReader, DictWriter
from pathlib import Path

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, parse_sync_status
from kiosk.catalog import SAMPLE_CATALOG
from kiosk.journal.store import Journal
from tests.backoffice.server.support import journal_copy, tamper
from tests.backoffice.sync.conftest import SOAK, journal_rows, sell, wait_for
from tests.fixtures.sample_items import MILK
from tests.harness import bus_login, kiosk_cli

pytestmark = pytest.mark.integration


def checksum(rows: list[tuple]) -> str:
    return hashlib.sha256("\n".join("|".join(map(repr, r)) for r in rows).encode()).hexdigest()


def assert_exactly_the_journal(backoffice, lane_env) -> list[tuple]:
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    journal = journal_rows(Path(lane_env["KIOSK__PATHS__STATE_DIR"]))
    held = backoffice.rows(lane)
    assert len(held) == len(journal)
    assert checksum(held) == checksum(journal)
    inserted = backoffice.arrival(lane)  # stored batch after batch, oldest first
    assert inserted == sorted(inserted)
    return journal


def wait_synced(backoffice, lane_env, timeout: float = 60) -> None:
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    wait_for(lambda: backoffice.acked(lane) == journal_rows(state)[-1][0], timeout,
             "the back office never caught up with the journal")


def test_kill9_and_cuts_lose_nothing_and_duplicate_nothing(core, shopper, lane_env, tmp_path,
                                                           backoffice, proxy, start_sync):
    """kill -9 of kiosk-sync and of the back office at random points of the batches (one of
    them right after a commit, before or as its answer goes out), connections cut
    mid-request and mid-answer, and a request held in the network longer than the lane's
    timeout (the lane asks the acked seq and sends the batch again, then the held copy
    arrives too: the same rows reach the server twice, the table keeps one)."""
    rounds = 50 if SOAK else 6
    rng = random.Random(int.from_bytes(os.urandom(4)))
    actions = ["sync", "backoffice", "after_commit", "cut_up", "cut_down", "hold"]
    plan = [a for _ in range(rounds // len(actions) + 1)
            for a in rng.sample(actions, len(actions))]
    backoffice.answer_delay_ms = 200  # the stand-in: each answer 0.2 s after its commit
    shopper.wait_online()
    backoffice.start()
    sync = start_sync(KIOSK__SYNC__BATCH_MAX="5", KIOSK__SYNC__TIMEOUT_S="1")
    done: Counter[str] = Counter()
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    for what in plan[:rounds]:
        before, cuts, held = backoffice.acked(lane), proxy.cut_done, proxy.held
        if what.startswith("cut_"):  # within this sale's requests (~3 KB) or answers (~0.5 KB)
            proxy.cut_next(what.removeprefix("cut_"),
                           rng.randrange(100, 2500) if what == "cut_up" else rng.randrange(20, 350))
        elif what == "hold":
            proxy.hold_next(2.5)
        sell(shopper, 1)  # about ten rows: two batches of five
        if what == "sync":
            time.sleep(rng.uniform(0, 0.4))  # a random point of this sale's batches
            sync.kill9()
            sync.start()
        elif what == "backoffice":
            time.sleep(rng.uniform(0, 0.4))
            backoffice.kill9()
            backoffice.start()
        elif what == "after_commit":  # its rows committed: kill before or as it answers
            wait_for(lambda b=before: backoffice.acked(lane) > b, 30, "no batch committed")
            backoffice.kill9()
            backoffice.start()
        elif what == "hold":
            wait_for(lambda h=held: proxy.held > h, 30, "no request was held")
        else:  # a cut further on than this sale's bytes comes with the next sale's
            for _ in range(5):
                try:
                    wait_for(lambda c=cuts: proxy.cut_done > c, 10, "the cut never came")
                    break
                except TimeoutError:
                    sell(shopper, 1)
            else:
                raise TimeoutError(f"{what}: the cut never came in five sales (armed"
                                   f" {proxy.armed}, {proxy.connections} connections)")
        done[what] += 1
        wait_for(lambda b=before: backoffice.acked(lane) > b, 60, "no progress")
    wait_synced(backoffice, lane_env, timeout=120)
    journal = assert_exactly_the_journal(backoffice, lane_env)
    sent = sync.sent_ranges()
    resent = sum(b - a + 1 for a, b in sent) - len(journal)
    again = ""
    if backoffice.kind == "fake":  # it logs every row it received
        received = backoffice.query("SELECT COUNT(*) FROM received WHERE lane = ?", lane)[0][0]
        again = f", {received - len(journal)} rows received again"
        assert received > len(journal)
    print(f"\nsync kills ({backoffice.kind}): {rounds} rounds {dict(done)}, {len(journal)} rows,"
          f" {len(sent)} batches sent, {resent} rows sent again{again},"
          f" {proxy.cut_done} connections cut, {proxy.held} held requests delivered late,"
          f" back office started {backoffice.starts} times")
    # at-least-once on the wire: batches went twice (the held copies arrived as well);
    # exactly-once in the table (above)
    assert resent > 0 and proxy.held == done["hold"]
    assert proxy.cut_done >= done["cut_up"] + done["cut_down"]


class StatusWatch:
    """kiosk-sync's retained status, as the operator's tools read it (kiosk-cli)."""

    def __init__(self, port: int, lane: str) -> None:
        self.cond = threading.Condition()
        self.last: dict | None = None
        self.client = BusClient(bus_login(port), f"test-sync-status-{lane}")
        self.client.subscribe(Topics(lane).sync_status, self._on)
        assert self.client.start(wait_s=10)

    def _on(self, _topic: str, payload: bytes) -> None:
        msg = parse_sync_status(payload)  # every status passes the schema doctor reads with
        with self.cond:
            self.last = msg
            self.cond.notify_all()

    def wait(self, predicate, timeout: float = 30) -> dict:
        with self.cond:
            assert self.cond.wait_for(lambda: self.last is not None and predicate(self.last),
                                      timeout), f"sync status never matched: {self.last}"
            return self.last


def doctor_sync(env: dict) -> dict:
    done = kiosk_cli(env, "doctor", "--json")
    found = [f for f in json.loads(done.stdout)["findings"] if f["check"] == "sync"]
    assert len(found) == 1, done.stdout
    return found[0]


def test_sync_lag_on_the_bus_and_in_doctor(core, shopper, lane_env, backoffice, start_sync,
                                           sync_env, broker_port):
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    watch = StatusWatch(broker_port, lane)
    shopper.wait_online()
    sell(shopper, 1)
    # the back office down: the lag grows, the sync retries, the lane sells on
    sync = start_sync()
    behind = watch.wait(lambda s: s["state"] == "retrying" and s["lag_events"] is None)
    assert behind["online"] and behind["last_success"] is None
    finding = doctor_sync(sync_env)
    assert finding["verdict"] == "warn" and "failing, retrying" in finding["detail"]
    backoffice.start()
    journal_end = journal_rows(Path(lane_env["KIOSK__PATHS__STATE_DIR"]))[-1][0]
    caught = watch.wait(lambda s: s["state"] == "ok" and s["acked_seq"] == journal_end)
    assert caught["lag_events"] == 0 and caught["lag_s"] == 0 and caught["last_success"]
    finding = doctor_sync(sync_env)
    assert finding["verdict"] == "ok", finding
    assert f"holds seq {journal_end} of {journal_end}: 0 event(s)" in finding["detail"]
    # down again while the lane sells: the status counts the events it lacks
    backoffice.kill9()
    sell(shopper, 1)
    new_end = journal_rows(Path(lane_env["KIOSK__PATHS__STATE_DIR"]))[-1][0]
    lagging = watch.wait(lambda s: s["journal_seq"] == new_end and s["state"] == "retrying")
    assert lagging["acked_seq"] is None or lagging["acked_seq"] == journal_end
    sync.stop()
    gone = watch.wait(lambda s: not s["online"])
    assert gone["state"] == "offline"
    assert doctor_sync(sync_env)["verdict"] == "warn"
    watch.client.stop()
    # sync off: doctor says the lane sells alone
    off = doctor_sync(dict(sync_env, KIOSK__SYNC__URL=""))
    assert off["verdict"] == "ok" and "off" in off["detail"]


def test_a_lane_offline_for_thousands_of_events_catches_up_in_order(lane_env, backoffice,
                                                                      start_sync):
    """The back office unreachable while the lane journals N events (the core's own writer,
    one transaction per command as the core commits them; 10,000 with KIOSK_SOAK_TESTS=1),
    then back: the lane catches up, oldest first, nothing lost, doubled or reordered."""
    n = 10_000 if SOAK else 1_000
    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    journal = Journal(state / "journal.sqlite")
    sync = start_sync(KIOSK__SYNC__BATCH_MAX="500")
    try:
        t0 = time.time()
        for i in range(0, n, 4):
            journal.append([{"type": "activity", "ts": t0 + i + k} for k in range(4)], None)
        backoffice.start()  # back: the lane has n events to ship
        started = time.monotonic()
        wait_synced(backoffice, lane_env, timeout=300)
        took = time.monotonic() - started
    finally:
        journal.close()
    rows = assert_exactly_the_journal(backoffice, lane_env)
    assert len(rows) == n
    sent = sync.sent_ranges()
    # after the outage, batches follow each other with no overlap: nothing resent
    after = [r for r in sent if r[1] > 0]
    assert all(b[0] == a[1] + 1 for a, b in zip(after, after[1:], strict=False)), after
    print(f"\ncatch-up: {n} events in {took:.1f} s, {len(after)} batches")


def test_a_tampered_journal_and_a_gap_are_flagged_end_to_end(lane_env, backoffice,
                                                             start_sync):
    """A lane's journal (one a real kiosk-core wrote: tests/fixtures/journal_v0) edited
    behind its back (an item's price) and missing a row: the real kiosk-sync ships what is
    there, the back office flags both and the lane carries on to the end of its journal."""
    if backoffice.kind != "pg":
        pytest.skip("the chain re-check is the real back office's")
    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    journal = journal_copy(state)
    rows = journal_rows(state)
    edited = next(r[0] for r in rows if r[2] == "item_added")
    lost = rows[len(rows) // 2][0]
    tamper(journal, "UPDATE events SET data = replace(data, '\"unit_price_minor\":',"
           " '\"unit_price_minor\":1') WHERE seq = ?", edited)
    tamper(journal, "DELETE FROM events WHERE seq = ?", lost)
    backoffice.start()
    sync = start_sync(KIOSK__SYNC__BATCH_MAX="7")
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    wait_for(lambda: backoffice.acked(lane) == rows[-1][0], 60, "the lane never caught up")
    assert backoffice.flags(lane) == [(edited, "broken_chain"), (lost, "gap")]
    assert "sync: the back office flagged" in sync.log()
    held = [r[0] for r in backoffice.rows(lane)]
    assert held == [r[0] for r in rows if r[0] != lost]  # the edited row kept as evidence


def test_a_refused_token_is_reported_not_hammered(lane_env, backoffice, start_sync, sync_env,
                                                  token_file, broker_port):
    """A token the back office refuses (401): kiosk-sync says so on the bus and in doctor
    (FAIL, with the fix), and waits backoff_max_s between tries instead of hammering."""
    token_file.write_text("not-this-lanes-token\n")
    backoffice.start()
    watch = StatusWatch(broker_port, lane_env["KIOSK__STORE__LANE_ID"])
    sync = start_sync(KIOSK__SYNC__BACKOFF_MAX_S="30")
    refused = watch.wait(lambda s: s["state"] == "refused")
    assert "401" in refused["error"]
    finding = doctor_sync(sync_env)
    assert finding["verdict"] == "FAIL" and "refuses this lane's token" in finding["detail"]
    assert "kiosk backoffice lane add" in finding["fix"]
    watch.client.stop()
    assert sync.log().count("refused this lane's token") == 1  # one try, then a 30 s wait


def test_kiosk_sync_brings_the_stores_catalog_down_and_reports_it(core, shopper, lane_env,
                                                                   backoffice, start_sync,
                                                                   tmp_path):
    """The wiring on a lane: no separate puller, kiosk-sync's thread stages the store's new
    snapshot, kiosk-core applies it between baskets and kiosk-sync reports the version."""
    if backoffice.kind != "pg":
        pytest.skip("catalog snapshots live in the real back office")
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    backoffice.start()
    shopper.wait_online()
    sync = start_sync(KIOSK__SYNC__PULL_CATALOG="true", KIOSK__SYNC__CATALOG_INTERVAL_S="0.2")
    csv = tmp_path / "store.csv"
    rows = list(DictReader(io.StringIO(SAMPLE_CATALOG.read_text(encoding="utf-8"))))
    assert [r["price"] for r in rows if r["gtin"] == MILK] == ["1.89"]
    with csv.open("w", encoding="utf-8", newline="") as fh:
        out = DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(dict(r, price="2.49") if r["gtin"] == MILK else r for r in rows)
    done = kiosk_cli(dict(lane_env, KIOSK_BACKOFFICE_DB=backoffice.url), "backoffice",
                     "catalog", "import", "S001", str(csv))
    assert done.returncode == 0, done.stderr
    st = shopper.wait_state(lambda s: s["catalog_version"] == 1, timeout=60)
    assert st["state"] == "attract"
    assert shopper.send("scan", code=MILK)["ok"]
    st = shopper.wait_state(lambda s: len(s["lines"]) == 1)
    assert st["lines"][0]["unit_price_minor"] == 249
    wait_for(lambda: backoffice.query("SELECT version FROM lane_catalog WHERE lane_name = %s",
                                      lane) == [(1,)], 30, "the lane never reported version 1")
    assert sync.stop() == 0, sync.log()
