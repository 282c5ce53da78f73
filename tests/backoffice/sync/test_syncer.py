"""kiosk-sync's client against the stand-in back office in this process (TLS, the wire API's
semantics): resume from the server's acked seq, 413 halves the batch, 409 re-asks, 401/403
stop the fast retries, an unknown CA or a plain-HTTP URL is refused, the token file's rules,
and the full-jitter backoff's bounds."""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.config import SyncConfig
from kiosk.journal.store import Journal
from kiosk.services.sync import Syncer, TokenError, full_jitter, read_token
from tests.backoffice.sync.fake_backoffice import BackOffice, Store
from tests.backoffice.sync.tls import Tls, make_tls
from tests.harness import kiosk_cli, kiosk_env

T0 = 1_780_000_000.0
LANE = "L1"


@pytest.fixture
def server(tmp_path: Path, tls: Tls):
    started: list[BackOffice] = []

    def start(max_batch: int = 10_000, tokens: dict | None = None) -> BackOffice:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls.cert, tls.key)
        bo = BackOffice(0, Store(tmp_path / f"bo{len(started)}.sqlite"),
                        tokens or {"tok-l1": LANE, "tok-l2": "L2"}, max_batch, 0, ctx)
        threading.Thread(target=bo.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        started.append(bo)
        return bo

    yield start
    for bo in started:
        bo.shutdown()
        bo.server_close()


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal(tmp_path / "state" / "journal.sqlite")
    yield j
    j.close()


def fill(journal: Journal, n: int) -> None:
    journal.append([{"type": "activity", "ts": T0 + i} for i in range(n)], None)


def syncer(bo: BackOffice, journal: Journal, tls: Tls, token: str = "tok-l1",
           **cfg: object) -> Syncer:
    config = SyncConfig(url=f"https://127.0.0.1:{bo.server_address[1]}", ca_file=tls.ca,
                        backoff_min_s=1, backoff_max_s=60, **cfg)
    return Syncer(config, LANE, journal.path, token, rng=lambda a, b: b)


def drain(s: Syncer, steps: int = 100) -> list[float]:
    waits = []
    for _ in range(steps):
        waits.append(s.run_step())
        if s.health.lag_events == 0:
            break
    return waits


def held(bo: BackOffice) -> list[int]:
    return [r[0] for r in bo.store.db.execute("SELECT seq FROM events WHERE lane = ?"
                                              " ORDER BY rowid", (LANE,))]


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path / "tls")


def test_ships_in_batches_oldest_first_and_resumes_from_the_server(server, journal, tls):
    bo = server()
    fill(journal, 25)
    s = syncer(bo, journal, tls, batch_max=10)
    drain(s)
    assert held(bo) == list(range(1, 26))
    assert s.health.state == "ok" and s.health.lag_events == 0 and s.health.batches == 3
    s.close()
    fill(journal, 7)  # a new process (after a crash): no state of its own, asks the server
    again = syncer(bo, journal, tls, batch_max=10)
    drain(again)
    assert held(bo) == list(range(1, 33))
    assert again.health.batches == 1  # only what the server lacked
    again.close()


def test_413_halves_the_batch(server, journal, tls, caplog):
    bo = server(max_batch=3)
    fill(journal, 20)
    s = syncer(bo, journal, tls, batch_max=16)
    with caplog.at_level(logging.INFO, "kiosk.sync"):
        drain(s)
    assert held(bo) == list(range(1, 21))
    sizes = [int(b) - int(a) + 1 for a, b in
             (m.split("seq ")[1].split("-") for m in caplog.messages if "sent seq" in m)]
    # 16, 8, 4 refused (413), then 2 and never again above what was not refused
    assert sizes[:5] == [16, 8, 4, 2, 3] and set(sizes[5:]) <= {1, 2, 3}
    s.close()


