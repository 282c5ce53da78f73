"""Fixtures for the bagging tests: a lane with a bagging scale per module (lane.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.bagging.lane import BaggingLane, start_lane


@pytest.fixture(scope="module")
def bagging_lane(tmp_path_factory, broker_port) -> Iterator[BaggingLane]:
    yield from start_lane(tmp_path_factory.mktemp("bagging"), broker_port,
                          f"B{os.getpid()}x{id(tmp_path_factory) % 10000}")
