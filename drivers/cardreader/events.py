"""Reader and card events from pyscard's ReaderMonitor and CardMonitor.

The observers only turn pyscard's notifications into small dicts and hand them to a
callback (typically ``queue.put`` of the core's inbox); they never run the payment flow,
which would hold up pyscard's monitor thread and delay the card-removed event.

Events (``t`` is time.monotonic() when the observer ran)::

    {"type": "reader_added" | "reader_removed", "reader": name, "t": t}
    {"type": "card_inserted", "reader": name, "atr": "3B...", "t": t}
         + "unsupported": "contactless" for a contactless reader or card
    {"type": "card_removed", "reader": name, "t": t}

pcscd reports a card present only when it polls the reader (about every 400 ms with
vpcd), so ``t`` of card_inserted is "detected", not "inserted".
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from kiosk_drivers.cardreader.atr import is_contactless

log = logging.getLogger(__name__)


def _card_monitor():
    """pyscard's CardMonitor, with its process-wide monitoring thread running. That thread
    ends for good when pcscd goes away (SCARD_E_NO_SERVICE); start a new one then, so
    ReaderEvents started after a pcscd restart sees cards again."""
    from smartcard.CardMonitoring import CardMonitor, CardMonitoringThread

    monitor = CardMonitor()
    thread = CardMonitoringThread.instance
    if thread is not None and not thread.is_alive():
        with CardMonitoringThread.lock:
            CardMonitoringThread.instance = None
        monitor.instance.rmthread = CardMonitoringThread(monitor.instance)
    return monitor


def _still_there(reader: str, atr: bytes) -> bool:
    """pcscd reports this very card (same ATR) in ``reader`` now."""
    from kiosk_drivers.cardreader.channel import reader_state
    from kiosk_drivers.cardreader.errors import CardError

    try:
        present, current = reader_state(reader)
    except CardError:
        return False
    return present and current == atr


class ReaderEvents:
    """Start with :meth:`start`, stop with :meth:`stop` (also a context manager).
    ``reader_pattern`` (a regular expression) limits events to matching readers."""

    def __init__(self, callback: Callable[[dict], None], reader_pattern: str = "",
                 reader_poll_s: float = 1.0) -> None:
        self.callback = callback
        self.pattern = re.compile(reader_pattern) if reader_pattern else None
        self.reader_poll_s = reader_poll_s
        self._reader_monitor = None
        self._card_monitor = None
        self._reader_observer = None
        self._card_observer = None

    def _wanted(self, reader: str) -> bool:
        return self.pattern is None or bool(self.pattern.search(reader))

    def _post(self, event: dict) -> None:
        try:
            self.callback(event)
        except Exception:  # a broken consumer must not kill pyscard's monitor thread
            log.exception("card event consumer failed on %s", event.get("type"))

    def start(self) -> ReaderEvents:
        from smartcard.CardMonitoring import CardObserver
        from smartcard.ReaderMonitoring import ReaderMonitor, ReaderObserver

        events = self

        class _Readers(ReaderObserver):
            def update(self, observable, handlers) -> None:
                now = time.monotonic()
                added, removed = handlers
                for reader in added:
                    if events._wanted(str(reader)):
                        events._post({"type": "reader_added", "reader": str(reader), "t": now})
                for reader in removed:
                    if events._wanted(str(reader)):
                        events._post({"type": "reader_removed", "reader": str(reader),
                                      "t": now})

        class _Cards(CardObserver):
            # pyscard's card monitor is process-wide: a new observer is first told the
            # cards of the monitor's LAST poll, which may be stale (a card pulled since),
            # so that first list is checked against pcscd now. Removals are reported only
            # for cards this observer announced.
            def __init__(self) -> None:
                super().__init__()
                self.initial = True  # until addObserver has replayed the monitor's list
                self.announced: set[tuple[str, bytes]] = set()

            def update(self, observable, handlers) -> None:
                now = time.monotonic()
                added, removed = handlers
                for card in removed:
                    key = (str(card.reader), bytes(card.atr))
                    if key in self.announced:
                        self.announced.discard(key)
                        events._post({"type": "card_removed", "reader": key[0], "t": now})
                for card in added:
                    reader, atr = str(card.reader), bytes(card.atr)
                    if not events._wanted(reader):
                        continue
                    if self.initial and not _still_there(reader, atr):
                        log.debug("%s: card %s of the monitor's last poll is gone", reader,
                                  atr.hex().upper())
                        continue
                    self.announced.add((reader, atr))
                    event = {"type": "card_inserted", "reader": reader,
                             "atr": atr.hex().upper(), "t": now}
                    if is_contactless(reader, atr):
                        event["unsupported"] = "contactless"
                    events._post(event)

        self._reader_monitor = ReaderMonitor(period=self.reader_poll_s)
        self._reader_observer = _Readers()
        self._reader_monitor.addObserver(self._reader_observer)
        self._card_monitor = _card_monitor()
        self._card_observer = _Cards()
        try:
            self._card_monitor.addObserver(self._card_observer)
        finally:
            self._card_observer.initial = False
        return self

    def stop(self) -> None:
        """Remove the observers (pyscard's card monitor thread is process-wide and stays)."""
        if self._card_monitor is not None:
            self._card_monitor.deleteObserver(self._card_observer)
            self._card_monitor = None
        if self._reader_monitor is not None:
            self._reader_monitor.deleteObserver(self._reader_observer)
            self._reader_monitor = None

    def __enter__(self) -> ReaderEvents:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
