"""A lane with a produce scale and the shipped sample catalog (:mod:`tests.scale.lane`'s lane,
the scale speaking Mettler Toledo 8217)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kiosk.catalog import SAMPLE_CATALOG
from tests.scale.lane import ScaleLane, start_scale_lane

ProduceLane = ScaleLane


def start_produce_lane(tmp: Path, broker_port: int, lane: str, **overrides: str
                       ) -> Iterator[ProduceLane]:
    yield from start_scale_lane(
        tmp, broker_port, lane, "produce", SAMPLE_CATALOG,
        env={"KIOSK__SCALE__PRODUCE__PROTOCOL": "mettler8217",
             "KIOSK__SCALE__PRODUCE__POLL_S": "0.05",
             "KIOSK__SCALE__PRODUCE__MIN_G": "5", **overrides})
