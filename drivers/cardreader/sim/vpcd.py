"""A virtual card plugged into pcscd through the vsmartcard vpcd reader driver.

vpcd (``libifdvpcd.so``) is the TCP *server*: it listens on the port in its reader.conf
(35963 for "Virtual PCD 00 00", +1 for "00 01") and a virtual card connects as the client.
Every frame either way is a 2-byte big-endian length and a payload. vpcd sends 1-byte
control payloads, ``00`` power off, ``01`` power on, ``02`` reset (no answer to these three)
and ``04`` get ATR (answered with the ATR), and longer payloads are C-APDUs answered with
the R-APDU. vpcd asks for the ATR at each presence poll (~400 ms), accepts a waiting card
there too, and sees a closed connection as the card leaving the reader.

vpcd's server binds INADDR_ANY (vsmartcard's vpcd.c ``opensock``) and its "reversed" mode
(DEVICENAME ``HOST:PORT``, vpcd connecting to the card) cannot report a removed card with
the vpcd Debian ships (virtualsmartcard 0.8: ``vicc_connect`` then calls ``select`` on
fd -1 and pcscd aborts; fixed upstream in 0.9, and ``connectsock`` still returns a closed
descriptor when the card refuses). So kiosk_drivers.cardreader.sim.pcscd gives pcscd a network
namespace of its own whose only interface is loopback, and the card connects from inside
it: ``netns`` (default ``$VPCD_NETNS``, which PrivatePcscd sets) names that
namespace, and the connection is made by a short-lived thread that joined it (``setns``
moves only the calling thread; the socket stays in the namespace it was made in).

TCP_NODELAY and TCP_QUICKACK: vpcd writes the length and the APDU and waits for the
answer; without QUICKACK the kernel delays the ACK of what we received, and a round trip
through pcscd costs ~40 ms instead of a fraction of a millisecond. Linux clears QUICKACK
after use, so it is set again after every receive.

:class:`VpcdCard` is the in-process driver (a thread per inserted card), used by the
``kiosk sim card`` process (:mod:`kiosk.sim.card`) and by benchmarks directly.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import struct
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

VPCD_PORT = 35963
#: the network namespace pcscd (and so vpcd's listening socket) lives in, if not the host's
NETNS_ENV = "VPCD_NETNS"
CLONE_NEWNET = 0x40000000


def _setns(path: str) -> None:
    """Move the calling thread into the network namespace at ``path`` (needs CAP_SYS_ADMIN;
    an OSError otherwise, which the caller reports as vpcd not reachable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04


class SimulatedCard(Protocol):
    """What the vpcd side needs of a card (kiosk.sim.emvcard.VirtualCard has it)."""

    def atr(self) -> bytes: ...
    def reset(self) -> None: ...
    def process(self, apdu: bytes) -> bytes: ...


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class VpcdCard:
    """One vpcd slot. ``insert(card)`` connects the card to vpcd, ``remove()`` pulls it.

    ``hang_after``: after that many APDUs the card stops answering (a dead card), until
    it is removed. ``quickack=False`` leaves delayed ACKs on (to measure their cost).

    ``reinsert_gap_s``: an insert that follows a removal waits until this long after it.
    vpcd notices a pulled card only at its next presence poll (~400 ms), and a new card
    connecting before that poll takes the old one's place unseen: pcscd would go on
    reporting the old card and its ATR. Two polls' worth of empty slot avoid that.
    """

    reinsert_gap_s = 0.9

    def __init__(self, host: str = "127.0.0.1", port: int = VPCD_PORT, quickack: bool = True,
                 hang_after: int | None = None, netns: str | None = None) -> None:
        self.host, self.port = host, port
        self.netns = netns if netns is not None else os.environ.get(NETNS_ENV) or None
        self.quickack = quickack
        self.hang_after = hang_after
        self.card: SimulatedCard | None = None
        self.apdus = 0              # C-APDUs received while the current card is in
        self.powered = False
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._gone = threading.Event()
        self._removed_at = float("-inf")
        self.connected_at: float | None = None  # time.monotonic() of the last insert

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, card: SimulatedCard, timeout_s: float = 10.0) -> None:
        """Connect ``card`` to vpcd (retrying while vpcd is not listening yet)."""
        self.remove()
        gap = self._removed_at + self.reinsert_gap_s - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        end = time.monotonic() + timeout_s
        while True:
            try:
                sock = self._connect()
                break
            except OSError as exc:
                if time.monotonic() >= end:
                    raise ConnectionError(
                        f"vpcd not listening on {self.host}:{self.port}: {exc}") from None
                time.sleep(0.05)
        self.connected_at = time.monotonic()
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack(sock)
        with self._lock:
            self.card, self._sock, self.apdus, self.powered = card, sock, 0, False
            self._gone = threading.Event()
            self._thread = threading.Thread(target=self._serve, args=(sock, card, self._gone),
                                            name=f"vpcd-card-{self.port}", daemon=True)
            self._thread.start()

    def _connect(self) -> socket.socket:
        if not self.netns:
            return socket.create_connection((self.host, self.port), timeout=2)
        out: list[socket.socket | BaseException] = []

        def inside() -> None:  # this thread alone joins pcscd's network namespace
            try:
                _setns(self.netns or "")
                out.append(socket.create_connection((self.host, self.port), timeout=2))
            except BaseException as exc:  # handed to the caller
                out.append(exc)

        thread = threading.Thread(target=inside, name="vpcd-netns-connect", daemon=True)
        thread.start()
        thread.join()
        if isinstance(out[0], BaseException):
            raise out[0]
        return out[0]

    def remove(self) -> None:
        """Pull the card: close the connection (vpcd sees it at its next poll, or at once
        if a command is waiting for the answer)."""
        with self._lock:
            sock, thread, self._sock, self._thread = self._sock, self._thread, None, None
            self._gone.set()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            self._removed_at = time.monotonic()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    close = remove

    def _quickack(self, sock: socket.socket) -> None:
        if self.quickack and hasattr(socket, "TCP_QUICKACK"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)  # one segment

    def _serve(self, sock: socket.socket, card: SimulatedCard, gone: threading.Event) -> None:
        try:
            while True:
                head = _recv_exact(sock, 2)
                self._quickack(sock)
                if head is None:
                    break
                (size,) = struct.unpack(">H", head)
                payload = _recv_exact(sock, size) if size else b""
                self._quickack(sock)
                if payload is None:
                    break
                if len(payload) == 1:
                    self._control(sock, card, payload[0])
                    continue
                self.apdus += 1
                if self.hang_after is not None and self.apdus > self.hang_after:
                    gone.wait()  # a dead card: never answers, until pulled
                    break
                try:
                    rapdu = card.process(payload)
                except Exception:  # a card bug answers like a confused card, not a hang
                    log.exception("virtual card failed on an APDU")
                    rapdu = b"\x6f\x00"
                self._send(sock, rapdu)
        except OSError as exc:
            if not gone.is_set():
                log.debug("vpcd connection ended: %s", exc)

    def _control(self, sock: socket.socket, card: SimulatedCard, code: int) -> None:
        if code == CTRL_ATR:
            self._send(sock, card.atr())
        elif code in (CTRL_ON, CTRL_RESET):
            card.reset()
            self.powered = True
        elif code == CTRL_OFF:
            self.powered = False
        else:
            log.warning("vpcd sent unknown control byte %02X", code)
