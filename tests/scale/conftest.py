"""Fixtures for the scale tests: a socat pty pair with the scale simulator on its far end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kiosk_drivers.scale.sim.simulator import ScaleSimulator
from kiosk_drivers.sim.pty import PtyPair, start_pty_pair


@pytest.fixture
def scale_pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = start_pty_pair(tmp_path / "scale", tmp_path / "scale-device", tmp_path / "socat.log")
    yield pair
    pair.close()


@pytest.fixture
def scale_sim(scale_pty: PtyPair) -> Iterator[ScaleSimulator]:
    sim = ScaleSimulator(scale_pty.device).start()
    yield sim
    sim.stop()
