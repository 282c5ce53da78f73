"""A tiny sd_notify(3) client: READY=1, WATCHDOG=1, STATUS=..., STOPPING=1.

The protocol is one datagram of newline-separated ``KEY=VALUE`` lines sent to the
AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a path, or an abstract-namespace name
when it starts with ``@``). Without ``$NOTIFY_SOCKET`` (not run by systemd, or
``Type=simple``) every call is a no-op. A failed send is logged and ignored: the
service keeps running, and systemd's watchdog notices the missing pings.

:func:`stop_on_signals` is the one way a process of the project turns SIGTERM / SIGINT
into the Event its main loop waits on (and tells systemd it is stopping).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable, Mapping

log = logging.getLogger("kiosk.ops.sdnotify")


def _address(env: Mapping[str, str]) -> str | None:
    addr = env.get("NOTIFY_SOCKET", "")
    if addr.startswith("@"):
        return "\0" + addr[1:]  # abstract namespace
    if addr.startswith("/"):
        return addr
    return None  # unset, empty, or a form we do not speak (vsock:...)


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1\\nSTATUS=up"``); True if a datagram was sent."""
    addr = _address(os.environ if env is None else env)
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            # never block the caller's main loop when nobody reads the socket
            sock.send(state.encode(), socket.MSG_DONTWAIT)
    except OSError as exc:
        log.warning("sd_notify %r failed: %s", state.split("\n", 1)[0], exc)
        return False
    return True


def ready(status: str | None = None) -> bool:
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def stopping() -> bool:
    return notify("STOPPING=1")


def stop_on_signals(stop: threading.Event | None = None,
                    signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
                    ) -> threading.Event:
    """The Event a main loop waits on: each of ``signals`` sets it and sends STOPPING=1.

    Installs the handlers (so call it from the main thread) and returns ``stop`` (a new
    Event when none is given).

    The handler sends STOPPING=1 itself (one datagram, no lock of ours) and writes a byte to
    a pipe; a thread reading it sets the Event. Setting the Event in the handler can hang
    the process for good: a handler runs on the main thread between two bytecodes, and when
    that thread is inside ``stop.wait()`` holding the Event's (non-reentrant) lock, ``set()``
    waits for a lock its own thread holds. STOPPING=1 is not left to that thread: a process
    that ends as soon as the signal is handled (uvicorn hands the signal back to this
    handler on its way out) could exit before the thread ran.
    """
    event = threading.Event() if stop is None else stop
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(write_end, False)

    def on_signal(*_: object) -> None:
        stopping()
        try:
            os.write(write_end, b"s")
        except BlockingIOError:  # the pipe is full of earlier signals: one is enough
            pass

    def relay() -> None:
        while os.read(read_end, 64):
            event.set()

    threading.Thread(target=relay, name="stop-on-signals", daemon=True).start()
    for sig in signals:
        signal.signal(sig, on_signal)
    return event


def watchdog_ping() -> bool:
    return notify("WATCHDOG=1")


class Watchdog:
    """Whether and how often to send WATCHDOG=1, from ``$WATCHDOG_USEC``/``$WATCHDOG_PID``.

    Call :meth:`tick` from the service's main loop (never from a helper thread: a
    hung loop must stop the pings); it pings when ``WATCHDOG_USEC/2`` has passed.
    """

    def __init__(self, env: Mapping[str, str] | None = None, pid: int | None = None) -> None:
        env = os.environ if env is None else env
        self.interval_s: float | None = None
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            usec = 0
        watchdog_pid = env.get("WATCHDOG_PID", "")
        for_us = not watchdog_pid or watchdog_pid == str(os.getpid() if pid is None else pid)
        if usec > 0 and for_us and _address(env) is not None:
            self.interval_s = usec / 2 / 1_000_000
        self._env = env
        self._last: float | None = None

    @property
    def enabled(self) -> bool:
        return self.interval_s is not None

    def due(self, now: float | None = None) -> bool:
        if self.interval_s is None:
            return False
        now = time.monotonic() if now is None else now
        return self._last is None or now - self._last >= self.interval_s

    def tick(self, now: float | None = None) -> bool:
        """Ping if due; True when a ping was sent."""
        now = time.monotonic() if now is None else now
        if not self.due(now):
            return False
        self._last = now
        return notify("WATCHDOG=1", self._env)
