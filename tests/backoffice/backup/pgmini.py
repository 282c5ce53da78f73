"""A minimal private PostgreSQL 15 cluster for these tests, until bo-server's
tests/backoffice/pg.py (kiosk/backoffice/cluster.py) is merged: then the ``pg_admin`` fixture
below becomes ``pg_cluster.url()`` (the integrator replaces this file; see the report).

initdb + pg_ctl from the Debian package, trust auth on 127.0.0.1 and its own socket dir only,
a port the OS chose; run as ``postgres`` when the tests run as root (PostgreSQL refuses root),
in a ``mkdtemp`` dir that user can reach (pytest's /tmp/pytest-of-root is 0700).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_server(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """A started cluster's maintenance database URL (superuser ``kiosk``, trust auth)."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries missing (./setup.sh installs postgresql)")
    base = Path(tempfile.mkdtemp(prefix="kiosk-pgbackup-"))
    data, run = base / "data", base / "run"
    run.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (base, run):
            os.chown(path, user.pw_uid, user.pw_gid)
    subprocess.run(_as_server([str(PG_BIN / "initdb"), "-D", str(data), "-U", "kiosk",
                               "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                               "--no-instructions"]), check=True, capture_output=True)
    port = _free_port()
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={run}"
            " -c fsync=off -c shared_buffers=16MB")
    subprocess.run(_as_server([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l",
                               str(base / "log"), "-w", "-o", opts, "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql://kiosk@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m",
                                   "immediate", "stop"]), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
