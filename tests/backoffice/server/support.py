"""Test support for the ingest API: real lane journals (the v0 fixture, written by a real
kiosk-core) read as the wire carries them, tampered copies, and a lane registered with its
token, talking to the real app (Starlette's TestClient) on a real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from starlette.testclient import TestClient

from kiosk.backoffice.auth import add_lane

V0_JOURNAL = Path(__file__).resolve().parents[2] / "fixtures" / "journal_v0" / "journal.sqlite"


def journal_copy(tmp_path: Path, name: str = "journal.sqlite") -> Path:
    path = tmp_path / name
    shutil.copy(V0_JOURNAL, path)
    return path


def rows(journal: Path, after: int = 0, limit: int = 10**9) -> list[dict[str, Any]]:
    """The journal's rows after ``after`` as the wire carries them (what kiosk-sync sends)."""
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        cur = db.execute("SELECT seq, ts, type, txn, data, hash FROM events WHERE seq > ?"
                         " ORDER BY seq LIMIT ?", (after, limit))
        return [{"seq": s, "ts": ts, "type": k, "txn": t, "data": json.loads(d), "hash": h}
                for s, ts, k, t, d, h in cur]


def tamper(journal: Path, sql: str, *params: Any) -> None:
    """Edit a journal behind its back (the append-only triggers dropped first)."""
    with sqlite3.connect(journal) as db:
        db.execute("DROP TRIGGER IF EXISTS events_no_update")
        db.execute("DROP TRIGGER IF EXISTS events_no_delete")
        db.execute(sql, params)


def checksum_journal(journal: Path) -> tuple[int, str]:
    """(rows, sha256 over seq|hash|data in seq order) of a journal."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        count = 0
        for seq, h, data in db.execute("SELECT seq, hash, data FROM events ORDER BY seq"):
            digest.update(f"{seq}|{h}|{data}\n".encode())
            count += 1
    return count, digest.hexdigest()


def checksum_table(url: str, lane: str) -> tuple[int, str]:
    """The same over the back office's rows of ``lane``."""
    digest = hashlib.sha256()
    with psycopg.connect(url) as conn:
        cur = conn.execute("SELECT e.seq, e.hash, e.data FROM events e JOIN lanes l"
                           " ON l.id = e.lane_id WHERE l.name = %s ORDER BY e.seq", (lane,))
        count = 0
        for seq, h, data in cur:
            digest.update(f"{seq}|{h}|{data}\n".encode())
            count += 1
    return count, digest.hexdigest()


def flags(url: str, lane: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT f.seq, f.kind FROM flags f JOIN lanes l ON l.id = f.lane_id"
            " WHERE l.name = %s ORDER BY f.id", (lane,))]


@dataclass
class LaneClient:
    """One lane's view of the API: its name, token and an HTTP client."""

    name: str
    token: str
    http: TestClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, events: list[dict[str, Any]], lane: str | None = None, **extra: Any):
        return self.http.post(f"/v1/lanes/{lane or self.name}/events",
                              json={"events": events, **extra}, headers=self.auth)

    def acked(self) -> int:
        answer = self.http.get(f"/v1/lanes/{self.name}/acked", headers=self.auth)
        assert answer.status_code == 200, answer.text
        return answer.json()["acked_seq"]

    def sync(self, journal: Path, batch: int = 50) -> list[dict[str, Any]]:
        """Ship the journal like kiosk-sync: rows after the acked seq, batch by batch;
        returns every flag answered."""
        answered = []
        while batch_rows := rows(journal, self.acked(), batch):
            answer = self.post(batch_rows, after=self.acked())
            assert answer.status_code == 200, answer.text
            answered += answer.json()["flags"]
        return answered


def register(url: str, store: str, lane: str, tmp_path: Path, http: TestClient) -> LaneClient:
    token_file = tmp_path / f"{lane}.token"
    with psycopg.connect(url) as conn:
        add_lane(conn, store, lane, token_file)
    return LaneClient(lane, token_file.read_text().strip(), http)


def sync_in_batches(client: LaneClient, wire: list[dict[str, Any]], cut_after: int | None = None
                    ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Send a lane's rows ``wire`` as kiosk-sync does, in batches of 151 (one cut right after
    the row of seq ``cut_after``), the third batch sent again whole after the fourth (a lost
    answer); yields (n, batch) once batch n is acknowledged."""
    cut = next(i for i, r in enumerate(wire) if r["seq"] == cut_after) + 1 if cut_after else 0
    edges = sorted({0, cut, len(wire), *range(0, len(wire), 151)})
    batches = [wire[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]
    for n, batch in enumerate(batches):
        assert client.post(batch, after=client.acked()).status_code == 200
        if n == 3:
            assert client.post(batches[2]).status_code == 200
        yield n, batch
