"""Catalog and prices flow down (issue 17, item 3), end to end: the store's CSV published
by ``kiosk backoffice catalog import`` into PostgreSQL, served by the catalog routes, pulled
by two lanes' pullers and applied by their real kiosk-core processes between baskets only;
a bad snapshot refused by the lane with the reason; an offline lane selling on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from kiosk.backoffice import catalog as bo_catalog
from kiosk.catalog import SAMPLE_CATALOG, Catalog, applied_version, read_staged
from kiosk.domain.catalog import Product
from tests.backoffice.catalog.conftest import STORE, Backoffice, Lane
from tests.fixtures.sample_items import MILK
from tests.harness import CoreProcess, Shopper, kiosk_cli
from tests.integration.flow import to_receipt


def publish(lane: Lane, backoffice: Backoffice, csv: Path) -> int:
    """``kiosk backoffice catalog import`` (with a lane's config: same currency and tax
    classes); the version it published."""
    done = kiosk_cli(lane.env, "backoffice", "--db", backoffice.pg_url, "catalog", "import",
                     STORE, str(csv), "--by", "manager")
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.split("catalog version ")[1].split()[0])


def milk_at(price: str, tmp_path: Path) -> Path:
    lines = SAMPLE_CATALOG.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.rstrip("\r\n").split(",")
        if cells[0] == MILK:
            assert cells[header.index("price")] == "1.89"
            cells[header.index("price")] = price
            line = ",".join(cells) + "\n"
        out.append(line)
    path = tmp_path / "catalog-v2.csv"
    path.write_text("".join(out), encoding="utf-8")
    return path


def journaled(lane: Lane) -> list[dict]:
    db = sqlite3.connect(f"file:{lane.config.journal_path}?mode=ro", uri=True)
    try:
        return [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM events WHERE type = 'catalog_applied' ORDER BY seq")]
    finally:
        db.close()


def reports(backoffice: Backoffice) -> dict[str, tuple]:
    with backoffice.connect() as conn:
        return {row[0]: row[1:] for row in bo_catalog.lane_versions(conn, STORE)}


def test_a_price_change_reaches_two_lanes_between_baskets_only(backoffice, make_lane,
                                                               tmp_path):
    lanes = [make_lane(), make_lane()]
    assert publish(lanes[0], backoffice, SAMPLE_CATALOG) == 1
    for lane in lanes:
        assert lane.puller.poll() == "staged"
        st = lane.shopper.wait_state(lambda s: s["catalog_version"] == 1)
        assert st["state"] == "attract"
        assert lane.shopper.send("scan", code=MILK)["ok"]           # a basket opens

    # the manager changes the milk's price while both baskets are open
    assert publish(lanes[0], backoffice, milk_at("2.49", tmp_path)) == 2
    for lane in lanes:
        assert lane.puller.poll() == "staged"
        assert lane.shopper.send("scan", code=MILK)["ok"]
        line_id = lane.shopper.wait_state(lambda s: s["lines"])["lines"][0]["line_id"]
        result = lane.shopper.send("set_quantity", line_id=line_id, qty=3)  # ticks ran
        assert result["ok"], result
        st = lane.shopper.wait_state(lambda s, r=result: s["seq"] >= r["seq"])
        assert st["catalog_version"] == 1 and lane.config.catalog_staged_path.exists()
        assert {ln["unit_price_minor"] for ln in st["lines"]} == {189}

    # lane 0 sells its basket, priced on version 1; lane 1's shopper walks away
    shop = lanes[0].shopper
    assert shop.send("checkout")["ok"] and shop.send("pay", method="card")["ok"]
    receipt = to_receipt(shop)
    assert receipt["totals"]["subtotal"] == 3 * 189
    assert lanes[1].shopper.send("cancel")["ok"]

    # between baskets both apply version 2; the next basket is priced on it
    for lane in lanes:
        st = lane.shopper.wait_state(lambda s: s["catalog_version"] == 2)
        assert st["state"] == "attract" and not lane.config.catalog_staged_path.exists()
        assert lane.shopper.send("scan", code=MILK)["ok"]
        st = lane.shopper.wait_state(lambda s: len(s["lines"]) == 1)
        assert st["lines"][0]["unit_price_minor"] == 249
        assert lane.puller.poll() == "unchanged"                    # and reports version 2
    assert {lane: row[0] for lane, row in reports(backoffice).items()} == {
        lanes[0].lane_id: 2, lanes[1].lane_id: 2}

    # the back office goes away: the lanes sell on the last version applied
    backoffice.stop()
    for lane in lanes:
        with pytest.raises(httpx.ConnectError):
            lane.puller.poll()
        assert lane.shopper.send("scan", code=MILK)["ok"]
        st = lane.shopper.wait_state(lambda s: s["lines"] and s["lines"][0]["qty"] == 2)
        assert st["catalog_version"] == 2 and st["totals"]["subtotal"] == 2 * 249

    with backoffice.connect() as conn:
        v1, v2 = (conn.execute("SELECT sha256 FROM catalog_snapshots WHERE store_code = %s"
                               " AND version = %s", (STORE, v)).fetchone()[0] for v in (1, 2))
    for lane in lanes:
        assert lane.shopper.send("cancel")["ok"]
        lane.shopper.wait_state(lambda s: s["state"] == "attract")
        lane.core.stop()
        assert [(e["version"], e["sha256"]) for e in journaled(lane)] == [(1, v1), (2, v2)]
        verify = kiosk_cli(lane.env, "journal", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr


def _apply_v1(lane: Lane, backoffice: Backoffice) -> None:
    """Version 1 published (in-process: the CLI's own call) and in place on a lane without
    kiosk-core (as kiosk-core does)."""
    with backoffice.connect() as conn:
        snapshot, _ = bo_catalog.import_csv(conn, STORE, SAMPLE_CATALOG, "manager",
                                            lane.config.currency, lane.config.tax.rates)
    assert snapshot.version == 1
    assert lane.puller.poll() == "staged"
    catalog = Catalog(lane.config.catalog_path)
    staged = lane.config.catalog_staged_path
    catalog.replace_all(read_staged(staged, lane.config.currency, lane.config.tax.rates))
    catalog.close()
    staged.unlink()


def test_a_snapshot_failing_validation_is_refused_with_the_reason(backoffice, make_lane):
    lane = make_lane(with_core=False)
    _apply_v1(lane, backoffice)
    before = applied_version(lane.config.catalog_path)
    # a snapshot the lane's rules refuse: a tax class this lane does not have
    luxury = Product("08801115954255", None, {"en": "Milk"}, 189, "luxury", False, False)
    with backoffice.connect() as conn:
        assert bo_catalog.publish(conn, STORE, [luxury], None, "manager")[0].version == 2
    assert lane.puller.poll() == "refused"
    assert applied_version(lane.config.catalog_path) == before == (1, before[1])
    assert not lane.config.catalog_staged_path.exists()
    row = reports(backoffice)[lane.lane_id]
    assert row[0] == 1 and row[2] == 2
    assert row[3].startswith("item 1: tax_class: unknown tax_class 'luxury'")
    assert lane.puller.poll() == "unchanged"                  # not fetched again

    # a snapshot altered after it was published (its sha256 no longer matches)
    good = Product("08801115954255", None, {"en": "Milk"}, 249, "reduced", False, False)
    with backoffice.connect() as conn:
        assert bo_catalog.publish(conn, STORE, [good], None, "manager")[0].version == 3
        conn.execute("UPDATE catalog_snapshots SET body = replace(body, '249', '1')"
                     " WHERE store_code = %s AND version = 3", (STORE,))
    assert lane.puller.poll() == "refused"
    assert applied_version(lane.config.catalog_path) == before
    assert reports(backoffice)[lane.lane_id][2:] == (
        3, "sha256 does not match the content (damaged or altered)")


def test_the_catalog_routes_refuse_bad_requests(backoffice, make_lane):
    lane = make_lane(with_core=False)
    other = make_lane(with_core=False)
    client = httpx.Client(base_url=backoffice.url,
                          headers={"Authorization": f"Bearer {lane.token}"})
    with client:
        assert client.get(f"/v1/stores/{STORE}/catalog").status_code == 404   # none yet
        _apply_v1(lane, backoffice)
        first = client.get(f"/v1/stores/{STORE}/catalog")
        assert first.status_code == 200 and first.json()["version"] == 1
        again = client.get(f"/v1/stores/{STORE}/catalog",
                           headers={"If-None-Match": first.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        assert client.get("/v1/stores/S999/catalog").status_code == 403
        assert client.get(f"/v1/stores/{STORE}/catalog",
                          headers={"Authorization": "Bearer nope"}).status_code == 401
        post = f"/v1/lanes/{lane.lane_id}/catalog-applied"
        before = reports(backoffice)                     # the puller's report of version 0
        assert before[lane.lane_id][0] == 0
        for body, status in [(b"{", 400), (b'{"version": "1"}', 400),
                             (b'{"version": 1, "x": 2}', 400), (b'{"version": 5}', 400),
                             (b'{"version": 1, "refused": {"version": 1}}', 400),
                             (b" " * 5000, 413)]:
            assert client.post(post, content=body).status_code == status, body
        assert client.post(f"/v1/lanes/{other.lane_id}/catalog-applied",
                           json={"version": 1}).status_code == 403
        assert reports(backoffice) == before                        # nothing recorded
        assert client.post(post, json={"version": 1}).json() == {"ok": True}
        assert reports(backoffice)[lane.lane_id][0] == 1


def test_a_snapshot_put_in_place_before_a_crash_is_journaled_at_start(backoffice, make_lane,
                                                                     tmp_path):
    """kiosk-core puts a snapshot in place, then journals it: a crash between the two leaves
    the catalog ahead of the journal, and the next start journals what is in place."""
    lane = make_lane(with_core=False)
    _apply_v1(lane, backoffice)            # in place, as if kiosk-core died right after
    assert not lane.config.journal_path.exists()          # no kiosk-core has run yet
    core = CoreProcess(lane.env, tmp_path / "core.log").start()
    try:
        shopper = Shopper(int(lane.env["KIOSK__BUS__PORT"]), lane.lane_id)
        try:
            shopper.wait_state(lambda s: s["catalog_version"] == 1)
        finally:
            shopper.close()
    finally:
        core.stop()
    assert [e["version"] for e in journaled(lane)] == [1]
    assert [e["sha256"] for e in journaled(lane)] == [applied_version(
        lane.config.catalog_path)[1]]


def test_the_import_refuses_a_csv_with_a_bad_row_whole_and_versions_only_changes(
        backoffice, make_lane, tmp_path):
    lane = make_lane(with_core=False)
    bad = tmp_path / "bad.csv"
    bad.write_text(milk_at("1.899", tmp_path).read_text(encoding="utf-8"), encoding="utf-8")
    done = kiosk_cli(lane.env, "backoffice", "--db", backoffice.pg_url, "catalog", "import",
                     STORE, str(bad))
    # the lane's own CSV import's words for the row: line, column, reason
    assert done.returncode == 1
    assert "1 bad row(s), nothing imported" in done.stderr
    assert "column price: '1.899' has more than 2 decimal place(s)" in done.stderr
    with backoffice.connect() as conn:
        assert bo_catalog.latest(conn, STORE) is None
    assert publish(lane, backoffice, SAMPLE_CATALOG) == 1
    again = kiosk_cli(lane.env, "backoffice", "--db", backoffice.pg_url, "catalog", "import",
                      STORE, str(SAMPLE_CATALOG))
    assert again.returncode == 0 and "unchanged, still catalog version 1" in again.stdout
    with backoffice.connect() as conn:
        last = bo_catalog.latest(conn, STORE)
    assert (last.version, last.created_by) == (1, "manager")
    # the first version carries the configured promotions (the lanes keep their multi-buys)
    assert json.loads(last.body)["promotions"] == [
        p.model_dump(mode="json") for p in lane.config.promotions] != []
