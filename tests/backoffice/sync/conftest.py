"""Fixtures of kiosk-sync's tests: the (stand-in) back office as its own process behind a
cutting TCP proxy, TLS from a private CA, the lane's token, and kiosk-sync processes.

``backoffice`` is the real one by default (``kiosk backoffice serve`` on a private PostgreSQL
15 cluster: tests/backoffice/pg.py); with KIOSK_SOAK_TESTS=1 the tests also run against the
stand-in (tests/backoffice/sync/fake_backoffice.py, the wire API's semantics in SQLite), which
also logs every row it received.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.backoffice.sync.proxy import CutProxy
from tests.backoffice.sync.tls import Tls, make_tls
from tests.fixtures.sample_items import CUP_NOODLES, KIMCHI, MILK
from tests.harness import REPO, KioskProcess
from tests.integration.flow import to_receipt

SOAK = os.environ.get("KIOSK_SOAK_TESTS") == "1"
SENT = re.compile(r"sync: sent seq (\d+)-(\d+)")


class ServerProcess:
    """A back office as its own process: killed with -9, or stopped."""

    proc: subprocess.Popen | None = None

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class RealBackOffice(ServerProcess):
    """``kiosk backoffice serve`` over TLS on a migrated PostgreSQL database, as its own
    process (kill -9 able; the database server stays up), the lane registered with
    ``kiosk backoffice lane add`` (its token file)."""

    kind = "pg"

    def __init__(self, folder: Path, tls: Tls, db_url: str, lane: str, token_file: Path,
                 nice: int = 0) -> None:
        self.folder, self.tls, self.url, self.nice = folder, tls, db_url, nice
        self.answer_delay_ms = 0  # the stand-in's knob; the real one answers at once
        self.env = dict(os.environ, KIOSK_BACKOFFICE_DB=db_url)
        added = subprocess.run([sys.executable, "-m", "kiosk.cli", "backoffice", "lane", "add",
                                "S001", lane, "--token-file", str(token_file)], env=self.env,
                               cwd=REPO, capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0

    def start(self) -> RealBackOffice:
        log = (self.folder / "backoffice.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "backoffice", "serve", "--port", "0",
             "--cert", str(self.tls.cert), "--key", str(self.tls.key)], env=self.env,
            cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True,
            preexec_fn=lambda: os.nice(self.nice))
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()),
                         daemon=True).start()
        line = lines.get(timeout=60)
        assert line.startswith("kiosk-backoffice: listening on https://127.0.0.1:"), (
            line + (self.folder / "backoffice.log").read_text())
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.starts += 1
        return self

    def query(self, sql: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]

    def acked(self, lane: str) -> int:
        rows = self.query("SELECT c.last_seq FROM lane_chain c JOIN lanes l ON l.id = c.lane_id"
                          " WHERE l.name = %s", lane)
        return rows[0][0] if rows else 0

    def rows(self, lane: str) -> list[tuple]:
        """(seq, ts, type, txn, hash) of every row held for ``lane``, in seq order."""
        return self.query("SELECT e.seq, e.ts, e.type, e.txn, e.hash FROM events e JOIN lanes l"
                          " ON l.id = e.lane_id WHERE l.name = %s ORDER BY e.seq", lane)

    def arrival(self, lane: str) -> list[int]:
        """The seqs in the order they were stored (batch by batch)."""
        return [r[0] for r in self.query(
            "SELECT e.seq FROM events e JOIN lanes l ON l.id = e.lane_id WHERE l.name = %s"
            " ORDER BY e.received_at, e.seq", lane)]

    def flags(self, lane: str) -> list[tuple]:
        return self.query("SELECT f.seq, f.kind FROM flags f JOIN lanes l ON l.id = f.lane_id"
                          " WHERE l.name = %s ORDER BY f.id", lane)


class BackOfficeProcess(ServerProcess):
    """The stand-in back office as its own process (kill -9 able), durable across restarts."""

    kind = "fake"

    def __init__(self, folder: Path, tls: Tls, tokens: dict[str, str],
                 answer_delay_ms: float = 0, max_batch: int = 10_000, nice: int = 0) -> None:
        self.folder, self.tls = folder, tls
        self.db = folder / "backoffice.sqlite"
        self.tokens = folder / "tokens.json"
        self.tokens.write_text(json.dumps(tokens))
        self.answer_delay_ms, self.max_batch = answer_delay_ms, max_batch
        self.nice = nice  # a server on the lane's CPUs (it is not, on a store's network)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0

    def start(self) -> BackOfficeProcess:
        port_file = self.folder / "port"
        port_file.unlink(missing_ok=True)
        log = (self.folder / "backoffice.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.backoffice.sync.fake_backoffice", "--db",
             str(self.db), "--tokens", str(self.tokens), "--cert", str(self.tls.cert),
             "--key", str(self.tls.key), "--port-file", str(port_file),
             "--max-batch", str(self.max_batch),
             "--answer-delay-ms", str(self.answer_delay_ms)],
            cwd=REPO, stdout=log, stderr=log, preexec_fn=lambda: os.nice(self.nice))
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert self.proc.poll() is None, (self.folder / "backoffice.log").read_text()
            assert time.monotonic() < deadline, "the back office did not start"
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        self.starts += 1
        return self

    def query(self, sql: str, *params: object) -> list[tuple]:
        db = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def acked(self, lane: str) -> int:
        rows = self.query("SELECT acked FROM lanes WHERE lane = ?", lane)
        return rows[0][0] if rows else 0

    def rows(self, lane: str) -> list[tuple]:
        return self.query("SELECT seq, ts, type, txn, hash FROM events WHERE lane = ?"
                          " ORDER BY seq", lane)

    def arrival(self, lane: str) -> list[int]:
        return [r[0] for r in self.query("SELECT seq FROM events WHERE lane = ? ORDER BY rowid",
                                         lane)]


class SyncProcess(KioskProcess):
    """``kiosk sync`` as its own process; each start logs to its own file."""

    command = "sync"

    def __init__(self, env: dict[str, str], folder: Path, nice: int = 0) -> None:
        super().__init__(env, folder / "sync-0.log", nice)
        self.folder = folder
        self.logs: list[Path] = []

    def start(self) -> SyncProcess:
        self.log_path = self.folder / f"sync-{len(self.logs)}.log"
        self.logs.append(self.log_path)
        super().start()
        return self

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def sent_ranges(self) -> list[tuple[int, int]]:
        """Every batch any run of kiosk-sync sent, in order."""
        return [(int(a), int(b)) for a, b in SENT.findall(self.log())]


def journal_rows(state_dir: Path) -> list[tuple]:
    db = sqlite3.connect(f"{(state_dir / 'journal.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("SELECT seq, ts, type, txn, hash FROM events ORDER BY seq").fetchall()
    finally:
        db.close()


def wait_for(predicate, timeout: float, what: str, step: float = 0.05) -> None:
    """Poll a condition of another process's durable state (a file or table it commits)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(step)


