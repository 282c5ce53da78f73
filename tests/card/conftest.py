"""Card end-to-end suite: a real kiosk-core (devices.payment = "card") on the real broker,
the private pcscd with vpcd, virtual EMV cards, and ``kiosk sim acquirer`` as the host.

One pcscd per session (tests/cardsupport.py), one acquirer simulator and one lane per
test. Every test ends with the ledger check: per basket, the simulator's "approved minus
reversed" (``ledger_net``) is 1 for a basket the shopper saw approved and 0 for every
other basket (declined, aborted, voided), after the kiosk had the time to drain its
reversals.
"""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.sim.acquirer import ledger_events, ledger_net
from tests.cardsupport import (  # noqa: F401 - fixtures re-exported for this suite
    READER0,
    pcscd,
    sim_card,
    wait_present,
)
from tests.fixtures.sample_items import MILK
from tests.harness import REPO, CoreProcess, Shopper, kiosk_cli

#: small timeouts so failure paths finish in a second or two
CARD_ENV = {
    "KIOSK__DEVICES__PAYMENT": "card",
    # a card lane: the phone method needs its wallet gateway configured (tests/wallet/core)
    "KIOSK__PAYMENTS__METHODS": '["card"]',
    "KIOSK__ACQUIRER__CONNECT_TIMEOUT_S": "1",
    "KIOSK__ACQUIRER__RESPONSE_TIMEOUT_S": "1.5",
    "KIOSK__ACQUIRER__REVERSAL_TIMEOUT_S": "1",
    "KIOSK__ACQUIRER__REVERSAL_ATTEMPTS_PER_DRAIN": "1",
    "KIOSK__CARDREADER__READER_POLL_S": "0.2",
    "KIOSK__CARDREADER__REMOVAL_GRACE_S": "1",
    "KIOSK__CARD__INSERT_TIMEOUT_S": "20",
    "KIOSK__CARD__SESSION_LIMIT_S": "10",
}


