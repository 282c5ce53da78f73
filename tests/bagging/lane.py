"""A lane with a bagging scale: the scale simulator on a socat pty, ``kiosk scale bagging``
(kiosk-scale) and a real kiosk-core with the bagging-area check on, over the test broker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk_drivers.scale.sim.simulator import ScaleSimulator
from kiosk_drivers.sim.pty import PtyPair, start_pty_pair

from kiosk.catalog import Catalog
from kiosk.journal.store import Journal
from tests.harness import REPO, CoreProcess, Shopper, kiosk_cli, kiosk_env
from tests.scale.feed import ScaleFeed

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


@dataclass
class BaggingLane:
    shopper: Shopper
    sim: ScaleSimulator
    env: dict
    state_dir: Path
    core: CoreProcess
    feed: ScaleFeed

    def bag_weight(self, key: str) -> tuple:
        """What the lane's catalog holds of ``key`` for the bagging area (read as the core
        reads it)."""
        catalog = Catalog(self.state_dir / "catalog.sqlite")
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


def start_lane(tmp: Path, broker_port: int, lane: str, **overrides: str
               ) -> Iterator[BaggingLane]:
    pair: PtyPair = start_pty_pair(tmp / "bagging", tmp / "bagging-device")
    sim = ScaleSimulator(pair.device, capacity_g=30_000,
                         noise_g=int(overrides.pop("noise_g", "2")), seed=7).start()
    env = kiosk_env(tmp / "state", broker_port, lane,
                    KIOSK__SCALE__BAGGING__PORT=str(pair.host), **BAGGING_ENV, **overrides)
    (tmp / "catalog.csv").write_text(CATALOG)
    done = kiosk_cli(env, "catalog", "import", str(tmp / "catalog.csv"))
    assert done.returncode == 0, done.stderr
    core = CoreProcess(env, tmp / "core.log").start()
    log = (tmp / "scale.log").open("ab")
    scale = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "scale", "bagging"], env=env,
                             cwd=REPO, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    shopper = Shopper(broker_port, lane)
    feed = ScaleFeed(broker_port, lane, "bagging")
    try:
        shopper.wait_online()
        shopper.wait_state(lambda s: s.get("bagging") is not None)
        yield BaggingLane(shopper, sim, env, tmp / "state", core, feed)
    finally:
        feed.close()
        shopper.close()
        scale.terminate()
        scale.wait(10)
        core.stop()
        sim.stop()
        pair.close()


