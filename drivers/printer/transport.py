"""How bytes travel to an ESC/POS printer: the transport base class and the serial transport.

A transport is a plug-in (entry-point group ``kiosk.printer_transports``, see
:mod:`kiosk_drivers.printer.registry`), picked by name in the printer config
(``printer.transport``); *what* is printed is built elsewhere, as python-escpos
separates its printer class from its transports. The built-in ones are ``serial``
(here), ``usb`` (:mod:`~kiosk_drivers.printer.usblp`), ``network``
(:mod:`~kiosk_drivers.printer.network`) and ``file`` (:mod:`~kiosk_drivers.printer.file`).

The printer must never hang a checkout. Data goes out in chunks of whole segments;
after each chunk the real-time status (DLE EOT 1-4) is read back, which also paces
the host to the printer: the answer arrives once the printer has taken in everything
before it. A write that makes no progress, a status that does not come back, paper
out, cover open or an offline printer raise :class:`PrinterFault` with a reason code;
nothing here blocks for longer than the configured timeouts. A transport whose device
may not answer status queries at all (a USB printer-class device, a network printer,
a file) reports the status as unknown (``None``) once the device stayed silent.

The serial transport is our own over pyserial (not python-escpos's ``Serial``): the
port is opened with hardware / software flow control from config (``rtscts``,
``xonxoff``, ``dsrdtr``), a ``write_timeout`` and ``exclusive=True`` (a second
process, e.g. ``kiosk receipt reprint`` while the core prints, gets a clear "busy"
instead of interleaved bytes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

from kiosk_drivers.printer.status import QUERIES, PrinterStatus, query, valid_status_byte
from kiosk_drivers.serialport import SerialPortError, close_serial, open_serial

if TYPE_CHECKING:
    import serial
    from kiosk_drivers.printer.config import PrinterConfig

log = logging.getLogger(__name__)

#: Epson "DLE DC4 fn=8: clear buffers" (real-time; printers before TM-T88V ignore it)
CLEAR_BUFFERS = bytes((0x10, 0x14, 0x08, 1, 3, 20, 1, 6, 2, 8))
BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit


class PrinterFault(Exception):
    """The printer cannot print now; ``reason`` is a short code for the journal and UI."""

    def __init__(self, reason: str, detail: str = "", status: PrinterStatus | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.status = status


def wire_seconds(nbytes: int, baudrate: int) -> float:
    """Time to send ``nbytes`` at ``baudrate`` with 8N1 framing."""
    return nbytes * BITS_PER_BYTE / baudrate


def chunks(segments: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Join whole segments into chunks of at most ``limit`` bytes (a bigger segment alone)."""
    buf: list[bytes] = []
    size = 0
    for seg in segments:
        if buf and size + len(seg) > limit:
            yield b"".join(buf)
            buf, size = [], 0
        buf.append(seg)
        size += len(seg)
    if buf:
        yield b"".join(buf)


