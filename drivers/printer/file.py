"""ESC/POS bytes written to a file: transport ``file`` (as python-escpos's ``File``).

``printer.port`` is the file; each job is appended to it. Nothing answers status
queries, so the status is unknown. For a printer device node that is read back, use
the ``usb`` transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from kiosk_drivers.printer.status import PrinterStatus
from kiosk_drivers.printer.transport import PrinterFault, Transport

if TYPE_CHECKING:
    from kiosk_drivers.printer.config import PrinterConfig


class FileTransport(Transport):
    name = "file"

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        self.fh: BinaryIO | None = None

    def open(self) -> None:
        try:
            self.fh = open(self.config.port, "ab")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise PrinterFault("port_error",
                               f"{self.config.port}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.fh is not None:
            try:
                self.fh.close()
            except OSError:
                pass
            self.fh = None

    def _write(self, data: bytes) -> None:
        assert self.fh is not None, "transport not open"
        try:
            self.fh.write(data)
            self.fh.flush()
        except OSError as exc:
            raise PrinterFault("port_error", exc.strerror or str(exc)) from None

    def status(self, in_flight: int = 0) -> PrinterStatus | None:
        return None  # a file does not answer
