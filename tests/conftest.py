"""Shared fixtures: a real mosquitto on loopback, per-test kiosk state and lanes.

The suite runs in parallel (pytest-xdist, ``./setup.sh test``): a session fixture runs once
per worker process. What is expensive to make and only read afterwards (generated videos)
is made once per run with :func:`tests.harness.build_once`; everything a test writes or
listens on is its own (tmp_path, a lane id, ports the OS chose). See tests/README.md.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest

from kiosk.catalog import Catalog
from kiosk.config import load_config
from tests.harness import (
    SAMPLE_CSV,
    CoreProcess,
    Shopper,
    build_once,
    kiosk_cli,
    kiosk_env,
    start_broker,
)
from tests.integration.flow import Sniffer

_lanes = itertools.count(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`kiosk bench` end-to-end runs take minutes: opt-in (KIOSK_BENCH_TESTS=1), so the
    default run stays within its 15 minutes on 2 cores."""
    if os.environ.get("KIOSK_BENCH_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="bench runs: KIOSK_BENCH_TESTS=1")
    for item in items:
        if item.get_closest_marker("bench") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def broker_port(tmp_path_factory: pytest.TempPathFactory):
    port, proc = start_broker(tmp_path_factory.mktemp("broker"))
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The packaged configuration with state in tmp_path (no site overrides)."""
    for key in list(os.environ):
        if key.startswith("KIOSK"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KIOSK_CONFIG_DIR", str(tmp_path / "no-site-config"))
    monkeypatch.setenv("KIOSK__PATHS__STATE_DIR", str(tmp_path / "state"))
    return load_config()


@pytest.fixture
def catalog(config):
    config.paths.state_dir.mkdir(parents=True, exist_ok=True)
    cat = Catalog(config.catalog_path)
    report = cat.import_csv(SAMPLE_CSV, config.currency, config.tax.rates)
    assert report.errors == []
    yield cat
    cat.close()


@pytest.fixture
def lane_env(tmp_path: Path, broker_port: int, tmp_path_factory: pytest.TempPathFactory):
    """Environment for kiosk processes on a fresh lane with the sample catalog loaded (a
    copy of the run's one import: a ``kiosk catalog import`` process per test was ~0.5 s
    of CPU each, in 175 tests)."""
    lane = f"T{os.getpid()}x{next(_lanes)}"
    state = tmp_path / "kiosk-state"
    env = kiosk_env(state, broker_port, lane)
    shutil.copyfile(sample_catalog(tmp_path_factory), state / "catalog.sqlite")
    return env


def sample_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample catalog as ``kiosk catalog import`` writes it into a lane's state folder,
    imported once per run (read-only: each lane gets a copy)."""
    def build(folder: Path) -> None:
        done = kiosk_cli(kiosk_env(folder, 1, "CATALOG"), "catalog", "import", str(SAMPLE_CSV))
        assert done.returncode == 0, done.stderr
        assert not (folder / "catalog.sqlite-wal").exists()  # all in the one file

    return build_once(tmp_path_factory, "sample-catalog", build) / "catalog.sqlite"


@pytest.fixture
def start_core(lane_env, tmp_path: Path):
    """Start kiosk-core processes on this lane, with optional env overrides; all are
    stopped at teardown."""
    started: list[CoreProcess] = []

    def start(**overrides: str) -> CoreProcess:
        env = dict(lane_env, **overrides)
        proc = CoreProcess(env, tmp_path / f"core-{len(started)}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def core(start_core):
    return start_core()


@pytest.fixture
def shopper(lane_env, broker_port: int):
    s = Shopper(broker_port, lane_env["KIOSK__STORE__LANE_ID"])
    yield s
    s.close()
    # every state kiosk-core published passes the schema every subscriber reads it through
    assert s.invalid_states == []


@pytest.fixture
def sniffer(broker_port: int):
    """Every message on the bus, commands included (what a test asserts never travels)."""
    s = Sniffer(broker_port)
    yield s
    s.close()


def pytest_terminal_summary(terminalreporter) -> None:
    """The UI tests' screenshot folders (``shots`` in tests/ui/conftest.py records them in
    its report: this hook runs where the reports arrive, the xdist controller too)."""
    folders = dict.fromkeys(value for reports in terminalreporter.stats.values()
                            for report in reports
                            for key, value in getattr(report, "user_properties", ())
                            if key == "screenshots")
    if folders:
        terminalreporter.write_sep("-", "UI screenshots")
        for folder in folders:
            count = len(list(Path(folder).glob("*.png")))
            terminalreporter.write_line(f"{folder}  ({count} PNG)")
