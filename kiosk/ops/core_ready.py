"""kiosk-core's READY record, and the wait for one kiosk-core to stay up (the update's settle).

When kiosk-core reports READY to systemd it first writes ``core-ready.json`` in its state
dir (:func:`record_ready`): its pid and start time (the kernel's, in clock ticks since the
boot: with the pid, one process of one boot; a pid reused, or one of an earlier boot, has
another), and when it became ready, on CLOCK_MONOTONIC (one clock for every process of a
boot) and on the wall clock (for a person reading it). The boot's id
(/proc/sys/kernel/random/boot_id) would say "this boot" more plainly, but kiosk-core's
sandbox (``ProcSubset=pid``) hides /proc/sys; its own /proc/<pid>/stat it sees.

``kiosk update --commit`` keeps a tried release only once kiosk-core has stayed up, without
a restart, for the settle period (:func:`wait_settled`): READY alone is not enough, since a
release that crashes right after it is restarted by systemd (``Restart=``) and the commit
unit, bound to kiosk-core, never sees it stop. A restart writes a new record (a new pid),
and the wait starts over from the new READY.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.ops.state_file import read_json, write_json

READY_FILE = "core-ready.json"
PROC = Path("/proc")
POLL_S = 0.2  # how often the wait looks at the record and the process


class NotSettled(Exception):
    """kiosk-core did not stay up for the settle period; str() is one line."""


@dataclass(frozen=True)
class Ready:
    """One kiosk-core's READY: who (pid, start time) and since when (CLOCK_MONOTONIC)."""

    pid: int
    start_ticks: int
    ready_mono: float

    def alive(self) -> bool:
        """That process still runs: /proc/<pid> is there and started when it did (the commit
        runs as root, whose group sees kiosk-core's under the unit's ProtectProc=invisible)."""
        return start_ticks(self.pid) == self.start_ticks


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since the boot); None: no such process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; starttime is the
    # 22nd field, the 20th after comm's closing parenthesis
    return int(stat.rpartition(")")[2].split()[19])


def record_ready(state: Path) -> None:
    """Write this process's READY record into ``state`` (kiosk-core's state dir)."""
    pid = os.getpid()
    write_json(state / READY_FILE, {"pid": pid, "start_ticks": start_ticks(pid),
                                    "ready_monotonic": time.monotonic(),
                                    "ready_at": time.time()})


def read_ready(state: Path) -> Ready | None:
    """The last READY recorded in ``state``; None when there is none (or it is damaged)."""
    record = read_json(state / READY_FILE)
    try:
        return Ready(int(record["pid"]), int(record["start_ticks"]),
                     float(record["ready_monotonic"])) if record is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def wait_settled(state: Path, settle_s: float, timeout_s: float, stop: threading.Event,
                 ) -> tuple[Ready, int]:
    """Wait until one kiosk-core has been READY for ``settle_s`` and is still running.

    Returns its record and how many other kiosk-cores (restarts) were seen meanwhile.
    Raises :class:`NotSettled` when ``timeout_s`` passes first (kiosk-core not running, or
    restarting faster than the settle period) or ``stop`` is set (SIGTERM)."""
    deadline = time.monotonic() + timeout_s
    seen: Ready | None = None
    restarts = 0
    while True:
        now = time.monotonic()
        current = read_ready(state)
        if current is not None and not current.alive():
            current = None  # it died (or is of an earlier boot): not running (yet again)
        if current is not None:
            if seen is not None and current != seen:
                restarts += 1
            seen = current
            if now - current.ready_mono >= settle_s:
                return current, restarts
        if now >= deadline:
            break
        wake = deadline if current is None else min(deadline, current.ready_mono + settle_s)
        if stop.wait(min(POLL_S, max(wake - now, 0.0))):
            raise NotSettled("stopped before kiosk-core settled")
    if current is None:
        last = read_ready(state)
        why = "no READY recorded" if last is None else f"pid {last.pid}, its last READY, is gone"
        raise NotSettled(f"kiosk-core is not running ({why}) after {timeout_s:g} s")
    if restarts == 0:  # it became ready late in the wait (a slow start)
        raise NotSettled(f"kiosk-core (pid {current.pid}) was up {now - current.ready_mono:.0f}"
                         f" s of the {settle_s:g} s when the {timeout_s:g} s ran out")
    raise NotSettled(f"kiosk-core restarted {restarts} time(s) and did not stay up"
                     f" {settle_s:g} s without a restart within {timeout_s:g} s")
