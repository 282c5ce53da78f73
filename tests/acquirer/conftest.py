"""Fixtures for the acquirer suite: the real simulator process over TCP, links, sales."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.payments.acquirer import AcquirerLink, SaleRequest
from kiosk.payments.acquirer_config import AcquirerConfig
from kiosk.payments.hostlog import HostLog
from kiosk.payments.iso8583 import load_dialect
from kiosk.sim.acquirer import ledger_events, ledger_net

REPO = Path(__file__).resolve().parents[2]
PAN = "4761739001010119"
TRACK2 = bytes.fromhex("4761739001010119D25122011143804400000F")
ICC = bytes.fromhex("9F2608C2E7F4B3A1D5E6F79F2701809F3602001C9F10120110A00003220000000000000000"
                    "00000000FF950500000080009A032611259C01005F2A0208409F02060000000012349F1A"
                    "0208409F3303200800")
SECRETS = [PAN, TRACK2.hex().upper(), "4761739001010119=2512", ICC.hex().upper()[:40]]


def sim_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class SimProcess:
    """``kiosk sim acquirer`` as a child process, driven by lines on its stdin."""

    def __init__(self, ledger: Path, dialect: str = "default", tls: tuple[Path, Path] | None
                 = None) -> None:
        args = [sys.executable, "-m", "kiosk.cli", "sim", "acquirer", "--port", "0",
                "--ledger", str(ledger), "--dialect", dialect]
        if tls:
            args += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        self.ledger = ledger
        self.proc = subprocess.Popen(args, cwd=REPO, env=sim_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        first = self.lines.get(timeout=30)
        assert first.startswith("acquirer simulator port="), first
        self.port = int(first.split("port=")[1].split()[0])

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def cmd(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.lines.get(timeout=10)
        assert answer.startswith("ok") or line == "status", answer
        return answer

    def events(self, event: str | None = None) -> list[dict]:
        return ledger_events(self.ledger, event) if self.ledger.exists() else []

    def net(self) -> dict[str, int]:
        return ledger_net(self.ledger) if self.ledger.exists() else {}

    def wait_event(self, event: str, predicate: Callable[[dict], bool] = lambda r: True,
                   timeout: float = 20) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for rec in self.events(event):
                if predicate(rec):
                    return rec
            time.sleep(0.02)
        raise AssertionError(f"no {event} in the ledger: {self.events()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Callable[..., SimProcess]]:
    """Start simulators; at teardown the ledger must show at most one approved-and-not-
    reversed authorization per basket."""
    sims: list[SimProcess] = []

    def start(dialect: str = "default", tls: tuple[Path, Path] | None = None,
              ledger: Path | None = None) -> SimProcess:
        sim = SimProcess(ledger or tmp_path / f"ledger{len(sims)}.jsonl", dialect, tls)
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()
        assert all(n <= 1 for n in sim.net().values()), sim.net()


@pytest.fixture
def sim(start_sim: Callable[..., SimProcess]) -> SimProcess:
    return start_sim()


def link_config(port: int, **overrides: object) -> AcquirerConfig:
    values: dict[str, object] = dict(port=port, connect_timeout_s=5, response_timeout_s=1.0,
                                     reversal_timeout_s=5, reversal_attempts_per_drain=3)
    values.update(overrides)
    return AcquirerConfig(**values)


@pytest.fixture
def make_link(tmp_path: Path) -> Iterator[Callable[..., AcquirerLink]]:
    links: list[AcquirerLink] = []

    def make(port: int, dialect: str = "default", hostlog: Path | None = None,
             recover: bool = True, **overrides: object) -> AcquirerLink:
        store = HostLog(hostlog or tmp_path / "hostlog.sqlite")
        link = AcquirerLink(link_config(port, **overrides), load_dialect(dialect), store,
                            recover=recover)
        links.append(link)
        return link

    yield make
    for link in links:
        link.close()
        link.store.close()


def sale(n: int, amount: int = 1234, txn: str | None = None, idem: str | None = None
         ) -> SaleRequest:
    return SaleRequest(txn=txn or f"S001-L01-{n:06d}", idem_key=idem or f"idem-{n}-a",
                       amount=amount, currency_numeric=840, icc_data=ICC, track2=TRACK2,
                       pan=PAN, pan_masked="476173******0119")


def assert_no_card_data(*paths: Path) -> None:
    """No PAN, track 2 or ICC data in clear in any of these files (and their -wal)."""
    for path in paths:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
            if not p.exists():
                continue
            blob = p.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in blob, f"{secret} found in {p}"
                assert secret.encode().lower() not in blob, f"{secret} found in {p}"
            assert TRACK2 not in blob and ICC[:16] not in blob, f"card data bytes in {p}"