def sell(shopper, sales: int) -> None:
    """``sales`` whole card sales on the real core (each journals a dozen events or so)."""
    for _ in range(sales):
        shopper.wait_state(lambda s: s["state"] in ("attract", "shopping"))
        for code in (MILK, KIMCHI, CUP_NOODLES):
            assert shopper.send("scan", code=code)["ok"]
        assert shopper.send("checkout")["ok"]
        assert shopper.send("pay", method="card")["ok"]
        to_receipt(shopper, choice="none")
        assert shopper.send("done")["ok"]
        shopper.wait_state(lambda s: s["state"] == "attract")


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path / "tls")


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """Where the lane's token is (the back office fixture issues it)."""
    return tmp_path / "lane" / "sync-token"


@pytest.fixture(params=["pg", "fake"] if SOAK else ["pg"])
def backoffice(request, tmp_path: Path, tls: Tls, token_file: Path, lane_env):
    folder = tmp_path / "backoffice"
    folder.mkdir()
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    if request.param == "pg":
        bo = RealBackOffice(folder, tls, request.getfixturevalue("backoffice_url"), lane,
                            token_file)
    else:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text("lane-token-" + os.urandom(16).hex() + "\n")
        token_file.chmod(0o600)
        bo = BackOfficeProcess(folder, tls, {token_file.read_text().strip(): lane})
    yield bo
    bo.kill9()


@pytest.fixture
def proxy(backoffice: BackOfficeProcess):
    p = CutProxy(lambda: backoffice.port)
    yield p
    p.close()


@pytest.fixture
def sync_env(lane_env, proxy: CutProxy, tls: Tls, token_file: Path) -> dict[str, str]:
    return dict(lane_env, KIOSK__SYNC__URL=f"https://127.0.0.1:{proxy.port}",
                KIOSK__SYNC__TOKEN_FILE=str(token_file), KIOSK__SYNC__CA_FILE=str(tls.ca),
                KIOSK__SYNC__BATCH_MAX="20", KIOSK__SYNC__INTERVAL_S="0.1",
                KIOSK__SYNC__BACKOFF_MIN_S="0.05", KIOSK__SYNC__BACKOFF_MAX_S="0.5",
                KIOSK__SYNC__TIMEOUT_S="5", KIOSK__SYNC__STATUS_INTERVAL_S="0.5",
                # the journal's link alone: the proxy's cuts and holds hit its batches
                KIOSK__SYNC__PULL_CATALOG="false")


@pytest.fixture
def start_sync(sync_env, tmp_path: Path):
    started: list[SyncProcess] = []

    def start(nice: int = 0, **overrides: str) -> SyncProcess:
        proc = SyncProcess(dict(sync_env, **overrides), tmp_path, nice).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