def test_409_gap_asks_where_the_server_stands(server, journal, tls):
    """A server restored from an older backup: it lacks rows this lane thought it held."""
    bo = server()
    fill(journal, 12)
    s = syncer(bo, journal, tls, batch_max=5)
    s.acked = 8  # what the server said before it lost them
    wait = s.run_step()
    assert wait > 0 and s.acked is None and "409" in s.health.error
    drain(s)
    assert held(bo) == list(range(1, 13))
    s.close()


@pytest.mark.parametrize(("token", "status"), [("nope", 401), ("tok-l2", 403)])
def test_a_refused_token_stops_the_fast_retries(server, journal, tls, token, status):
    bo = server()
    fill(journal, 3)
    s = syncer(bo, journal, tls, token=token)
    waits = [s.run_step() for _ in range(3)]
    assert waits == [60, 60, 60]  # backoff_max_s each time, not the backoff's fast start
    assert s.health.state == "refused" and str(status) in s.health.error
    assert held(bo) == []
    s.close()


def test_an_unknown_ca_is_refused(server, journal, tls, tmp_path):
    bo = server()
    fill(journal, 3)
    other = make_tls(tmp_path / "other")
    s = syncer(bo, journal, other)
    wait = s.run_step()
    assert s.health.state == "retrying" and "CERTIFICATE_VERIFY_FAILED" in s.health.error
    assert 0 < wait <= 1 and held(bo) == []
    s.close()


def test_plain_http_is_refused_by_the_config():
    with pytest.raises(ValidationError):
        SyncConfig(url="http://127.0.0.1:8443")
    assert SyncConfig().url == ""  # off by default


def test_backoff_is_exponential_capped_and_jittered():
    top = lambda a, b: b  # noqa: E731 - the top of each draw
    assert [full_jitter(n, 1, 60, top) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert full_jitter(10_000, 1, 60, top) == 60
    draws = [full_jitter(5, 1, 60) for _ in range(200)]
    assert all(0 <= d <= 32 for d in draws) and len(set(draws)) > 100


@pytest.mark.parametrize(("text", "mode", "why"), [
    ("tok\n", 0o644, "readable by others"),
    ("tok\n", 0o640, "readable by others"),
    ("tok\nmore\n", 0o600, "one line"),
    ("\n", 0o600, "one line"),
])
def test_token_file_rules(tmp_path: Path, text: str, mode: int, why: str):
    path = tmp_path / "token"
    path.write_text(text)
    path.chmod(mode)
    with pytest.raises(TokenError, match=why):
        read_token(path)
    path.write_text("tok\n")
    path.chmod(0o600)
    assert read_token(path) == "tok"
    with pytest.raises(TokenError, match="missing"):
        read_token(tmp_path / "absent")


def test_kiosk_sync_refuses_an_unsafe_token_file(tmp_path: Path):
    token = tmp_path / "token"
    token.write_text("tok\n")
    token.chmod(0o644)
    env = kiosk_env(tmp_path / "state", 1883, "L9", KIOSK__SYNC__URL="https://127.0.0.1:9",
                    KIOSK__SYNC__TOKEN_FILE=str(token))
    done = kiosk_cli(env, "sync", "--no-bus")
    assert done.returncode == 2
    assert done.stderr.strip() == (f"sync: sync token file {token} is readable by others"
                                   f" (mode 0644): chmod 600 {token}")


def test_the_lag_in_events_and_seconds(server, journal, tls):
    bo = server()
    fill(journal, 10)  # ts T0 .. T0+9
    config = SyncConfig(url=f"https://127.0.0.1:{bo.server_address[1]}", ca_file=tls.ca,
                        batch_max=4)
    s = Syncer(config, LANE, journal.path, "tok-l1", clock=lambda: T0 + 1000)
    s.run_step()  # asks, ships 1-4
    assert (s.health.acked_seq, s.health.journal_seq, s.health.lag_events) == (4, 10, 6)
    assert s.health.lag_s == 1000 - 4  # the age of seq 5, the oldest not shipped
    assert s.health.last_success == T0 + 1000 and s.health.state == "ok"
    drain(s)
    assert (s.health.lag_events, s.health.lag_s) == (0, 0.0)
    s.close()
