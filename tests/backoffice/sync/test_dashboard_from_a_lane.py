"""A real lane's purchases on the manager's dashboard: the real kiosk-core sells (and a
shopper walks away from one basket), the real ``kiosk sync`` ships the journal to
``kiosk backoffice serve`` on PostgreSQL over TLS, and the dashboard, signed in over HTTPS
as a chain admin made with ``kiosk backoffice user add``, shows what the lane's own journal
says: sales and takings (:mod:`kiosk.journal.figures`), the basket left, the lane and its
events, and checkout times for each paid basket."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kiosk.journal.figures import sales_figures
from kiosk.journal.store import Journal
from tests.backoffice.sync.conftest import sell
from tests.backoffice.sync.test_sync_e2e import wait_synced
from tests.fixtures.sample_items import MILK
from tests.harness import REPO

pytestmark = pytest.mark.integration
PASSWORD = "a manager's long passphrase"


def _add_admin(backoffice, tmp_path: Path) -> None:
    secret = tmp_path / "admin.pw"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "backoffice", "user", "add",
                           "admin", "--role", "chain_admin", "--password-file", str(secret)],
                          env=backoffice.env, cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def _table(http: httpx.Client, path: str, table: str, day: dt.date) -> list[dict[str, str]]:
    answer = http.get(path, params={"day": day.isoformat(), "table": table})
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_a_lanes_sales_reach_the_dashboard(core, shopper, lane_env, backoffice, start_sync,
                                           tmp_path):
    shopper.wait_online()
    backoffice.start()
    start_sync()
    sell(shopper, 3)
    assert shopper.send("start")["ok"]  # a fourth shopper scans, then walks away
    shopper.wait_state(lambda s: s["state"] == "shopping")
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("cancel")["ok"]
    shopper.wait_state(lambda s: s["state"] == "attract")
    wait_synced(backoffice, lane_env)

    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    journal = Journal(state / "journal.sqlite")
    try:
        entries = list(journal.entries())
    finally:
        journal.close()
    figures = sales_figures(entries)
    assert figures.sales == 3
    days = {dt.datetime.fromtimestamp(e.ts, dt.UTC).date() for e in entries
            if e.type == "auth_approved"}
    assert len(days) == 1  # (a run across midnight UTC would split them)
    (day,) = days

    _add_admin(backoffice, tmp_path)
    base = f"https://127.0.0.1:{backoffice.port}"
    with httpx.Client(base_url=base, verify=str(backoffice.tls.ca), timeout=30) as http:
        http.get("/dash/login")
        signed = http.post("/dash/login", data={"csrf": http.cookies["kb_csrf"],
                                                "username": "admin", "password": PASSWORD})
        assert signed.status_code in (200, 303), signed.text
        glance = {r["Figure"]: int(r["Value"]) for r in
                  _table(http, "/dash/store/S001/today.csv", "glance", day)}
        assert (glance["sales"], glance["amount_minor"]) == (figures.sales, figures.amount)
        lane = lane_env["KIOSK__STORE__LANE_ID"]
        (row,) = [r for r in _table(http, "/dash/store/S001/today.csv", "lanes", day)
                  if r["Lane"] == lane]
        assert int(row["Events held"]) == len(entries)
        times = {r["Figure"]: r["Value"] for r in
                 _table(http, "/dash/store/S001/checkout.csv", "checkout_time", day)}
        assert int(times["baskets"]) == figures.sales
        left = _table(http, "/dash/store/S001/checkout.csv", "abandoned", day)
        assert sum(int(r["Count"]) for r in left) == 1, left
        page = http.get("/dash/store/S001/today", params={"day": day.isoformat()})
        assert page.status_code == 200 and "S001" in page.text
