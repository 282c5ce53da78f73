"""AcquirerLink against the real simulator process over TCP: every host behaviour."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.payments.acquirer import AcquirerError
from tests.acquirer.conftest import REPO, assert_no_card_data, sale, sim_env


def received(sim, mti: str | None = None) -> list[dict]:
    return [r for r in sim.events("received") if mti is None or r["mti"] == mti]


def test_approve_journals_before_send_and_keeps_no_card_data(sim, make_link, tmp_path):
    link = make_link(sim.port)
    answer = link.authorize(sale(1))
    assert answer.outcome == "approved" and answer.message_key == "approved"
    assert answer.response_code == "00" and answer.arc == b"00"
    assert len(answer.auth_code) == 6 and len(answer.rrn) == 12
    assert answer.issuer_auth_data is not None and len(answer.issuer_auth_data) == 10
    attempt = link.store.get("idem-1-a")
    assert attempt.state == "approved" and attempt.stan == f"{answer.stan:06d}"
    assert (attempt.rrn, attempt.auth_code) == (answer.rrn, answer.auth_code)
    assert attempt.pan_masked == "476173******0119"
    link.completed("idem-1-a")
    assert link.store.get("idem-1-a").state == "completed"
    assert link.store.pan("idem-1-a") is None  # erased once final
    assert sim.net() == {"S001-L01-000001": 1}
    assert_no_card_data(tmp_path / "hostlog.sqlite", sim.ledger)


def test_issuer_scripts_come_back_as_bytes(sim, make_link):
    sim.cmd("approve scripts")
    answer = make_link(sim.port).authorize(sale(2))
    assert answer.outcome == "approved"
    assert answer.scripts_72.startswith(b"\x72\x0e") and answer.scripts_71 == b""


@pytest.mark.parametrize("family,codes,message", [
    ("do not honour / funds", ["05", "51", "54"], "card_declined"),
    ("referral and pick-up", ["01", "02", "04", "07", "41", "43"], "card_declined"),
    ("try later", ["91", "96"], "try_later"),
    ("unlisted", ["12", "N7"], "card_declined"),
])
def test_decline_families_map_to_shopper_messages(sim, make_link, family, codes, message):
    link = make_link(sim.port)
    for i, code in enumerate(codes):
        sim.cmd(f"decline {code}")
        answer = link.authorize(sale(10 + i))
        assert answer.outcome == "declined", family
        assert answer.message_key == message and answer.response_code == code
        assert link.store.get(f"idem-{10 + i}-a").state == "declined"
    assert all(n == 0 for n in sim.net().values()) and not sim.events("reversed")


def test_partial_approval_is_reversed_and_declined(sim, make_link):
    sim.cmd("partial 500")
    link = make_link(sim.port)
    answer = link.authorize(sale(3, amount=2000))
    assert answer.outcome == "declined" and answer.message_key == "partial_not_supported"
    assert link.store.get("idem-3-a").state == "reversed"
    assert [r["amount"] for r in sim.events("reversed")] == [500]
    assert sim.net() == {"S001-L01-000003": 0}


@pytest.mark.parametrize("behaviour", ["delay 2", "drop", "garbage", "mismatch", "late"])
def test_no_usable_answer_is_unknown_and_reversed(sim, make_link, behaviour):
    """Timeout, broken link, garbled or non-echoing answer: never resent, reversed."""
    sim.cmd(behaviour)
    link = make_link(sim.port, response_timeout_s=0.5)
    answer = link.authorize(sale(4))
    assert answer.outcome == "unknown" and answer.message_key == "try_later"
    assert answer.reversal_queued
    link.drain_reversals()
    assert link.store.get("idem-4-a").state == "reversed"
    assert len(received(sim, "0200")) == 1  # the authorization went out exactly once
    assert sim.net() == {"S001-L01-000004": 0}
    (rev,) = sim.events("reversed")
    assert rev["mti"] == "0400" and rev["stan"] == sim.events("approved")[0]["stan"]
    (auth,) = received(sim, "0200")
    (wire,) = received(sim, "0400")
    assert {2, 3, 4, 7, 11, 41, 42, 49, 90} <= set(wire["fields"])  # originals + 90
    assert not {35, 52, 55} & set(wire["fields"]) and {35, 55} <= set(auth["fields"])
    assert wire["stan"] == auth["stan"] and wire["original"].startswith("0200" + auth["stan"])


def test_late_answer_is_logged_and_ignored(sim, make_link, caplog):
    sim.cmd("late")
    link = make_link(sim.port, response_timeout_s=0.5)
    with caplog.at_level(logging.WARNING, "kiosk.acquirer"):
        assert link.authorize(sale(5)).outcome == "unknown"
    # the held 0210 arrived (after the timeout) ahead of the 0410 and was ignored
    assert any("ignored late answer" in r.getMessage() for r in caplog.records)
    assert link.store.get("idem-5-a").state == "reversed"
    nxt = link.authorize(sale(6))  # same connection, the right answer is matched
    assert nxt.outcome == "approved" and nxt.stan == int(link.store.get("idem-6-a").stan)
    assert sim.net() == {"S001-L01-000005": 0, "S001-L01-000006": 1}


def test_queued_reversal_goes_before_the_next_sale(sim, make_link):
    link = make_link(sim.port, response_timeout_s=0.5)
    sim.cmd("drop")
    for _ in range(3):
        sim.cmd("reversal drop")
    assert link.authorize(sale(7)).outcome == "unknown"
    assert [a.idem_key for a in link.store.pending()] == ["idem-7-a"]
    assert [r["mti"] for r in received(sim)] == ["0200", "0400", "0401", "0401"]
    answer = link.authorize(sale(8))
    assert answer.outcome == "approved"
    mtis = [(r["mti"], r["basket"]) for r in received(sim)]
    assert mtis[4:] == [("0401", "S001-L01-000007"), ("0200", "S001-L01-000008")]
    assert link.store.get("idem-7-a").state == "reversed" and not link.store.pending()
    assert sim.net() == {"S001-L01-000007": 0, "S001-L01-000008": 1}


def test_undeliverable_reversal_blocks_new_sales(sim, make_link):
    link = make_link(sim.port, response_timeout_s=0.5, reversal_attempts_per_drain=2)
    sim.cmd("drop")
    for _ in range(4):
        sim.cmd("reversal drop")
    assert link.authorize(sale(9)).outcome == "unknown"
    answer = link.authorize(sale(10))
    assert answer.outcome == "unavailable" and answer.message_key == "try_later"
    assert link.store.get("idem-10-a") is None
    assert [r["mti"] for r in received(sim, "0200")] == ["0200"]  # sale 10 never left
    assert link.drain_reversals()
    assert sim.net() == {"S001-L01-000009": 0}


def test_repeated_idem_key_is_never_resent(sim, make_link):
    link = make_link(sim.port)
    first = link.authorize(sale(11))
    again = link.authorize(sale(11))
    assert again.outcome == "approved" and (again.rrn, again.stan) == (first.rrn, first.stan)
    assert len(received(sim, "0200")) == 1
    with pytest.raises(AcquirerError, match="already has an approved"):
        link.authorize(sale(11, idem="idem-11-b"))
    link.reverse("idem-11-a", "card_aac")  # the card refused after approval
    assert link.drain_reversals() and link.store.get("idem-11-a").state == "reversed"
    assert link.authorize(sale(11, idem="idem-11-b")).outcome == "approved"
    assert sim.net() == {"S001-L01-000011": 1}


def test_link_killed_mid_request_is_reversed_on_restart(sim, make_link, tmp_path):
    hostlog = tmp_path / "hostlog.sqlite"
    sim.cmd("delay 60")  # the host approves, its answer never reaches the dying process
    script = textwrap.dedent(f"""
        from pathlib import Path
        from kiosk.payments.acquirer import AcquirerLink
        from kiosk.payments.acquirer_config import AcquirerConfig
        from kiosk.payments.hostlog import HostLog
        from kiosk.payments.iso8583 import load_dialect
        from tests.acquirer.conftest import sale
        link = AcquirerLink(AcquirerConfig(port={sim.port}, response_timeout_s=120),
                            load_dialect("default"), HostLog(Path({str(hostlog)!r})))
        link.authorize(sale(12))
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=sim_env())
    try:
        sim.wait_event("approved", lambda r: r["basket"] == "S001-L01-000012")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    link = make_link(sim.port, hostlog=hostlog)  # start-up recovery queues the reversal
    assert [a.idem_key for a in link.store.pending()] == ["idem-12-a"]
    assert link.store.pan("idem-12-a") == "4761739001010119"  # kept encrypted for field 2
    assert link.drain_reversals()
    assert link.store.get("idem-12-a").state == "reversed"
    assert link.store.pan("idem-12-a") is None  # erased on the 0410
    assert sim.net() == {"S001-L01-000012": 0}
    assert_no_card_data(hostlog)