class Acquirer:
    """``kiosk sim acquirer`` with a control port and a JSON-lines ledger."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.ledger = workdir / "acquirer-ledger.jsonl"
        self.port = 0
        self.control_port = 0
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> Acquirer:
        argv = [sys.executable, "-m", "kiosk.cli", "sim", "acquirer", "--port", str(self.port),
                "--ledger", str(self.ledger), "--control-port", str(self.control_port)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=(self.workdir / "acquirer.log").open("ab"),
                                     text=True, env=self.env, cwd=REPO)
        line = self.proc.stdout.readline()
        words = dict(w.split("=", 1) for w in line.split() if "=" in w)
        assert "port" in words, f"kiosk sim acquirer did not start: {line!r}"
        self.port, self.control_port = int(words["port"]), int(words["control"])
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def control(self, *lines: str) -> list[str]:
        """Queue behaviours (``decline 05``, ``reversal drop``, ...); each must say ok."""
        answers = []
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as sock:
            fh = sock.makefile("rw")
            for line in lines:
                fh.write(line + "\n")
                fh.flush()
                answer = fh.readline().strip()
                assert answer.startswith(("ok", "{")), f"{line!r}: {answer}"
                answers.append(answer)
        return answers

    def events(self, kind: str | None = None) -> list[dict]:
        return ledger_events(self.ledger, kind) if self.ledger.exists() else []

    def net(self) -> dict[str, int]:
        return ledger_net(self.ledger) if self.ledger.exists() else {}

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"acquirer ledger: {what} not within {timeout} s"
            time.sleep(0.05)

    def received(self, mti: str | None = None) -> list[dict]:
        return [e for e in self.events("received") if mti is None or e["mti"] == mti]


class VerboseCore(CoreProcess):
    """kiosk-core with DEBUG logging (``kiosk -v core``): what the PCI grep reads."""

    def start(self) -> VerboseCore:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "-v", "core"],
                                     env=self.env, cwd=REPO, stdout=log, stderr=log)
        return self


class CardLane:
    """One lane: its env, kiosk-core processes, the shopper, the card slot, the host."""

    def __init__(self, env: dict[str, str], tmp: Path, shopper: Shopper, acquirer: Acquirer,
                 pcscd_port: int) -> None:
        self.env = env
        self.tmp = tmp
        self.shopper = shopper
        self.acq = acquirer
        self.cores: list[CoreProcess] = []
        self.pcscd_port = pcscd_port
        self.slot = None
        self.card = None
        self.expect_open: set[str] = set()  # baskets whose outcome the test settles itself

    @property
    def state_dir(self) -> Path:
        return Path(self.env["KIOSK__PATHS__STATE_DIR"])

    def start_core(self, verbose: bool = False, **overrides: str) -> CoreProcess:
        env = dict(self.env, **overrides)
        cls = VerboseCore if verbose else CoreProcess
        core = cls(env, self.tmp / f"core-{len(self.cores)}.log").start()
        self.cores.append(core)
        self.shopper.wait_online(timeout=30)
        return core

    @property
    def core(self) -> CoreProcess:
        return self.cores[-1]

    # -- the card -------------------------------------------------------------------------
    def insert(self, profile: str, hang_after: int | None = None):
        from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

        from kiosk.sim.emvcard import make_card

        if self.slot is None or self.slot.hang_after != hang_after:
            self.remove()
            self.slot = VpcdCard("127.0.0.1", self.pcscd_port, hang_after=hang_after)
        self.card = make_card(profile)
        self.slot.insert(self.card)
        return self.card

    def remove(self, wait: bool = True) -> None:
        if self.slot is not None and self.slot.inserted:
            self.slot.remove()
            if wait:
                wait_present(READER0, False)

    # -- the shopper ----------------------------------------------------------------------
    def to_payment(self) -> str:
        s = self.shopper
        assert s.send("scan", code=MILK)["ok"]
        assert s.send("checkout")["ok"]
        st = s.wait_state(lambda st: st["state"] == "payment")
        return st["txn"]

    def pay(self, **fields: object) -> dict:
        result = self.shopper.send("pay", method="card", **fields)
        assert result["ok"], result
        return result

    def wait_step(self, name: str, timeout: float = 15) -> dict:
        return self.shopper.wait_state(
            lambda s: s["state"] == "authorizing" and (s["payment"] or {}).get("step") == name,
            timeout)

    def wait_end(self, timeout: float = 20, choose: int | None = None) -> dict:
        """The attempt's end as the shopper sees it (approved, declined, not completed);
        with ``choose``, every "choose application" prompt is answered with that index."""
        ends = ("approved", "receipt", "declined", "reversing", "payment_unavailable")

        def ended(s: dict) -> bool:  # or back on the payment screen told it did not go
            # through: a reversal that finished before this thread looked at the state
            return s["state"] in ends or (s["state"] == "payment"
                                          and s.get("notice") == "payment_not_completed")

        deadline = time.monotonic() + timeout
        answered = 0
        while True:
            st = self.shopper.wait_state(
                lambda s: ended(s) or (
                    choose is not None and (s["payment"] or {}).get("step") == "choose_app"),
                max(deadline - time.monotonic(), 0.1))
            if ended(st):
                return st
            answered += 1
            assert answered <= 3, "asked to choose an application again and again"
            result = self.shopper.send("choose_app", index=choose)
            assert result["ok"] or result["reason"] == "app_already_chosen", result
            self.shopper.wait_state(lambda s: (s["payment"] or {}).get("step") != "choose_app"
                                    or ended(s))

    def void(self) -> None:
        """End the basket (after a decline) so the next test step starts a new one."""
        deadline = time.monotonic() + 10
        while True:
            result = self.shopper.send("cancel")
            if result["ok"]:
                break
            # a cancel right after a cancelled payment counts as the same tap: wait it out
            assert result["reason"] == "already_cancelled", result
            assert time.monotonic() < deadline, result
            time.sleep(0.2)
        self.shopper.wait_state(lambda s: s["state"] in ("attract", "shopping")
                                and not s["lines"])

    def wait_reversed(self, timeout: float = 20) -> dict:
        """Until the core owes no reversal any more."""
        return self.shopper.wait_state(lambda s: not s["reversal_owed"]
                                       and s["state"] not in ("reversing", "authorizing"),
                                       timeout)

    def journal_types(self) -> list[str]:
        import sqlite3

        db = sqlite3.connect(f"file:{self.state_dir / 'journal.sqlite'}?mode=ro", uri=True)
        try:
            return [row[0] for row in db.execute("SELECT type FROM events ORDER BY seq")]
        finally:
            db.close()

    def journal_events(self, kind: str) -> list[dict]:
        import sqlite3

        db = sqlite3.connect(f"file:{self.state_dir / 'journal.sqlite'}?mode=ro", uri=True)
        try:
            cols = [r[1] for r in db.execute("PRAGMA table_info(events)")]
            rows = db.execute("SELECT * FROM events WHERE type = ? ORDER BY seq", (kind,))
            out = []
            for row in rows:
                rec = dict(zip(cols, row, strict=True))
                for key in ("data", "payload", "event", "body"):
                    if isinstance(rec.get(key), str):
                        try:
                            rec.update(json.loads(rec[key]))
                        except ValueError:
                            pass
                out.append(rec)
            return out
        finally:
            db.close()

    def verify_journal(self) -> None:
        for core in self.cores:
            core.stop()
        done = kiosk_cli(self.env, "journal", "verify")
        assert done.returncode == 0, done.stdout + done.stderr
        self.assert_hostlog_final()

    def assert_hostlog_final(self) -> None:
        """Every attempt in the host log is final: nothing sent and unanswered, no approval
        neither completed nor reversed, no reversal or completion still queued."""
        from kiosk.payments.hostlog import HostLog

        path = self.state_dir / "hostlog.sqlite"
        if not path.exists():
            return
        store = HostLog(path, self.state_dir / "hostlog.key")
        try:
            open_ = store.attempts(states=("sent", "approved", "reversal_queued",
                                           "completion_queued"))
            assert not open_, [(a.stan, a.state) for a in open_]
        finally:
            store.close()

    # -- the money invariant --------------------------------------------------------------
    def seen_outcomes(self) -> tuple[set[str], set[str]]:
        """(baskets the shopper saw approved, every basket the shopper saw)."""
        approved, seen = set(), set()
        while True:
            try:
                st = self.shopper.states.get_nowait()
            except queue.Empty:
                break
            self._history.append(st)
        for st in self._history:
            if st.get("txn"):
                seen.add(st["txn"])
                if st["state"] in ("approved", "receipt"):
                    approved.add(st["txn"])
        return approved, seen

    _history: list[dict]

    def check_ledger(self, timeout: float = 20) -> None:
        """No basket charged twice; charged exactly when the shopper saw it approved."""
        deadline = time.monotonic() + timeout
        while True:
            approved, seen = self.seen_outcomes()
            net = self.acq.net()
            problems = [f"{b}: net {n}" for b, n in net.items() if n not in (0, 1)]
            problems += [f"{b}: approved on screen, host net {net.get(b, 0)}"
                         for b in approved if net.get(b, 0) != 1]
            problems += [f"{b}: not approved on screen, host net {n}"
                         for b, n in net.items() if n and b not in approved
                         and b not in self.expect_open]
            problems += [f"{b}: unknown basket in the ledger" for b in net if b not in seen]
            if not problems:
                return
            if time.monotonic() >= deadline:
                raise AssertionError("ledger: " + "; ".join(problems))
            time.sleep(0.1)


@pytest.fixture
def acquirer(tmp_path: Path, pcscd) -> Acquirer:  # noqa: F811
    acq = Acquirer(tmp_path, dict(pcscd.env))
    yield acq
    acq.stop()


@pytest.fixture
def card_lane(pcscd, lane_env, acquirer: Acquirer, broker_port: int,  # noqa: F811
              tmp_path: Path):
    """A lane with the card port: start its core with ``card_lane.start_core()``."""
    env = dict(lane_env, **CARD_ENV, PCSCLITE_CSOCK_NAME=str(pcscd.socket_path),
               KIOSK__ACQUIRER__PORT=str(acquirer.port))
    shopper = Shopper(broker_port, lane_env["KIOSK__STORE__LANE_ID"])
    lane = CardLane(env, tmp_path, shopper, acquirer, pcscd.port)
    lane._history = []
    try:
        yield lane
        # the money invariant after every test (a stopped core can drain nothing more)
        alive = any(c.proc is not None and c.proc.poll() is None for c in lane.cores)
        lane.check_ledger(timeout=20 if alive else 0.5)
        for core in lane.cores:
            core.stop()
        lane.assert_hostlog_final()
    finally:
        for core in lane.cores:
            core.stop()
        lane.remove(wait=False)
        shopper.close()
        wait_present(READER0, False)
