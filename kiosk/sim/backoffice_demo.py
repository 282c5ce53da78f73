"""The demo's local back office (``kiosk run --backoffice``, which ``./setup.sh run`` passes):
a private PostgreSQL cluster under ``<state_dir>/backoffice/pg`` (loopback and its own Unix
socket only), the schema migrated, this lane registered with a token, and
``kiosk backoffice serve`` over TLS (a demo CA, kiosk.sim.qrpay_keys) on a port the OS
chooses. The demo's lane then syncs to it: the environment it returns sets ``sync.url``,
``sync.token_file`` and ``sync.ca_file`` for kiosk-sync.

Kept across runs: the cluster, the database and the lane's token. A site configuration that
already names a back office (``sync.url``) is left alone."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import psycopg

from kiosk.backoffice.auth import add_lane
from kiosk.backoffice.cluster import Cluster, ClusterError
from kiosk.backoffice.commands import DB_ENV
from kiosk.backoffice.db import migrate
from kiosk.config import KioskConfig
from kiosk.sim.qrpay_keys import make_demo_keys

DATABASE = "backoffice"


class DemoBackOffice:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / "backoffice"
        self.cluster = Cluster(self.dir / "pg")
        self.server: subprocess.Popen | None = None
        self.url = ""

    def start(self, store: str, lane: str) -> dict[str, str]:
        """Start everything; the environment that points the lane's kiosk-sync at it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)  # the postgres user (when root) reaches its pg/ below
        if self.cluster.initialized and self.cluster.running():  # left by a killed demo
            self.cluster.stop()
        self.cluster.start()
        with psycopg.connect(self.cluster.conninfo(), autocommit=True) as conn:
            known = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if known.fetchone() is None:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        db = self.cluster.url(DATABASE)
        migrate(db)
        token_file = self.dir / f"lane-{lane}.token"
        with psycopg.connect(db) as conn:
            registered = conn.execute("SELECT 1 FROM lanes WHERE name = %s", (lane,)).fetchone()
            if registered is None:
                token_file.unlink(missing_ok=True)
                add_lane(conn, store, lane, token_file)
        keys = make_demo_keys(self.dir / "tls")
        log = (self.dir / "serve.log").open("ab")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "backoffice", "serve", "--port", "0",
             "--cert", str(keys.server_pem), "--key", str(keys.server_key)],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
            env={**os.environ, DB_ENV: db})
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.server.stdout.readline()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            line = ""
        if not line.startswith("kiosk-backoffice: listening on "):
            raise ClusterError(f"kiosk backoffice serve did not start (see {log.name})")
        self.url = line.split()[-1]
        return {"KIOSK__SYNC__URL": self.url, "KIOSK__SYNC__TOKEN_FILE": str(token_file),
                "KIOSK__SYNC__CA_FILE": str(keys.ca_pem)}

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
        self.cluster.stop()


def start_demo_backoffice(state_dir: Path, config: KioskConfig) -> DemoBackOffice | None:
    """Start the local back office and point this process's environment (inherited by the
    demo's services) at it; None when the site already has one or it cannot start (the
    lane then sells alone, as it does without a back office)."""
    if config.sync.url:
        return None
    office = DemoBackOffice(state_dir)
    try:
        env = office.start(config.store.store_id, config.store.lane_id)
    except (ClusterError, OSError, psycopg.Error) as exc:
        print(f"demo: no local back office ({exc}); the lane sells alone")
        office.stop()
        return None
    os.environ.update(env)
    print(f"demo: local back office on {office.url} (PostgreSQL under {office.dir});"
          f" lane {config.store.lane_id} syncs to it")
    return office