def test_completed_is_final_at_restart_and_approved_is_reversed(sim, make_link, tmp_path):
    hostlog = tmp_path / "hostlog.sqlite"
    link = make_link(sim.port, hostlog=hostlog)
    link.authorize(sale(13))
    link.completed("idem-13-a")
    link.authorize(sale(14))  # approved, but the kiosk stops before the card's TC
    link.close()
    again = make_link(sim.port, hostlog=hostlog)
    assert [a.idem_key for a in again.store.pending()] == ["idem-14-a"]
    assert again.drain_reversals()
    assert again.store.get("idem-13-a").state == "completed"
    assert sim.net() == {"S001-L01-000013": 1, "S001-L01-000014": 0}


def test_stan_unique_across_restarts(sim, make_link, tmp_path):
    hostlog = tmp_path / "hostlog.sqlite"
    stans = []
    for round_ in range(3):
        link = make_link(sim.port, hostlog=hostlog)
        for i in range(3):
            n = 20 + round_ * 3 + i
            stans.append(link.authorize(sale(n)).stan)
            link.completed(f"idem-{n}-a")
        assert link.sign_on()
        link.close()
        link.store.close()
    wire = [r["stan"] for r in received(sim)]
    assert len(wire) == len(set(wire)) == 12
    assert stans == sorted(stans)


