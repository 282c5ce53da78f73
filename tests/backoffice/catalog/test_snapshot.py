"""Catalog snapshots (issue 17) without a server: a snapshot is checked by the CSV import's
own rules, refused whole with the reason, put in place in one transaction, and a
``catalog_applied`` event never follows inside an open basket."""

from __future__ import annotations

import copy
import json

import pytest

from kiosk.catalog import (
    SAMPLE_CATALOG,
    Catalog,
    SnapshotError,
    applied_version,
    check_snapshot,
    make_snapshot,
    snapshot_sha256,
)
from kiosk.domain.checkout import CheckoutState, InvalidEvent, apply

MILK = "08801115954255"


@pytest.fixture
def body(catalog, config) -> dict:
    """The sample catalog as a snapshot travels (version 1)."""
    return json.loads(json.dumps(
        make_snapshot(1, catalog.products(), list(config.promotions)).body()))


def _item(body: dict, gtin: str) -> dict:
    return next(i for i in body["items"] if i["gtin"] == gtin)


def _resealed(body: dict) -> dict:
    body["sha256"] = snapshot_sha256(body["items"], body["promotions"])
    return body


def test_a_snapshot_of_the_sample_catalog_checks_and_keeps_every_product(body, catalog, config):
    snap = check_snapshot(body, config.currency, config.tax.rates)
    assert (snap.version, len(snap.products)) == (1, catalog.count())
    assert snap.products == catalog.products()
    assert snap.promotions == list(config.promotions)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda i: i.update(price_minor=-5), r"price_minor: negative amount"),
    (lambda i: i.update(price_minor=1.5), r"price_minor: an integer"),
    (lambda i: i.update(tax_class="luxury"), r"tax_class: unknown tax_class 'luxury'"),
    (lambda i: i.update(gtin="08801115954256"), r"gtin: .*check digit"),
    (lambda i: i.update(gtin="8801115954255"), r"not in canonical form"),
    (lambda i: i.update(names={"en": "Milk\u202e"}), r"names: .*bidi"),
    (lambda i: i.update(names={}), r"names: has no name"),
    (lambda i: i.update(extra=1), r"fields \["),
    (lambda i: i.update(age_restricted=1), r"age_restricted: true or false"),
])
def test_a_bad_item_refuses_the_whole_snapshot_naming_item_and_field(body, config, change,
                                                                     reason):
    index = body["items"].index(_item(body, MILK))
    change(body["items"][index])
    with pytest.raises(SnapshotError, match=rf"^item {index + 1}: {reason}"):
        check_snapshot(_resealed(body), config.currency, config.tax.rates)


def test_refusals_of_the_snapshot_as_a_whole(body, config):
    cur, classes = config.currency, config.tax.rates
    altered = copy.deepcopy(body)
    _item(altered, MILK)["price_minor"] = 1      # sha256 not updated: damaged in transit
    with pytest.raises(SnapshotError, match="sha256 does not match"):
        check_snapshot(altered, cur, classes)
    twice = copy.deepcopy(body)
    twice["items"].append(dict(_item(twice, MILK)))
    with pytest.raises(SnapshotError, match=rf"{MILK} also in item"):
        check_snapshot(_resealed(twice), cur, classes)
    empty = _resealed({**copy.deepcopy(body), "items": []})
    with pytest.raises(SnapshotError, match="no items"):
        check_snapshot(empty, cur, classes)
    promo = copy.deepcopy(body)
    promo["promotions"][0]["m"] = promo["promotions"][0]["n"]
    with pytest.raises(SnapshotError, match="promotion 1: .*m smaller than n"):
        check_snapshot(_resealed(promo), cur, classes)
    with pytest.raises(SnapshotError, match="version: a positive integer"):
        check_snapshot({**body, "version": 0}, cur, classes)


def test_replace_all_puts_the_snapshot_in_place_with_its_version(body, catalog, config):
    assert catalog.version() == (0, "") and catalog.promotions() is None
    _item(body, MILK)["price_minor"] = 249
    body["items"] = [i for i in body["items"][:10] if i["gtin"] != MILK] + [_item(body, MILK)]
    body["promotions"] = []
    snap = check_snapshot(_resealed({**body, "version": 7}), config.currency,
                          config.tax.rates)
    catalog.replace_all(snap)
    assert catalog.by_gtin(MILK).price_minor == 249
    assert catalog.count() == len({p.key for p in snap.products})   # the rest are gone
    assert catalog.version() == (7, snap.sha256)
    assert applied_version(catalog.path) == (7, snap.sha256)       # as another process reads
    assert catalog.promotions() == []


def test_applied_version_of_a_lane_without_a_catalog(tmp_path):
    assert applied_version(tmp_path / "none.sqlite") == (0, "")
    Catalog(tmp_path / "csv.sqlite").import_csv(SAMPLE_CATALOG, *_money())
    assert applied_version(tmp_path / "csv.sqlite") == (0, "")


def _money():
    from kiosk.config import load_config

    config = load_config()
    return config.currency, config.tax.rates


def test_catalog_applied_is_refused_inside_an_open_basket():
    event = {"type": "catalog_applied", "ts": 1.0, "version": 2, "sha256": "ab" * 32}
    apply(CheckoutState(), event)                       # between baskets
    with pytest.raises(InvalidEvent, match="inside the open basket S-1"):
        apply(CheckoutState(state="shopping", txn="S-1"), event)
