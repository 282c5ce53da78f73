"""The one way tests start PostgreSQL: a private cluster (kiosk.backoffice.cluster) per xdist
worker, a fresh database per test.

Fixtures (tests/backoffice/conftest.py makes them available below tests/backoffice/):

* ``pg_cluster`` (session; one per worker): a started :class:`~kiosk.backoffice.cluster.Cluster`
  on 127.0.0.1 and its own socket dir, settings :data:`~kiosk.backoffice.cluster.SMALL`.
* ``pg_url``: a new empty database on it for this test (``postgresql://`` URL).
* ``backoffice_url``: a new database with the back office's schema applied (cloned from a
  template migrated once per worker).

A test that crashes or stops the server (kill -9, restart) must not share the worker's
cluster: it starts its own with ``with private_cluster(tmp_path_factory) as cluster:``.

Running as root (CI), the server runs as ``postgres``, which cannot traverse pytest's
``/tmp/pytest-of-root`` (0700): the cluster then lives in a fresh ``tempfile.mkdtemp()``
directory in the system temp dir, deleted at teardown.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.backoffice.cluster import SMALL, Cluster

_names = itertools.count(1)


def _cluster_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    if os.geteuid() == 0:
        return Path(tempfile.mkdtemp(prefix=f"kiosk-{name}-"))
    return tmp_path_factory.mktemp(name)


@contextmanager
def private_cluster(tmp_path_factory: pytest.TempPathFactory, name: str = "pg",
                    settings: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A started cluster of this test's own (removed afterwards)."""
    base = _cluster_dir(tmp_path_factory, name)
    cluster = Cluster(base)  # the dir itself: postgres owns it when we are root
    try:
        yield cluster.start(settings={**SMALL, **(settings or {})})
    finally:
        cluster.stop(mode="immediate")
        if os.geteuid() == 0:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with private_cluster(tmp_path_factory, "pg-session") as cluster:
        yield cluster


def database_name(request: pytest.FixtureRequest) -> str:
    """A database name unique in the worker's cluster, readable in the server's log."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    return f"t{next(_names)}_{stem}"


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    return pg_cluster.create_database(database_name(request))


@pytest.fixture(scope="session")
def backoffice_template(pg_cluster: Cluster) -> str:
    """A database migrated once per worker, the template of ``backoffice_url``'s."""
    from kiosk.backoffice.db import migrate

    url = pg_cluster.create_database("backoffice_template")
    migrate(url)
    return "backoffice_template"


@pytest.fixture
def backoffice_url(pg_cluster: Cluster, backoffice_template: str,
                   request: pytest.FixtureRequest) -> str:
    """A fresh database with the back office's schema (``kiosk backoffice migrate``)."""
    return pg_cluster.create_database(database_name(request), template=backoffice_template)
