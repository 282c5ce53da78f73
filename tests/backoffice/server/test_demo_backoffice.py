"""`kiosk run --backoffice` (./setup.sh run): the demo's local back office under the state
dir, over TLS, with this lane registered; a second run keeps the cluster and the token
(~10 s of initdb, keys and two server starts: in the default run, it is the first command's
back office)."""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from pathlib import Path

import httpx

from kiosk.sim.backoffice_demo import DemoBackOffice
from tests.backoffice.server.support import V0_JOURNAL, rows


def test_the_demo_back_office_takes_the_lanes_journal_and_keeps_its_token(tmp_path):
    # as root the server runs as postgres, which cannot reach below pytest's 0700 temp dir
    state = Path(tempfile.mkdtemp(prefix="kiosk-demo-")) if os.geteuid() == 0 else tmp_path
    state.chmod(0o755)
    try:
        for run, (first, count) in enumerate(((0, 20), (20, 10))):
            office = DemoBackOffice(state)
            try:
                env = office.start("S001", "L01")
                token = Path(env["KIOSK__SYNC__TOKEN_FILE"]).read_text().strip()
                tls = ssl.create_default_context(cafile=env["KIOSK__SYNC__CA_FILE"])
                with httpx.Client(base_url=env["KIOSK__SYNC__URL"], verify=tls,
                                  timeout=60) as http:
                    answer = http.post("/v1/lanes/L01/events",
                                       headers={"Authorization": f"Bearer {token}"},
                                       json={"events": rows(V0_JOURNAL, first, count)})
                assert answer.status_code == 200, (run, answer.text)
                assert answer.json()["acked_seq"] == first + count  # the rows of run 1 kept
                assert env["KIOSK__SYNC__URL"].startswith("https://127.0.0.1:")
            finally:
                office.stop()
    finally:
        if state != tmp_path:
            shutil.rmtree(state, ignore_errors=True)