class Transport:
    """One open channel to an ESC/POS printer. Use as a context manager.

    A subclass opens and closes its device (:meth:`open`, :meth:`close`) and implements
    :meth:`_write` (all of the bytes, or PrinterFault), :meth:`_read` (up to ``n`` bytes
    within ``timeout``; ``b""`` when none came) and :meth:`_discard_input`.
    """

    #: the name it is registered under in ``kiosk.printer_transports``
    name: ClassVar[str] = ""
    #: a simulator says so; a production configuration refuses it
    simulated: ClassVar[bool] = False
    #: the printer must answer DLE EOT (a silent one is a fault, not "unknown")
    status_required: ClassVar[bool] = False

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self.bytes_sent = 0
        self._silent = False  # the device did not answer a status query: stop asking

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _read(self, n: int, timeout: float) -> bytes:
        raise NotImplementedError

    def _discard_input(self) -> None:
        raise NotImplementedError

    def answer_wait(self, nbytes: int) -> float:
        """How long to wait for a status answer with ``nbytes`` written just before."""
        return self.config.status_timeout_s

    # -- writing ---------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write all of ``data`` or raise PrinterFault('write_timeout' / 'port_error')."""
        self._write(data)
        self.bytes_sent += len(data)

    def send(self, segments: Iterable[bytes], check: bool | None = None) -> PrinterStatus | None:
        """Send segments in chunks, reading the status after each; returns the last status
        (None when the device does not report one).

        Raises PrinterFault as soon as the printer reports a fault or stops answering.
        """
        check = self.config.status_checks if check is None else check
        last: PrinterStatus | None = None
        for chunk in chunks(segments, self.config.chunk_bytes):
            self.write(chunk)
            if check:
                last = self.status(in_flight=len(chunk))
                if last is not None and last.fault:
                    raise PrinterFault(last.fault, "reported by the printer", last)
        return last

    def clear_printer_buffers(self) -> None:
        """Best effort: ask the printer to drop what it holds of an aborted job."""
        try:
            self.write(CLEAR_BUFFERS)
        except PrinterFault:
            pass

    # -- status ----------------------------------------------------------------------

    def status(self, in_flight: int = 0) -> PrinterStatus | None:
        """Query DLE EOT 1..4; ``in_flight`` bytes written just before delay the answer.

        None: the device does not answer status queries (status unknown), only where
        :attr:`status_required` is false.
        """
        if self._silent:
            return None
        request = b"".join(query(n) for n in QUERIES)
        wait = self.answer_wait(in_flight + len(request))
        try:
            self._discard_input()
            self.write(request)
            answer = self._read_exact(len(QUERIES), time.monotonic() + wait)
        except OSError as exc:
            raise PrinterFault("port_error", str(exc)) from None
        if not answer and not self.status_required:
            self._silent = True
            log.info("printer on %s %s does not answer status queries: status unknown",
                     self.name, self.config.port)
            return None
        if len(answer) < len(QUERIES):
            raise PrinterFault("no_response", f"{len(answer)} of {len(QUERIES)} status bytes"
                               f" within {wait:.2f} s")
        if not all(valid_status_byte(b) for b in answer):
            raise PrinterFault("bad_status", answer.hex(" "))
        return PrinterStatus.decode(*answer)

    def _read_exact(self, n: int, deadline: float) -> bytes:
        got = b""
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            part = self._read(n - len(got), left)
            if not part:
                break
            got += part
            # a valid status byte never has bit 7 or bit 0 set: drop stray leading bytes
            while got and not valid_status_byte(got[0]):
                got = got[1:]
        return got


class SerialTransport(Transport):
    """An ESC/POS printer on a serial port (``printer.port``: /dev/serial0, /dev/ttyUSB0)."""

    name = "serial"
    status_required = True

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        self.ser: serial.Serial | None = None

    def __enter__(self) -> SerialTransport:
        self.open()
        return self

    def open(self) -> None:
        cfg = self.config
        try:  # 8N1, the framing receipt printers use
            self.ser = open_serial(
                cfg.port, baudrate=cfg.baudrate, rtscts=cfg.rtscts, xonxoff=cfg.xonxoff,
                dsrdtr=cfg.dsrdtr, timeout=cfg.status_timeout_s,
                write_timeout=cfg.write_timeout_s)
        except SerialPortError as exc:
            raise PrinterFault("port_busy" if exc.busy else "port_error", str(exc)) from None

    def close(self) -> None:
        close_serial(self.ser)
        self.ser = None

    def _write(self, data: bytes) -> None:
        import serial

        assert self.ser is not None, "transport not open"
        try:
            self.ser.write(data)
        except serial.SerialTimeoutException:
            raise PrinterFault("write_timeout",
                               f"no progress for {self.config.write_timeout_s} s") from None
        except (serial.SerialException, OSError) as exc:
            raise PrinterFault("port_error", str(exc)) from None

    def _read(self, n: int, timeout: float) -> bytes:
        assert self.ser is not None, "transport not open"
        self.ser.timeout = timeout
        return self.ser.read(n)

    def _discard_input(self) -> None:
        assert self.ser is not None, "transport not open"
        self.ser.reset_input_buffer()

    def answer_wait(self, nbytes: int) -> float:
        return wire_seconds(nbytes, self.config.baudrate) + self.config.status_timeout_s
