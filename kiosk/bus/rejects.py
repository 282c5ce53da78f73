"""Rejected bus messages: counted per topic and reason, logged rate-limited.

A flood of bad messages must not flood the log: for each (topic, reason) the
first :data:`LINES_PER_WINDOW` rejections of a window of :data:`WINDOW_S`
seconds are logged in full, the rest only counted, and when the window is over
one summary line says how many were suppressed. Every rejection is counted, for
the life of the process, in :attr:`RejectLog.counts` (the one place a status
message or an exporter reads them from).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

LINES_PER_WINDOW = 5
WINDOW_S = 60.0


@dataclass
class _Window:
    start: float
    logged: int = 0
    suppressed: int = 0


class RejectLog:
    """Thread-safe: paho's thread and a service's main loop may both report."""

    def __init__(self, log: logging.Logger, level: int = logging.WARNING,
                 lines_per_window: int = LINES_PER_WINDOW, window_s: float = WINDOW_S) -> None:
        self.log, self.level = log, level
        self.lines_per_window, self.window_s = lines_per_window, window_s
        self.counts: dict[str, dict[str, int]] = {}   # topic → reason → rejections
        self.changed = False                          # counts moved since last snapshot()
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    def reject(self, topic: str, reason: str, detail: str = "", level: int | None = None,
               now: float | None = None) -> None:
        """Count one rejected message; log it unless this window's lines are used up."""
        now = time.monotonic() if now is None else now
        with self._lock:
            per_topic = self.counts.setdefault(topic, {})
            per_topic[reason] = per_topic.get(reason, 0) + 1
            self.changed = True
            key = (topic, reason)
            window = self._windows.get(key)
            if window is not None and now - window.start >= self.window_s:
                self._summarize(key, window, now)
                window = None
            if window is None:
                window = self._windows[key] = _Window(now)
            if window.logged >= self.lines_per_window:
                window.suppressed += 1
                return
            window.logged += 1
        self.log.log(self.level if level is None else level, "rejected message on %s (%s)%s",
                     topic, reason, f": {detail}" if detail else "")

    def flush(self, now: float | None = None, force: bool = False) -> None:
        """Write the summary of every window that is over (call it now and then; with
        ``force``, of every window: on the way out)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for key, window in list(self._windows.items()):
                if force or now - window.start >= self.window_s:
                    self._summarize(key, window, now)
                    del self._windows[key]

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of the counts (and clears :attr:`changed`)."""
        with self._lock:
            self.changed = False
            return {topic: dict(reasons) for topic, reasons in self.counts.items()}

    def total(self) -> int:
        with self._lock:
            return sum(sum(reasons.values()) for reasons in self.counts.values())

    def _summarize(self, key: tuple[str, str], window: _Window, now: float) -> None:
        if window.suppressed:
            self.log.log(self.level, "rejected message on %s (%s): %d more in %.0f s not logged",
                         key[0], key[1], window.suppressed,
                         min(now - window.start, self.window_s))
