"""`kiosk run` (the README's first command, without the UI) pays by card through its own
simulators: a private pcscd with the virtual card and ``kiosk sim acquirer``, both driven
from the demo prompt (``card visa``, ``card out``, ``host decline 51``).

The demo is a real OS process with its own broker, kiosk-core and card sims; the test
types at its stdin and reads what it prints, as a person at the terminal would.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.ports import free_port
from kiosk.sim.acquirer import ledger_events, ledger_net
from tests.fixtures.sample_items import RAMYUN
from tests.harness import REPO, kiosk_env
from tests.netcheck import listening, non_loopback

pytestmark = [pytest.mark.card, pytest.mark.integration]

#: a line of Python logging's format (`kiosk.cli`'s basicConfig): "... name LEVEL message"
LOG_LINE = re.compile(r" (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


class Demo:
    def __init__(self, state_dir: Path, *args: str) -> None:
        self.port = free_port()
        env = kiosk_env(state_dir, self.port, "L91")
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "run", "--no-ui", "--state-dir", str(state_dir),
             *args],
            env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, needle: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"demo never printed {needle!r}; it printed:\n"
                             + "\n".join(self.seen[-40:]))

    def quit(self) -> int:
        self.type("quit")
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def test_demo_pays_by_virtual_card_and_host_commands_steer_the_acquirer(tmp_path):
    demo = Demo(tmp_path)
    try:
        demo.expect("type 'card visa' to insert a card")
        demo.expect("state: [attract]")
        demo.type(RAMYUN)
        demo.expect("state: [shopping]")
        demo.type("pay card")  # refused in the basket: the demo says what to type instead
        assert "(type checkout first)" in demo.expect("rejected: not_allowed_now")
        demo.type("checkout")
        demo.expect("state: [payment]")

        # a bad control line is refused by the simulator, with nothing queued
        demo.type("host refuse")
        assert "error unknown behaviour" in demo.expect("demo: host ")
        demo.type("card amex_gold")
        assert "known: " in demo.expect("unknown card profile")

        demo.type("host decline 51")
        assert "ok auth decline 51" in demo.expect("demo: host ")
        demo.type("pay card")
        demo.expect("card: insert_card")
        demo.type("card visa")
        demo.expect("state: [declined]")
        demo.type("card out")
        demo.expect("card pulled out")
        demo.expect("state: [declined] total")  # pcscd saw it go: the remove prompt ends

        demo.type("pay card")
        demo.expect("card: insert_card")
        demo.type("card mastercard")
        demo.expect("state: [approved]")
        demo.type("receipt print")  # the shopper chooses: no wait for the choice's timeout
        receipt_line = demo.expect("state: [receipt]")
        demo.type("card out")
        demo.type("host status")
        status = demo.expect('demo: host {"approved"')
        assert '"approved": 1' in status and '"reversed": 0' in status
    finally:
        code = demo.quit()
    assert code == 0
    # the services' log lines went to their files, not between the prompt's lines
    logged = [line for line in demo.seen if LOG_LINE.search(line)]
    assert not logged, logged
    assert "kiosk.services.core" in (tmp_path / "core.log").read_text()

    txn = receipt_line.rsplit("/", 1)[1].removesuffix(".txt")
    receipt = (tmp_path / "receipts" / f"{txn}.txt").read_text()
    assert "5.10" in receipt
    ledger = tmp_path / "acquirer-ledger.jsonl"
    assert [e["code"] for e in ledger_events(ledger, "declined")] == ["51"]
    assert ledger_net(ledger) == {txn: 1}


def test_nothing_of_the_demo_lane_listens_beyond_loopback(tmp_path):
    """Issue 14, item 14: ``kiosk run`` (broker, kiosk-core, pcscd with vpcd, the acquirer
    simulator and its control port, the virtual card) binds loopback or Unix sockets only,
    with a card in the reader and a card payment under way."""
    demo = Demo(tmp_path)
    try:
        demo.expect("type 'card visa' to insert a card")
        demo.expect("state: [attract]")
        demo.type(RAMYUN)
        demo.expect("state: [shopping]")
        demo.type("checkout")
        demo.expect("state: [payment]")
        demo.type("pay card")
        demo.expect("card: insert_card")
        demo.type("card visa")
        demo.expect("state: [approved]")
        sockets = listening(demo.proc.pid)
        # the check sees the lane's listeners (else it would pass for want of looking):
        # the broker, the acquirer and its control port, vpcd's two slots in pcscd
        owners = [s[3].split("[")[0] for s in sockets]
        assert "mosquitto" in owners and owners.count("pcscd") == 2, sockets
        assert len(sockets) >= 5, sockets
        assert non_loopback(demo.proc.pid) == [], sockets
    finally:
        code = demo.quit()
    assert code == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_the_acquirer_simulator_refuses_to_listen_beyond_loopback(tmp_path, host):
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "sim", "acquirer", "--host", host,
                           "--port", "0", "--ledger", str(tmp_path / "ledger.jsonl")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a loopback address" in done.stderr, done.stderr
