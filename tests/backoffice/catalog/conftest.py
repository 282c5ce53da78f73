"""The back office (its app, kiosk.backoffice.app, on uvicorn on 127.0.0.1, in front of a
migrated PostgreSQL database) and lanes (real kiosk-core processes on the test broker, each
registered with its own token) for tests/backoffice/catalog/."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import uvicorn

from kiosk.backoffice.app import create_app
from kiosk.backoffice.auth import add_lane
from kiosk.backoffice.db import migrate
from kiosk.catalog import SAMPLE_CATALOG, Catalog
from kiosk.config import KioskConfig, load_config
from kiosk.services.catalog_pull import CatalogPuller
from kiosk.services.sync import read_token
from tests.harness import CoreProcess, Shopper, kiosk_env

STORE = "S017"
_lanes = itertools.count(1)


@dataclass
class Backoffice:
    url: str
    pg_url: str
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.pg_url, autocommit=True)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(15)
            self.server = None


@pytest.fixture
def backoffice(pg_url: str) -> Iterator[Backoffice]:
    bo = Backoffice("", pg_url)
    migrate(pg_url)
    app = create_app(pg_url, pool_min=1, pool_max=4)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    bo.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    bo.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    bo.thread = threading.Thread(target=bo.server.run, kwargs={"sockets": [sock]},
                                 daemon=True)
    bo.thread.start()
    deadline = time.monotonic() + 15
    while not bo.server.started:  # uvicorn's own flag: set once it accepts connections
        assert time.monotonic() < deadline and bo.thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    yield bo
    bo.stop()
    sock.close()


def lane_config(env: dict[str, str]) -> KioskConfig:
    """The configuration a process started with ``env`` reads."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("KIOSK"):
                mp.delenv(key)
        for key, value in env.items():
            if key.startswith("KIOSK"):
                mp.setenv(key, value)
        return load_config()


@dataclass
class Lane:
    lane_id: str
    env: dict[str, str]
    config: KioskConfig
    puller: CatalogPuller
    token: str
    core: CoreProcess | None = None
    shopper: Shopper | None = None


@pytest.fixture
def make_lane(backoffice: Backoffice, broker_port: int, tmp_path: Path):
    """make_lane(with_core) → a lane of STORE with the sample catalog (loaded by CSV, as a
    lane is provisioned today), its token known to the back office, its puller."""
    lanes: list[Lane] = []

    def make(with_core: bool = True) -> Lane:
        lane_id = f"C{os.getpid()}x{next(_lanes)}"
        env = kiosk_env(tmp_path / lane_id, broker_port, lane_id,
                        KIOSK__STORE__STORE_ID=STORE, KIOSK__TIMEOUTS__RECEIPT_S="0.5")
        config = lane_config(env)
        catalog = Catalog(config.catalog_path)  # what `kiosk catalog import` does, in-process
        assert catalog.import_csv(SAMPLE_CATALOG, config.currency, config.tax.rates).loaded
        catalog.close()
        token_file = tmp_path / f"{lane_id}.token"
        with backoffice.connect() as conn:
            add_lane(conn, STORE, lane_id, token_file)
        token = read_token(token_file)
        lane = Lane(lane_id, env, config, CatalogPuller(config, backoffice.url, token), token)
        lanes.append(lane)
        if with_core:
            lane.core = CoreProcess(env, tmp_path / f"{lane_id}-core.log").start()
            lane.shopper = Shopper(broker_port, lane_id)
            lane.shopper.wait_online()
        return lane

    yield make
    for lane in lanes:
        lane.puller.close()
        if lane.shopper is not None:
            lane.shopper.close()
            assert lane.shopper.invalid_states == []
        if lane.core is not None:
            lane.core.stop()
