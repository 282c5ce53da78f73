"""Reader and card events from our own monitor thread over PC/SC ``SCardGetStatusChange``.

The thread only turns what pcscd reports into small dicts and hands them to a callback
(typically ``queue.put`` of the core's inbox); it never runs the payment flow, which
would delay the card-removed event.

Events (``t`` is time.monotonic() when the change was seen)::

    {"type": "reader_added" | "reader_removed", "reader": name, "t": t}
    {"type": "card_inserted", "reader": name, "atr": "3B...", "t": t}
         + "unsupported": "contactless" for a contactless reader or card
    {"type": "card_removed", "reader": name, "t": t}

pcscd reports a card present only when it polls the reader (about every 400 ms with
vpcd), so ``t`` of card_inserted is "detected", not "inserted".

Why our own thread and not pyscard's CardMonitor / ReaderMonitor: those run one
process-wide thread that outlives its observers, replays its last (possibly stale)
card list to a new observer, and ends for good when pcscd restarts; keeping them right
needed pyscard's private singletons. Here each :class:`ReaderEvents` owns one thread and
one PC/SC context through pyscard's public ``smartcard.scard`` API: it lists the readers
every ``reader_poll_s`` and waits in ``SCardGetStatusChange`` in between; :meth:`stop`
wakes it with ``SCardCancel`` and joins it. If pcscd goes away the thread waits for it
and compares what it finds when pcscd is back with what it announced.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk_drivers.cardreader.atr import is_contactless

log = logging.getLogger(__name__)

#: how long :meth:`ReaderEvents.start` waits for the first report (readers and cards now)
FIRST_REPORT_S = 5.0
#: how long :meth:`ReaderEvents.stop` keeps cancelling the wait before giving up the join
STOP_S = 5.0


@dataclass
class _Reader:
    state: int = 0            # the last event state pcscd reported (SCARD_STATE_UNAWARE: none)
    atr: bytes | None = None  # the card announced in it, until its removal is posted


class ReaderEvents:
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager).
    ``reader_pattern`` (a regular expression) limits events to matching readers."""

    def __init__(self, callback: Callable[[dict], None], reader_pattern: str = "",
                 reader_poll_s: float = 1.0) -> None:
        self.callback = callback
        self.pattern = re.compile(reader_pattern) if reader_pattern else None
        self.reader_poll_s = reader_poll_s
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._reported = threading.Event()  # the first report (or failure to reach pcscd)
        self._ctx_lock = threading.Lock()
        self._ctx: int | None = None

    def _wanted(self, reader: str) -> bool:
        return self.pattern is None or bool(self.pattern.search(reader))

    def _post(self, event: dict) -> None:
        try:
            self.callback(event)
        except Exception:  # a broken consumer must not kill the monitor thread
            log.exception("card event consumer failed on %s", event.get("type"))

    def start(self) -> ReaderEvents:
        """Start the monitor; the readers and cards present now are posted before it
        returns (unless pcscd does not answer within :data:`FIRST_REPORT_S`)."""
        if self._thread is not None:
            return self
        self._stop.clear()
        self._reported.clear()
        self._thread = threading.Thread(target=self._run, name="card-events", daemon=True)
        self._thread.start()
        self._reported.wait(FIRST_REPORT_S)
        return self

    def stop(self) -> None:
        """End the monitor thread: no event is posted once this returns."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        end = time.monotonic() + STOP_S
        # a cancel that lands between two SCardGetStatusChange calls is lost: repeat it
        while thread.is_alive() and time.monotonic() < end:
            self._cancel()
            thread.join(0.05)
        if thread.is_alive():
            log.warning("card event monitor did not stop within %.0f s", STOP_S)

    def __enter__(self) -> ReaderEvents:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the monitor thread --------------------------------------------------------------

    def _cancel(self) -> None:
        from smartcard import scard  # pyscard: loaded only where a monitor runs

        with self._ctx_lock:
            if self._ctx is not None:
                scard.SCardCancel(self._ctx)

    def _run(self) -> None:
        from smartcard import scard  # pyscard: loaded only where a monitor runs

        readers: dict[str, _Reader] = {}
        down_logged = False
        try:
            while not self._stop.is_set():
                hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
                if hresult != scard.SCARD_S_SUCCESS:
                    if not down_logged:
                        log.warning("card events: pcscd not available (%s); waiting for it",
                                    scard.SCardGetErrorMessage(hresult))
                        down_logged = True
                    self._reported.set()
                    self._stop.wait(self.reader_poll_s)
                    continue
                down_logged = False
                with self._ctx_lock:
                    self._ctx = ctx
                try:
                    self._watch(scard, ctx, readers)
                finally:
                    with self._ctx_lock:
                        self._ctx = None
                    scard.SCardReleaseContext(ctx)
                for reader in readers.values():
                    reader.state = scard.SCARD_STATE_UNAWARE  # a new context: ask afresh
        except Exception:
            log.exception("card event monitor failed")
        finally:
            self._reported.set()

    def _watch(self, sc, ctx: int, readers: dict[str, _Reader]) -> None:  # noqa: ANN001
        """Report changes until stopped or the context is lost (pcscd went away)."""
        lost = (sc.SCARD_E_NO_SERVICE, sc.SCARD_E_SERVICE_STOPPED, sc.SCARD_E_INVALID_HANDLE)
        wait_ms = max(1, int(self.reader_poll_s * 1000))
        while not self._stop.is_set():
            hresult, names = sc.SCardListReaders(ctx, [])
            if hresult == sc.SCARD_E_NO_READERS_AVAILABLE:
                names = []
            elif hresult in lost:
                return
            elif hresult != sc.SCARD_S_SUCCESS:
                log.warning("card events: listing readers failed: %s",
                            sc.SCardGetErrorMessage(hresult))
                self._stop.wait(self.reader_poll_s)
                continue
            self._readers_changed([str(n) for n in names if self._wanted(str(n))], readers)
            if not readers:
                self._reported.set()
                self._stop.wait(self.reader_poll_s)
                continue
            hresult, states = sc.SCardGetStatusChange(
                ctx, wait_ms, [(name, reader.state) for name, reader in readers.items()])
            if hresult in lost:
                return
            if hresult == sc.SCARD_S_SUCCESS:
                self._cards_changed(sc, states, readers)
            elif hresult not in (sc.SCARD_E_TIMEOUT, sc.SCARD_E_CANCELLED,
                                 sc.SCARD_E_UNKNOWN_READER, sc.SCARD_E_READER_UNAVAILABLE):
                log.warning("card events: waiting for a change failed: %s",
                            sc.SCardGetErrorMessage(hresult))
                self._stop.wait(self.reader_poll_s)
            self._reported.set()

    def _readers_changed(self, names: list[str], readers: dict[str, _Reader]) -> None:
        now = time.monotonic()
        for name in [n for n in readers if n not in names]:
            if readers.pop(name).atr is not None:
                self._post({"type": "card_removed", "reader": name, "t": now})
            self._post({"type": "reader_removed", "reader": name, "t": now})
        for name in names:
            if name not in readers:
                readers[name] = _Reader()
                self._post({"type": "reader_added", "reader": name, "t": now})

    def _cards_changed(self, sc, states: list, readers: dict[str, _Reader]) -> None:  # noqa: ANN001
        now = time.monotonic()
        for name, event_state, atr in states:
            reader = readers.get(str(name))
            if reader is None:
                continue
            reader.state = event_state & ~sc.SCARD_STATE_CHANGED
            present = bool(event_state & sc.SCARD_STATE_PRESENT) and not (
                event_state & sc.SCARD_STATE_MUTE)
            card = bytes(atr) if present and atr else None
            if reader.atr is not None and card != reader.atr:  # pulled, or swapped unseen
                reader.atr = None
                self._post({"type": "card_removed", "reader": str(name), "t": now})
            if card is not None and reader.atr is None:
                reader.atr = card
                event = {"type": "card_inserted", "reader": str(name),
                         "atr": card.hex().upper(), "t": now}
                if is_contactless(str(name), card):
                    event["unsupported"] = "contactless"
                self._post(event)
