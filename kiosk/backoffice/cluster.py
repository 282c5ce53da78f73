"""A private PostgreSQL 15 cluster in a directory of its own: the one way the project starts
PostgreSQL (tests, ``kiosk bench sync``, the demo's back office in ``./setup.sh run``).

Layout of ``base`` (all owned by the server's user)::

    base/data/                 the cluster (initdb)
    base/run/                  its Unix socket directory (nothing else listens there)
    base/superuser.password    the superuser's password (0600), SCRAM on socket and TCP
    base/postgresql.log        the server's log

The server listens on 127.0.0.1 only (a port chosen by the OS unless given; a port taken
between choosing and binding is chosen again) and on its own socket directory. PostgreSQL
refuses to run as root: when this process is root, the server runs as the ``postgres``
system user (``runuser -u postgres --``) and ``base`` is chowned to it; ``base`` must then
sit below directories that user can traverse (not below pytest's 0700 ``/tmp/pytest-of-root``:
see tests/backoffice/pg.py).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from kiosk.ports import free_port

#: the Debian package's server binaries (``postgresql-15``)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: the system user the server runs as when this process is root
SERVER_USER = "postgres"
#: the cluster's superuser (a database role, not a system user)
SUPERUSER = "kiosk"
#: settings for a small cluster (tests); callers add or override (the bench: durability on)
SMALL = {"shared_buffers": "32MB", "max_connections": "60", "fsync": "off",
         "full_page_writes": "off"}


class ClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why (with the log's tail)."""


class Cluster:
    """One PostgreSQL cluster under ``base``. ``init()`` once, ``start()``, then connect with
    :meth:`conninfo` / :meth:`url`; ``stop()`` at the end (``kill()`` for crash tests)."""

    def __init__(self, base: Path | str) -> None:
        self.base = Path(base).absolute()
        self.data = self.base / "data"
        self.socket_dir = self.base / "run"
        self.password_file = self.base / "superuser.password"
        self.log = self.base / "postgresql.log"
        self.port: int | None = None

    # --- who runs the server -----------------------------------------------------------
    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _run(self, argv: list[str], check: bool = True, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
        """Run a server binary as the server's user (``postgres`` when we are root)."""
        if self._as_root():
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                cwd=self.base)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} failed ({result.returncode}):"
                               f" {result.stderr.strip() or result.stdout.strip()}"
                               f"{self._log_tail()}")
        return result

    def _chown(self, path: Path) -> None:
        if self._as_root():
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n--- " + str(self.log) + " ---\n" + "\n".join(text)

    # --- life cycle ----------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def init(self) -> Cluster:
        """initdb (once: an existing cluster is kept), UTF-8, SCRAM for every connection."""
        if self.initialized:
            return self
        if not (PG_BIN / "initdb").exists():
            raise ClusterError(f"{PG_BIN / 'initdb'} not found: install the Debian package"
                               " postgresql (./setup.sh does)")
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o700)
        self._chown(self.base)
        if self._as_root():
            probe = subprocess.run(["runuser", "-u", SERVER_USER, "--", "test", "-w",
                                    str(self.base)], capture_output=True)
            if probe.returncode != 0:
                raise ClusterError(f"{self.base}: the {SERVER_USER} user cannot reach it (a"
                                   " parent directory is closed to it): choose a directory"
                                   " below one it can traverse")
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.socket_dir)
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24) + "\n")
            self._chown(self.password_file)
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                   f"--pwfile={self.password_file}", "--auth-local=scram-sha-256",
                   "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                   "--no-instructions"])
        return self

    def start(self, port: int = 0, settings: dict[str, str] | None = None,
              attempts: int = 5) -> Cluster:
        """Start the server on 127.0.0.1:``port`` (0: a free one, chosen again when another
        process takes it first) and its own socket directory; waits until it accepts
        connections. ``settings``: server settings on top of the defaults (e.g. :data:`SMALL`)."""
        if not self.initialized:
            self.init()
        for attempt in range(attempts):
            chosen = port or free_port()
            options = {"listen_addresses": "127.0.0.1", "port": str(chosen),
                       "unix_socket_directories": str(self.socket_dir),
                       **(settings or {})}
            seen = self.log.stat().st_size if self.log.exists() else 0
            opts = " ".join(f"-c {key}={value}" for key, value in options.items())
            result = self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                                str(self.log), "-w", "-t", "120", "-o", opts, "start"],
                               check=False, timeout=180)
            if result.returncode == 0:
                self.port = chosen
                return self
            with self.log.open("rb") as log:
                log.seek(seen)
                taken = b"could not bind" in log.read()  # this attempt's lines only
            if port or not taken or attempt == attempts - 1:
                raise ClusterError(f"PostgreSQL did not start on 127.0.0.1:{chosen}:"
                                   f" {result.stderr.strip()}{self._log_tail()}")
        raise AssertionError("unreachable")

    def running(self) -> bool:
        result = self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
                           check=False)
        return result.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions; ``immediate``: like a crash)."""
        if self.initialized and self.running():
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                       "stop"])

    def pid(self) -> int | None:
        """The postmaster's pid while it runs."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the postmaster and every process it started (a crash, like a power cut of
        the server), wait until they are dead, and clear the stale lock file so the next
        :meth:`start` runs crash recovery (an orphaned postmaster may linger as a zombie
        until init reaps it, which PostgreSQL would take for a live server)."""
        pid = self.pid()
        if pid is None or not _alive(pid):
            return
        doomed = [pid, *(p for p in _pids() if _ppid(p) == pid)]  # each its own session
        for victim in doomed:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 60
        while any(_alive(p) for p in doomed) and time.monotonic() < deadline:
            time.sleep(0.02)
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.socket_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)

    def remove(self) -> None:
        """Stop the server and delete ``base``."""
        self.stop(mode="immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # --- connecting -------------------------------------------------------------------
    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string (TCP on 127.0.0.1) for psycopg."""
        if self.port is None:
            raise ClusterError("the cluster is not started")
        return (f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname}"
                f" password={self.password}")

    def url(self, dbname: str = "postgres") -> str:
        """The same as a ``postgresql://`` URL (what ``kiosk backoffice --db`` takes)."""
        if self.port is None:
            raise ClusterError("the cluster is not started")
        return (f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}@127.0.0.1:"
                f"{self.port}/{dbname}")

    def create_database(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (from ``template`` if given); returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(query)
        return self.url(name)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Running (a zombie, already dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
