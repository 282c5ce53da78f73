"""The dashboard's fixtures: a back office (real PostgreSQL, the real app through Starlette's
TestClient) holding two weeks of three lanes' journals shipped through the ingest API
(:mod:`tests.backoffice.web.shop`), each store's two catalog versions (the promotions), and
three accounts: a manager of each store and a chain
admin (password :data:`PASSWORD`). Filled once per xdist worker into a template database;
each test gets its own copy (``shop``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from kiosk.backoffice import item_daily
from kiosk.backoffice.app import create_app
from kiosk.backoffice.catalog import publish
from kiosk.backoffice.cluster import Cluster
from kiosk.backoffice.web.accounts import add_user
from tests.backoffice.pg import database_name
from tests.backoffice.server.support import register
from tests.backoffice.web.shop import LANES, Ledger, catalog_versions, write_journals

PASSWORD = "correct horse battery"
USERS = {"mgr1": ("manager", "S001"), "mgr2": ("manager", "S002"), "admin": ("chain_admin", None)}


@dataclass
class Shop:
    url: str
    http: TestClient
    ledger: Ledger

    def sign_in(self, client: TestClient, user: str, password: str = PASSWORD):
        page = client.get("/dash/login")
        assert page.status_code == 200
        return client.post("/dash/login", data={"csrf": client.cookies["kb_csrf"],
                                                "username": user, "password": password},
                           follow_redirects=False)


def maintained(app: Starlette, rounds: int = 1, timeout: float = 60) -> None:
    """Wait until the app's maintenance job (started with it) has done ``rounds`` rounds:
    the sales summary the pages read is then the job's."""
    deadline = time.monotonic() + timeout
    while app.state.maintenance_rounds < rounds:
        assert time.monotonic() < deadline, "the maintenance job never finished a round"
        time.sleep(0.02)


def fill(url: str, http: TestClient, tmp_path: Path) -> Ledger:
    journals, ledger = write_journals(tmp_path)
    for lane, store in LANES.items():
        client = register(url, store, lane, tmp_path, http)
        assert client.sync(journals[lane], batch=1000) == []
    with psycopg.connect(url) as conn:
        for store in sorted(set(LANES.values())):
            for products, promotions in catalog_versions():
                publish(conn, store, products, promotions, "test")
        for name, (role, store) in USERS.items():
            add_user(conn, name, PASSWORD, role, store)
        item_daily.refresh(conn)  # summed in the template: each test's job finds nothing new
    return ledger


@pytest.fixture(scope="session")
def dash_template(pg_cluster: Cluster, backoffice_template: str,
                  tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Ledger]:
    url = pg_cluster.create_database("dash_template", template=backoffice_template)
    with TestClient(create_app(url, pool_max=2)) as http:
        ledger = fill(url, http, tmp_path_factory.mktemp("dash"))
    return "dash_template", ledger


@pytest.fixture
def shop(pg_cluster: Cluster, dash_template: tuple[str, Ledger],
         request: pytest.FixtureRequest):
    url = pg_cluster.create_database(database_name(request), template=dash_template[0])
    app = create_app(url, pool_max=4)
    with TestClient(app) as http:
        maintained(app)
        yield Shop(url, http, dash_template[1])
