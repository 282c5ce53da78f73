"""A minimal back office for kiosk-sync's tests, until the real one (kiosk/backoffice, on
PostgreSQL) is merged: exactly the wire API's events/acked semantics (PLAN17), durable in
SQLite so it survives its own kill -9, as its own process (``python -m
tests.backoffice.sync.fake_backoffice``) over TLS.

* ``GET /v1/lanes/{lane}/acked`` → ``{"acked_seq": N}``, the highest contiguous seq held;
* ``POST /v1/lanes/{lane}/events`` ``{"after": N, "events": [...]}`` (oldest first) inserts
  each row at most once (``PRIMARY KEY (lane, seq)``, ``INSERT OR IGNORE``) and answers the new
  acked seq, committed before the answer; 400 malformed or not increasing, 401 unknown
  token, 403 another lane's, 413 more than ``--max-batch`` rows, 409 a gap before the batch
  unless ``after`` is the acked seq (the lane's journal lacks those rows: flagged ``gap``):
  each changes nothing.

Every row received is also logged in ``received`` (whether it was inserted or not): the
tests count what the wire carried twice. ``--answer-delay-ms`` holds each answer after the
commit, widening the window in which a kill loses an answer.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATH = re.compile(r"^/v1/lanes/([A-Za-z0-9_.-]{1,64})/(events|acked)$")
FIELDS = ("seq", "ts", "type", "txn", "data", "hash")
MAX_BODY = 8 << 20


def open_store(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("""CREATE TABLE IF NOT EXISTS events (lane TEXT, seq INTEGER, ts REAL,
                  type TEXT, txn TEXT, data TEXT, hash TEXT, PRIMARY KEY (lane, seq))""")
    db.execute("CREATE TABLE IF NOT EXISTS received (lane TEXT, seq INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS lanes (lane TEXT PRIMARY KEY, acked INTEGER)")
    return db


class Store:
    def __init__(self, path: Path) -> None:
        self.db = open_store(path)
        self.lock = threading.Lock()

    def acked(self, lane: str) -> int:
        row = self.db.execute("SELECT acked FROM lanes WHERE lane = ?", (lane,)).fetchone()
        return row[0] if row else 0

    def ingest(self, lane: str, events: list[dict], after: object = None
               ) -> tuple[int, int, list[dict]]:
        """(status, acked, flags)."""
        with self.lock:
            acked = self.acked(lane)
            flags = []
            expect = acked + 1
            for e in events:
                if e["seq"] > expect:
                    flags.append({"seq": expect, "kind": "gap"})
                expect = max(expect, e["seq"] + 1)
            if events[0]["seq"] > acked + 1 and after != acked:
                return 409, acked, []
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for e in events:
                    self.db.execute("INSERT INTO received VALUES (?, ?)", (lane, e["seq"]))
                    self.db.execute(
                        "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (lane, e["seq"], e["ts"], e["type"], e["txn"],
                         json.dumps(e["data"], sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False), e["hash"]))
                acked = max(acked, events[-1]["seq"])
                self.db.execute("INSERT OR REPLACE INTO lanes VALUES (?, ?)", (lane, acked))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return 200, acked, flags


def valid(body: object) -> list[dict] | None:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return None
    events = body["events"]
    if not events or not all(isinstance(e, dict) and set(e) == set(FIELDS) for e in events):
        return None
    seqs = [e["seq"] for e in events]
    if not all(isinstance(s, int) and s >= 1 for s in seqs):
        return None
    if any(b <= a for a, b in zip(seqs, seqs[1:], strict=False)):
        return None
    return events


class Handler(BaseHTTPRequestHandler):
    server: BackOffice
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _lane(self) -> tuple[str, str] | None:
        found = PATH.match(self.path)
        if not found:
            self._answer(404, {"error": "not found"})
            return None
        auth = self.headers.get("Authorization", "")
        owner = self.server.tokens.get(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or owner is None:
            self._answer(401, {"error": "bad token"})
            return None
        if owner != found.group(1):
            self._answer(403, {"error": "another lane"})
            return None
        return found.group(1), found.group(2)

    def do_GET(self) -> None:  # noqa: N802
        where = self._lane()
        if where and where[1] == "acked":
            self._answer(200, {"acked_seq": self.server.store.acked(where[0])})
        elif where:
            self._answer(405, {"error": "method"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            self._answer(413, {"error": "too big"})
            return
        raw = self.rfile.read(length)
        where = self._lane()
        if not where:
            return
        if where[1] != "events":
            self._answer(405, {"error": "method"})
            return
        try:
            body = json.loads(raw)
            events = valid(body)
        except ValueError:
            events = None
        if events is None:
            self._answer(400, {"error": "malformed"})
            return
        if len(events) > self.server.max_batch:
            self._answer(413, {"error": f"more than {self.server.max_batch} events"})
            return
        status, acked, flags = self.server.store.ingest(where[0], events, body.get("after"))
        if self.server.answer_delay_s:
            time.sleep(self.server.answer_delay_s)
        if status == 409:
            self._answer(409, {"error": f"gap: holds up to {acked}", "acked_seq": acked})
        else:
            self._answer(200, {"acked_seq": acked, "flags": flags})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class BackOffice(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, store: Store, tokens: dict[str, str], max_batch: int,
                 answer_delay_s: float, tls: ssl.SSLContext | None) -> None:
        self.store, self.tokens, self.max_batch = store, tokens, max_batch
        self.answer_delay_s = answer_delay_s
        super().__init__(("127.0.0.1", port), Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--tokens", type=Path, required=True, help="JSON {token: lane}")
    parser.add_argument("--cert", type=Path)
    parser.add_argument("--key", type=Path)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--max-batch", type=int, default=10_000)
    parser.add_argument("--answer-delay-ms", type=float, default=0)
    args = parser.parse_args(argv)
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    server = BackOffice(0, Store(args.db), json.loads(args.tokens.read_text()),
                        args.max_batch, args.answer_delay_ms / 1000, tls)
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(args.port_file)
    server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
