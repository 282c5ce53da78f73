"""Fixtures for driver tests: a socat pty pair, the printer simulator on it, artifacts."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kiosk_drivers.printer.config import PrinterConfig
from kiosk_drivers.printer.sim.simulator import PrinterSimulator
from kiosk_drivers.sim.pty import PtyPair, start_pty_pair

from tests.harness import REPO


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests save what a person should look at (ignored by git: var/)."""
    path = Path(os.environ.get("KIOSK_TEST_ARTIFACTS", REPO / "var" / "test-artifacts"))
    path = path / "drivers"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    pair = start_pty_pair(tmp_path / "printer-host", tmp_path / "printer-device",
                          tmp_path / "socat.log")
    yield pair
    pair.close()


@pytest.fixture
def start_sim(pty_pair: PtyPair, artifacts: Path, request: pytest.FixtureRequest
              ) -> Iterator[Callable[..., PrinterSimulator]]:
    """Start the printer simulator on the pty pair; PNGs go to artifacts/<test name>/."""
    sims: list[PrinterSimulator] = []
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def start(**kwargs: object) -> PrinterSimulator:
        out = artifacts / name
        if not sims:
            for old in out.glob("*"):
                old.unlink()
        sim = PrinterSimulator(pty_pair.device, out, **kwargs).start()  # type: ignore[arg-type]
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()


@pytest.fixture
def printer_config(pty_pair: PtyPair) -> Callable[..., PrinterConfig]:
    def make(**fields: object) -> PrinterConfig:
        base: dict[str, object] = {"port": str(pty_pair.host), "baudrate": 115200,
                                   "write_timeout_s": 2.0, "status_timeout_s": 1.0}
        base.update(fields)
        return PrinterConfig(**base)  # type: ignore[arg-type]

    return make