def test_sign_on_echo_and_end_of_day(sim, make_link):
    link = make_link(sim.port)
    assert link.sign_on() and link.echo()
    link.authorize(sale(30, amount=1500))
    link.completed("idem-30-a")
    sim.cmd("drop")
    link.authorize(sale(31, amount=700))  # charged by the host, then reversed
    link.authorize(sale(32, amount=900))
    link.completed("idem-32-a")
    rec = link.end_of_day(currency_numeric=840)
    assert rec.balanced and rec.response_code == "00"
    assert rec.ours == rec.host and (rec.host.count, rec.host.amount) == (2, 2400)
    # the next batch starts empty on both sides; a wrong claim is caught
    from kiosk.payments.hostlog import Totals

    wrong = link.end_of_day(Totals(1, 100))
    assert not wrong.balanced and wrong.response_code == "95"
    assert (wrong.host.count, wrong.host.amount) == (0, 0)
    assert [r["mti"] for r in received(sim, "0800")] == ["0800", "0800"]


def test_idle_link_closed_by_host_reconnects_without_loss(sim, make_link):
    link = make_link(sim.port)
    assert link.authorize(sale(41)).outcome == "approved"
    assert sim.cmd("hangup") == "ok hangup 1"
    assert link.authorize(sale(42)).outcome == "approved"  # noticed before sending
    assert len(received(sim, "0200")) == 2 and not sim.events("reversed")


def test_host_down_is_unavailable_and_nothing_is_journaled(make_link, tmp_path):
    import socket

    # a port bound and not listening: connections are refused, and no other process (a
    # parallel test's simulator) can start listening on it meanwhile
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        link = make_link(held.getsockname()[1], connect_timeout_s=1)
        answer = link.authorize(sale(40))
        assert answer.outcome == "unavailable" and link.store.get("idem-40-a") is None
        assert not link.sign_on()


def test_control_port(tmp_path, make_link):
    import socket

    ledger = tmp_path / "ctl.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "acquirer", "--port",
                             "0", "--control-port", "0", "--ledger", str(ledger)], cwd=REPO,
                            env=sim_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            text=True)
    try:
        first = proc.stdout.readline()
        port = int(first.split("port=")[1].split()[0])
        control = int(first.split("control=")[1].split()[0])
        with socket.create_connection(("127.0.0.1", control), timeout=10) as ctl:
            f = ctl.makefile("rw")
            for line, answer in (("decline 43", "ok auth decline 43"),
                                 ("bogus", "error unknown behaviour"),
                                 ("decline 5", "error decline")):
                f.write(line + "\n")
                f.flush()
                assert f.readline().startswith(answer)
        answer = make_link(port).authorize(sale(50))
        assert answer.outcome == "declined" and answer.message_key == "card_declined"
        assert proc.poll() is None  # stdin at EOF does not stop the simulator
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_sign_on_and_end_of_day(sim, tmp_path):
    env = sim_env()
    env.update({"KIOSK_CONFIG_DIR": str(tmp_path / "etc"),
                "KIOSK__PATHS__STATE_DIR": str(tmp_path / "state"),
                "KIOSK__ACQUIRER__PORT": str(sim.port)})
    for action, expect in (("sign-on", "OK"), ("echo", "OK"), ("drain", "nothing left"),
                           ("end-of-day", "balanced")):
        done = subprocess.run([sys.executable, "-m", "kiosk.cli", "acquirer", action],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and expect in done.stdout, (done.stdout, done.stderr)
    assert Path(tmp_path / "state" / "hostlog.sqlite").exists()
