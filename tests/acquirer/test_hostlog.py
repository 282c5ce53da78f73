"""HostLog: durable counters, the attempt state machine, recovery and the PAN vault."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.payments.hostlog import HostLog, HostLogError
from tests.acquirer.conftest import PAN, REPO, assert_no_card_data, sim_env


def _attempt(log: HostLog, key: str, state: str = "sent") -> None:
    log.record(idem_key=key, txn=f"T-{key}", mti="0200", stan=f"{log.next('stan'):06d}",
               f7="1125130000", tid="KIOSK001", mid="000000000000001", amount=100,
               currency=840, pan_masked="476173******0119", state=state)


def test_counters_wrap_and_are_separate(tmp_path):
    log = HostLog(tmp_path / "h.sqlite")
    assert [log.next("stan") for _ in range(3)] == [1, 2, 3]
    assert log.next("tsc") == 1
    log.set_counter("stan", 999_998)
    assert [log.next("stan"), log.next("stan"), log.next("stan")] == [999_999, 1, 2]
    log.set_counter("tsc", 99_999_999)
    assert log.next("tsc") == 1


def test_stan_survives_sigkill(tmp_path):
    """Each value handed out is durable: a process killed right after gets no repeat."""
    path = tmp_path / "h.sqlite"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from kiosk.payments.hostlog import HostLog
        log = HostLog(Path({str(path)!r}))
        for _ in range(200):
            print(log.next("stan"), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    seen: list[int] = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=sim_env(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == -9
        seen += [int(x) for x in done.stdout.split()]
    assert len(seen) == len(set(seen)) == 600
    assert HostLog(path).next("stan") == 601


def test_recovery_reverses_everything_sent_but_not_final(tmp_path):
    log = HostLog(tmp_path / "h.sqlite")
    for key, state in (("a", "sent"), ("b", "approved"), ("c", "completed"),
                       ("d", "declined"), ("e", "reversed"), ("f", "reversal_queued"),
                       ("g", "completion_queued")):
        _attempt(log, key, state)
    assert sorted(log.recover()) == ["a", "b"]
    assert [a.idem_key for a in log.pending()] == ["a", "b", "f", "g"]
    assert log.get("a").reason == "recovery"
    assert log.recover() == []  # idempotent


def test_queue_reversal_rules(tmp_path):
    log = HostLog(tmp_path / "h.sqlite")
    _attempt(log, "x", "declined")
    _attempt(log, "y", "approved")
    assert not log.queue_reversal("x", "cancel")  # nothing to undo
    assert log.queue_reversal("y", "card_aac") and log.queue_reversal("y", "again")
    assert log.get("y").reason == "card_aac"
    with pytest.raises(HostLogError, match="no attempt"):
        log.queue_reversal("nope", "x")
    with pytest.raises(HostLogError, match="exists"):
        _attempt(log, "x")
    with pytest.raises(HostLogError, match="cannot update"):
        log.update("y", pan="4761739001010119")


def test_pan_vault_is_encrypted_private_and_erased(tmp_path):
    path, key = tmp_path / "h.sqlite", tmp_path / "keys" / "h.key"
    key.parent.mkdir()
    log = HostLog(path, key)
    _attempt(log, "k")
    log.keep_pan("k", PAN)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert log.pan("k") == PAN
    assert_no_card_data(path)
    # a different key cannot read it
    other = HostLog(path, tmp_path / "other.key")
    assert other.pan("k") is None
    log.update("k", state="reversal_queued")
    assert log.pan("k") == PAN  # still needed by the reversal
    log.update("k", state="reversed")
    assert log.pan("k") is None
    log.close()
    assert_no_card_data(path)


def test_totals_count_completed_sales_of_the_open_batch(tmp_path):
    log = HostLog(tmp_path / "h.sqlite")
    for key, state in (("a", "completed"), ("b", "reversed"), ("c", "completion_queued"),
                       ("d", "declined")):
        _attempt(log, key, state)
    assert (log.totals().count, log.totals().amount) == (2, 200)
    assert log.close_batch() == 2
    assert (log.totals().count, log.totals().amount) == (0, 0)
    _attempt(log, "e", "completed")
    assert log.totals().count == 1 and log.totals(batch=1).count == 2


def test_request_log_has_no_column_for_card_data(tmp_path: Path):
    import sqlite3

    HostLog(tmp_path / "h.sqlite").close()
    cols = {r[1] for r in sqlite3.connect(tmp_path / "h.sqlite").execute(
        "PRAGMA table_info(requests)")}
    assert not cols & {"pan", "track2", "icc", "field35", "field55", "pin_block", "name"}
    assert {"stan", "f7", "tid", "mid", "amount", "currency", "pan_masked", "txn",
            "idem_key", "state"} <= cols


def test_queued_completion_keeps_the_pan_until_delivered(tmp_path):
    log = HostLog(tmp_path / "h.sqlite")
    _attempt(log, "c", "approved")
    log.keep_pan("c", PAN)
    log.update("c", state="completion_queued")
    assert log.pan("c") == PAN
    log.update("c", state="completed")
    assert log.pan("c") is None
