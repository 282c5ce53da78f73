"""The private PostgreSQL cluster (kiosk.backoffice.cluster): loopback only, SCRAM, a taken
port chosen again (a fixed one is an error), a crash (kill -9) recovered at the next
start."""

from __future__ import annotations

import socket

import psycopg
import pytest

from kiosk.backoffice import cluster as cluster_mod
from kiosk.backoffice.cluster import ClusterError
from tests.backoffice.pg import private_cluster


def test_the_worker_cluster_listens_on_loopback_only_with_a_password(pg_cluster, pg_url):
    with psycopg.connect(pg_url) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
        sockets = conn.execute("SHOW unix_socket_directories").fetchone()[0]
        assert conn.execute("SELECT current_database()").fetchone()[0] in pg_url
    assert listen == "127.0.0.1"
    assert sockets == str(pg_cluster.socket_dir)
    assert (pg_cluster.password_file.stat().st_mode & 0o777) == 0o600
    wrong = f"host=127.0.0.1 port={pg_cluster.port} user=kiosk password=wrong dbname=postgres"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong)


def test_taken_port_chosen_again_kill_recovered_fixed_taken_port_fails(tmp_path_factory,
                                                                          monkeypatch):
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    ports = iter([held.getsockname()[1]])
    real = cluster_mod.free_port
    monkeypatch.setattr(cluster_mod, "free_port", lambda: next(ports, None) or real())
    with held, private_cluster(tmp_path_factory, "pg-crash") as cluster:
        assert cluster.port != held.getsockname()[1]
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n int)")
            conn.execute("INSERT INTO t VALUES (1), (2)")
        cluster.kill()
        assert not cluster.running()
        cluster.start(port=cluster.port)
        with psycopg.connect(cluster.url()) as conn:
            assert conn.execute("SELECT sum(n) FROM t").fetchone()[0] == 3
        cluster.stop()
        with pytest.raises(ClusterError, match="did not start on 127.0.0.1"):
            cluster.start(port=held.getsockname()[1])  # a fixed port is not chosen again

