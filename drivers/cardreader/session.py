"""The card session watchdog: one time limit over a whole card flow.

pyscard's ``transmit()`` has no timeout of its own and a stuck card or reader blocks it
forever, so :meth:`CardSession.run` runs the flow in a worker thread and waits for it with
the limit. At the limit the caller gets :class:`CardTimeout` at once and the channel is
aborted: no later APDU of the flow goes out (each raises CardTimeout), and the card is
disconnected, at once if no APDU is out, else as soon as the stuck transmit returns.

What releases a transmit stuck *inside* pcscd is the reader driver giving up: a real CCID
reader does after the card's waiting time (BWT/WWT, seconds); with vpcd only the virtual
card closing its socket does (``remove``), as vpcd reads the answer without a timeout.
The kiosk cannot cut it short from its side: pcsc-lite's client library serialises calls
on one context, and an SCardDisconnect from another thread waits for the stuck
SCardTransmit while holding the library's global lock, which would freeze every other
PC/SC call of the process (the card monitor, the next session) until the card answers.
So the watchdog leaves the stuck call alone; the worker is a daemon thread whose late
result is discarded, and the caller is never held past the limit. Other PC/SC contexts
keep working meanwhile (pcscd's presence polling of that one reader waits too, so its
card events come once the transmit returns).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kiosk_drivers.cardreader.errors import CardTimeout

T = TypeVar("T")


class CardSession:
    """``CardSession(channel, limit_s).run(flow)`` → ``flow(channel)``'s result, or
    CardTimeout after ``limit_s`` seconds. The flow's own exceptions are re-raised."""

    def __init__(self, channel, limit_s: float) -> None:
        if limit_s <= 0:
            raise ValueError("limit_s must be positive")
        self.channel = channel
        self.limit_s = limit_s
        self.timed_out = False
        self.elapsed_s: float | None = None

    def run(self, flow: Callable[[object], T]) -> T:
        start = time.monotonic()
        deadline = start + self.limit_s
        set_deadline = getattr(self.channel, "set_deadline", None)
        if set_deadline:
            set_deadline(deadline)
        box: dict[str, object] = {}

        def work() -> None:
            try:
                box["result"] = flow(self.channel)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="card-session", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()))
        self.elapsed_s = time.monotonic() - start
        if worker.is_alive():
            self.timed_out = True
            error = CardTimeout(f"card session exceeded {self.limit_s:g} s")
            abort = getattr(self.channel, "abort", None)
            if abort:
                abort(error)
            raise error
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["result"]  # type: ignore[return-value]
