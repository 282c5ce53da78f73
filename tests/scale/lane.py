"""A lane with a scale, the one fixture the scale, picker and bagging tests build theirs on: the
scale simulator on a socat pty, ``kiosk scale <name>`` (kiosk-scale) reading it over pyserial,
a catalog imported with ``kiosk catalog import`` and a real kiosk-core over the test broker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk_drivers.scale.sim.simulator import ScaleSimulator
from kiosk_drivers.sim.pty import start_pty_pair

from kiosk.catalog import Catalog
from kiosk.journal.store import Journal
from tests.harness import REPO, CoreProcess, Shopper, kiosk_cli, kiosk_env
from tests.scale.feed import ScaleFeed


@dataclass
class ScaleLane:
    shopper: Shopper
    sim: ScaleSimulator
    feed: ScaleFeed
    env: dict
    state_dir: Path
    core: CoreProcess

    def weigh(self, grams: int) -> None:
        """Put ``grams`` on the scale; returns once kiosk-scale published it settled."""
        self.feed.clear()
        self.sim.set_weight(grams)
        self.feed.wait(lambda m: m["status"] == "stable" and m["weight_g"] == grams)

    @property
    def catalog(self) -> Path:
        return self.state_dir / "catalog.sqlite"

    def bag_weight(self, key: str) -> tuple:
        """What the lane's catalog holds of ``key`` for the bagging area (read as the core
        reads it)."""
        catalog = Catalog(self.catalog)
        try:
            return catalog.bag_weight(key)
        finally:
            catalog.close()

    def journal(self, *kinds: str) -> list[dict]:
        """The journal's events of these types, in order (read as kiosk journal does)."""
        journal = Journal(self.state_dir / "journal.sqlite")
        try:
            return [e.event() for e in journal.entries() if e.type in kinds]
        finally:
            journal.close()


def start_scale_lane(tmp: Path, broker_port: int, lane: str, scale: str, catalog_csv: Path, *,
                     sim: dict[str, Any] | None = None, env: dict[str, str] | None = None,
                     ready: Callable[[dict], bool] | None = None) -> Iterator[ScaleLane]:
    """Yield lane ``lane`` with scale ``scale`` (``scale.<scale>.port`` set to the pty) and
    ``catalog_csv`` imported; ``sim``: the simulator's keyword arguments, ``env``: more
    ``KIOSK__…`` settings, ``ready``: a state the lane must reach before it is yielded."""
    pair = start_pty_pair(tmp / scale, tmp / f"{scale}-device")
    simulator = ScaleSimulator(pair.device, **(sim or {})).start()
    lane_env = kiosk_env(tmp / "state", broker_port, lane,
                         **{f"KIOSK__SCALE__{scale.upper()}__PORT": str(pair.host)},
                         **(env or {}))
    done = kiosk_cli(lane_env, "catalog", "import", str(catalog_csv))
    assert done.returncode == 0, done.stderr
    core = CoreProcess(lane_env, tmp / "core.log").start()
    log = (tmp / "scale.log").open("ab")
    service = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "scale", scale],
                               env=lane_env, cwd=REPO, stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL)
    shopper = Shopper(broker_port, lane)
    feed = ScaleFeed(broker_port, lane, scale)
    try:
        shopper.wait_online()
        if ready is not None:
            shopper.wait_state(ready)
        yield ScaleLane(shopper, simulator, feed, lane_env, tmp / "state", core)
    finally:
        feed.close()
        shopper.close()
        service.terminate()
        service.wait(10)
        core.stop()
        simulator.stop()
        pair.close()
