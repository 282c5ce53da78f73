"""The simulated device's end of a pty pair (:mod:`.pty`): opened raw and non-blocking, served
by a thread until stopped.

A simulator (printer, scale) subclasses :class:`PtyDevice`, names itself in :attr:`kind` and
writes :meth:`PtyDevice._run`, the loop of its thread, reading with :meth:`PtyDevice._read`
and answering with :meth:`PtyDevice._send`; starting, stopping and the context manager are
here, once.
"""

from __future__ import annotations

import logging
import os
import select
import termios
import threading
import time
import tty
from pathlib import Path
from typing import ClassVar, Self


class PtyDevice:
    """One simulated device on the device end of a pty pair. Use as a context manager."""

    #: what it simulates, for its thread's name and its log lines ("printer", "scale")
    kind: ClassVar[str] = "device"

    def __init__(self, device: str | Path) -> None:
        self.device = str(device)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._log = logging.getLogger(type(self).__module__)

    def start(self) -> Self:
        self._fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(self._fd)
        except termios.error:
            pass
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        """The thread's loop, until ``self._stop`` is set."""
        raise NotImplementedError

    def _read(self, limit: int, timeout: float) -> bytes | None:
        """Up to ``limit`` bytes that arrive within ``timeout`` (``b""`` when none did); None
        once the device end is closed (the loop ends)."""
        assert self._fd is not None
        try:
            ready, _, _ = select.select([self._fd], [], [], timeout)
        except (OSError, ValueError):
            return None
        if not ready:
            return b""
        try:
            data = os.read(self._fd, limit)
        except BlockingIOError:
            return b""
        except OSError as exc:  # the other end of the pty went away
            self._log.warning("%s simulator: read failed: %s", self.kind, exc)
            time.sleep(0.05)
            return b""
        if not data:
            time.sleep(0.01)
        return data

    def _send(self, data: bytes) -> None:
        """Write an answer to the host (a failed write is logged: the host went away)."""
        assert self._fd is not None
        try:
            os.write(self._fd, data)
        except OSError as exc:
            self._log.warning("%s simulator: cannot answer: %s", self.kind, exc)
