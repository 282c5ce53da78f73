"""A lane with a bagging scale and the bagging-area check on (:mod:`tests.scale.lane`'s lane,
with a catalog that has the bagging columns and quicker timers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.scale.lane import ScaleLane, start_scale_lane

MILK, COLA, CRATE, NEWITEM = "8801115954255", "8801094804527", "8801043444279", "6901035052276"
#: the catalog's bagging columns: milk and cola have a weight, the crate is not checked, the
#: last item has none yet (learned from attended sales)
CATALOG = f"""gtin,name_en,price,tax_class,age_restricted,sold_by_weight,plu,bag_weight_g,bag_check
{MILK},Whole Milk 1L,1.89,reduced,0,0,,1050,1
{COLA},Cola 1.5L,2.49,reduced,0,0,,1600,
{CRATE},Water crate,6.99,reduced,0,0,,,0
{NEWITEM},New snack,1.29,reduced,0,0,,,
"""
#: quicker timers for tests (the store defaults are 8 s and 0.5 s)
BAGGING_ENV = {"KIOSK__BAGGING__ENABLED": "true", "KIOSK__BAGGING__WAIT_S": "3",
               "KIOSK__BAGGING__GRACE_S": "0.3", "KIOSK__SCALE__BAGGING__POLL_S": "0.05",
               "KIOSK__SCALE__BAGGING__CAPACITY_G": "30000",
               "KIOSK__BAGGING__LEARN_SAMPLES": "1"}


BaggingLane = ScaleLane


def start_lane(tmp: Path, broker_port: int, lane: str, **overrides: str
               ) -> Iterator[BaggingLane]:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "catalog.csv").write_text(CATALOG)
    noise_g = int(overrides.pop("noise_g", "2"))
    yield from start_scale_lane(
        tmp, broker_port, lane, "bagging", tmp / "catalog.csv",
        sim={"capacity_g": 30_000, "noise_g": noise_g, "seed": 7},
        env={**BAGGING_ENV, **overrides}, ready=lambda s: s.get("bagging") is not None)
