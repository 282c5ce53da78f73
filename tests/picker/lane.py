"""A lane with a produce scale and the shipped sample catalog: the scale simulator on a socat
pty, ``kiosk scale produce`` (kiosk-scale) and a real kiosk-core over the test broker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk_drivers.scale.sim.simulator import ScaleSimulator
from kiosk_drivers.sim.pty import start_pty_pair

from kiosk.catalog import SAMPLE_CATALOG
from kiosk.journal.store import Journal
from tests.harness import REPO, CoreProcess, Shopper, kiosk_cli, kiosk_env
from tests.scale.feed import ScaleFeed


@dataclass
class ProduceLane:
    shopper: Shopper
    sim: ScaleSimulator
    feed: ScaleFeed
    env: dict
    state_dir: Path

    def weigh(self, grams: int) -> None:
        """Put ``grams`` on the scale; returns once kiosk-scale published it settled."""
        self.feed.clear()
        self.sim.set_weight(grams)
        self.feed.wait(lambda m: m["status"] == "stable" and m["weight_g"] == grams)

    @property
    def catalog(self) -> Path:
        return self.state_dir / "catalog.sqlite"

    def journal(self, *kinds: str) -> list[dict]:
        journal = Journal(self.state_dir / "journal.sqlite")
        try:
            return [e.event() for e in journal.entries() if e.type in kinds]
        finally:
            journal.close()


def start_produce_lane(tmp: Path, broker_port: int, lane: str, **overrides: str
                       ) -> Iterator[ProduceLane]:
    pair = start_pty_pair(tmp / "scale", tmp / "scale-device")
    sim = ScaleSimulator(pair.device).start()
    env = kiosk_env(tmp / "state", broker_port, lane,
                    KIOSK__SCALE__PRODUCE__PORT=str(pair.host),
                    KIOSK__SCALE__PRODUCE__PROTOCOL="mettler8217",
                    KIOSK__SCALE__PRODUCE__POLL_S="0.05",
                    KIOSK__SCALE__PRODUCE__MIN_G="5", **overrides)
    done = kiosk_cli(env, "catalog", "import", str(SAMPLE_CATALOG))
    assert done.returncode == 0, done.stderr
    core = CoreProcess(env, tmp / "core.log").start()
    log = (tmp / "scale.log").open("ab")
    scale = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "scale", "produce"], env=env,
                             cwd=REPO, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    shopper = Shopper(broker_port, lane)
    feed = ScaleFeed(broker_port, lane, "produce")
    try:
        shopper.wait_online()
        yield ProduceLane(shopper, sim, feed, env, tmp / "state")
    finally:
        feed.close()
        shopper.close()
        scale.terminate()
        scale.wait(10)
        core.stop()
        sim.stop()
        pair.close()
