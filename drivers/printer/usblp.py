"""ESC/POS over a USB printer-class character device (``/dev/usb/lp0``): transport ``usb``.

The kernel's usblp driver gives the printer as a character device: bytes written go
to the printer's bulk-out endpoint, and a bidirectional printer's answers (DLE EOT)
can be read back. It is opened non-blocking and locked (``flock``) so that a second
process gets "busy" instead of interleaved bytes; a write that makes no progress for
``write_timeout_s`` is a fault. A printer that does not answer status queries prints
with its status unknown.
"""

from __future__ import annotations

import fcntl
import os
import select
import time
from typing import TYPE_CHECKING

from kiosk_drivers.printer.transport import PrinterFault, Transport

if TYPE_CHECKING:
    from kiosk_drivers.printer.config import PrinterConfig


class UsbTransport(Transport):
    name = "usb"

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        self.fd: int | None = None

    def open(self) -> None:
        path = self.config.port
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise PrinterFault("port_error", f"{path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PrinterFault("port_busy", f"{path} is open in another process") from None
        self.fd = fd

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None

    def _write(self, data: bytes) -> None:
        assert self.fd is not None, "transport not open"
        view = memoryview(data)
        limit = self.config.write_timeout_s
        deadline = time.monotonic() + limit
        while view:
            try:
                sent = os.write(self.fd, view)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise PrinterFault("port_error", exc.strerror or str(exc)) from None
            if sent:
                view = view[sent:]
                deadline = time.monotonic() + limit  # progress: the timeout starts again
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise PrinterFault("write_timeout", f"no progress for {limit} s")
            select.select([], [self.fd], [], left)

    def _read(self, n: int, timeout: float) -> bytes:
        assert self.fd is not None, "transport not open"
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.fd, n)
        except OSError:  # EAGAIN, or EIO from a printer without a back channel: no answer
            return b""

    def _discard_input(self) -> None:
        assert self.fd is not None, "transport not open"
        for _ in range(64):  # bounded: a regular file standing in reads forever otherwise
            try:
                if not os.read(self.fd, 4096):
                    return
            except OSError:  # nothing to read, or no back channel at all
                return
