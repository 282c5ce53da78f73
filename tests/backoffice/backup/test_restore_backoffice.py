"""``kiosk restore --from-backoffice``: a lane whose SD card died is rebuilt from the back
office's copy of its journal, paged through ``GET /v1/lanes/{lane}/events?after=&limit=``.

The back office here is a minimal in-test HTTP server speaking only that route (the wire API
of PLAN17), serving the lane's own rows as the real server stores them; once bo-server's app
is merged the same check runs against it (see the integrator note in the report).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from kiosk.cli import main
from kiosk.ops.backup import BackupError
from kiosk.ops.backup_remote import tls_context

TOKEN = "lane-token-0123456789"


class _BackOffice:
    """Serves ``rows`` (dicts, as the wire API gives them) for one lane to one token."""

    def __init__(self, lane: str, rows: list[dict]) -> None:
        self.lane, self.rows, self.pages = lane, rows, 0
        office = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlparse(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"error": "bad token"})
                if url.path != f"/v1/lanes/{office.lane}/events":
                    return self._send(403, {"error": "another lane"})
                query = parse_qs(url.query)
                after, limit = int(query["after"][0]), int(query["limit"][0])
                page = [r for r in office.rows if r["seq"] > after][:limit]
                office.pages += 1
                self._send(200, {"events": page})

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wire_rows(path) -> list[dict]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT seq, ts, type, txn, data, hash FROM events ORDER BY seq").fetchall()
    db.close()
    return [{"seq": s, "ts": ts, "type": k, "txn": t, "data": json.loads(d), "hash": h}
            for s, ts, k, t, d, h in rows]


@pytest.fixture
def dead_lane(lane, tmp_path):
    """The lane's rows as the back office holds them; then its SD card dies."""
    rows = _wire_rows(lane.journal_path)
    shutil.rmtree(lane.paths.state_dir)
    token = tmp_path / "sync.token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    return lane, rows, token


def test_a_dead_lane_is_rebuilt_from_the_back_office(dead_lane, capsys, monkeypatch):
    lane, rows, token = dead_lane
    office = _BackOffice(lane.store.lane_id, rows)
    monkeypatch.setattr("kiosk.ops.backup_remote.PAGE", 7)  # several pages
    try:
        assert main(["restore", "--from-backoffice", office.url, "--token-file",
                     str(token)]) == 0
    finally:
        office.close()
    assert f"up to seq {len(rows)}" in capsys.readouterr().out
    assert office.pages == -(-len(rows) // 7) + 1  # every page, then the empty one
    assert main(["journal", "verify"]) == 0
    assert _wire_rows(lane.journal_path) == rows  # the same chain, row for row


def test_a_tampered_back_office_copy_is_refused(dead_lane, capsys):
    lane, rows, token = dead_lane
    edited = next(r for r in rows if "amount" in r["data"])
    edited["data"]["amount"] = 1
    office = _BackOffice(lane.store.lane_id, rows)
    try:
        assert main(["restore", "--from-backoffice", office.url, "--token-file",
                     str(token)]) == 2
    finally:
        office.close()
    assert f"seq {edited['seq']}: hash chain broken" in capsys.readouterr().err
    assert not lane.journal_path.exists()
    assert not list(lane.paths.state_dir.glob(".restore-*"))


def test_a_wrong_token_is_a_clear_error(dead_lane, tmp_path, capsys):
    lane, rows, _token = dead_lane
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-this-lane")
    office = _BackOffice(lane.store.lane_id, rows)
    try:
        assert main(["restore", "--from-backoffice", office.url, "--token-file",
                     str(wrong)]) == 2
    finally:
        office.close()
    assert "answered 401" in capsys.readouterr().err
    assert not lane.journal_path.exists()


def test_plain_http_only_to_loopback():
    assert tls_context("http://127.0.0.1:8443", None) is None
    with pytest.raises(BackupError, match="https only"):
        tls_context("http://backoffice.example:8443", None)
    assert tls_context("https://backoffice.example", None) is not None


def test_a_gap_in_the_back_office_copy_is_refused(dead_lane, capsys):
    lane, rows, token = dead_lane
    office = _BackOffice(lane.store.lane_id, rows[:4] + rows[5:])  # seq 5 lost
    try:
        assert main(["restore", "--from-backoffice", office.url, "--token-file",
                     str(token)]) == 2
    finally:
        office.close()
    assert "seq 6: expected 5" in capsys.readouterr().err
    assert not lane.journal_path.exists()


def test_an_archive_is_topped_up_from_the_back_office(lane, catalog, tmp_path, capsys):
    """The back office's retention dropped the lane's first events, the USB archive is a sale
    behind: restore the archive, then fetch only what comes after it."""
    from kiosk.journal.store import Journal
    from kiosk.ops.backup import backup
    from tests.unit.test_journal import T0, Recorder, _sale

    archive = backup(lane, tmp_path / "usb")
    archived = Journal(lane.journal_path)
    at_backup = archived.last_seq
    _sale(Recorder(archived, lane, catalog), T0 + 600)  # sold after the backup, synced
    archived.close()
    rows = _wire_rows(lane.journal_path)
    shutil.rmtree(lane.paths.state_dir)  # the card dies
    token = tmp_path / "sync.token"
    token.write_text(TOKEN)

    office = _BackOffice(lane.store.lane_id, rows[5:])  # retention: seq 1-5 gone there
    try:
        assert main(["restore", "--from-backoffice", office.url, "--token-file",
                     str(token)]) == 2  # alone it cannot start the chain
        assert "seq 6: expected 1" in capsys.readouterr().err
        assert main(["restore", str(archive)]) == 0
        assert main(["restore", "--from-backoffice", office.url, "--token-file",
                     str(token)]) == 0
    finally:
        office.close()
    assert f"up to seq {len(rows)}" in capsys.readouterr().out
    assert len(rows) > at_backup
    assert main(["journal", "verify"]) == 0
    assert _wire_rows(lane.journal_path) == rows
