"""ESC/POS over TCP, the raw port 9100 of a network printer: transport ``network``.

``printer.port`` is ``host`` or ``host:port`` (``[v6 address]:port``); the port defaults to
9100, as python-escpos's ``Network``. Connecting and every write are bounded by
``write_timeout_s``; a printer that does not answer status queries on the socket
prints with its status unknown.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from kiosk_drivers.printer.transport import PrinterFault, Transport

if TYPE_CHECKING:
    from kiosk_drivers.printer.config import PrinterConfig

DEFAULT_PORT = 9100


def parse_address(text: str) -> tuple[str, int]:
    """(host, port) of ``host``, ``host:port`` or ``[v6]:port``; ValueError when malformed."""
    host, port = text.strip(), DEFAULT_PORT
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise ValueError(f"printer address {text!r}: missing ']'")
        rest, host = host[end + 1:], host[1:end]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"printer address {text!r}: expected ]:port")
            port = _port(rest[1:], text)
    elif host.count(":") == 1:
        host, _, tail = host.partition(":")
        port = _port(tail, text)
    if not host:
        raise ValueError(f"printer address {text!r}: no host")
    return host, port


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"printer address {whole!r}: port must be 1-65535")
    return int(text)


class NetworkTransport(Transport):
    name = "network"

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        self.sock: socket.socket | None = None

    def open(self) -> None:
        try:
            host, port = parse_address(self.config.port)
        except ValueError as exc:
            raise PrinterFault("port_error", str(exc)) from None
        try:
            self.sock = socket.create_connection((host, port),
                                                 timeout=self.config.write_timeout_s)
        except TimeoutError:
            raise PrinterFault("no_response", f"{host}:{port} did not accept a connection"
                               f" within {self.config.write_timeout_s} s") from None
        except OSError as exc:
            raise PrinterFault("port_error", f"{host}:{port}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_WR)  # the printer sees the end of the job
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def _write(self, data: bytes) -> None:
        assert self.sock is not None, "transport not open"
        self.sock.settimeout(self.config.write_timeout_s)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise PrinterFault("write_timeout",
                               f"no progress for {self.config.write_timeout_s} s") from None
        except OSError as exc:
            raise PrinterFault("port_error", exc.strerror or str(exc)) from None

    def _read(self, n: int, timeout: float) -> bytes:
        assert self.sock is not None, "transport not open"
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(n)
        except TimeoutError:
            return b""

    def _discard_input(self) -> None:
        assert self.sock is not None, "transport not open"
        self.sock.setblocking(False)
        try:
            while self.sock.recv(4096):
                pass
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
