"""A TCP proxy between kiosk-sync and the back office that can cut a connection mid-stream:
N bytes from now towards the server (a request cut mid-batch: nothing committed) or towards the
lane (an answer cut after the commit: the lane resends a batch the server holds). It works
below TLS, as a cable pulled out does. The server's address may change (a restarted back
office on a new port): ``target`` is asked at each new connection."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable


class CutProxy:
    def __init__(self, target: Callable[[], int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.armed: dict[str, int | None] = {"up": None, "down": None}  # bytes from now
        self.hold_s: float | None = None  # hold the next request this long, then deliver it
        self.held = 0                     # requests delivered late (after the lane gave up)
        self._ended: dict[tuple, int] = {}  # connections by the ways closed cleanly
        self.cut_done = 0
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_next(self, direction: str, after_bytes: int) -> None:
        """Cut the connection that next carries ``after_bytes`` more bytes ``up`` (towards the
        server) or ``down`` (towards the lane)."""
        with self.lock:
            self.armed[direction] = after_bytes

    def hold_next(self, seconds: float) -> None:
        """Hold the next request towards the server ``seconds`` (longer than the lane's
        timeout: it gives up, asks the acked seq and sends the batch again), then deliver
        it: the same batch reaches the server twice."""
        with self.lock:
            self.hold_s = seconds

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target()), timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()  # the back office is down: the lane sees a refused link
                continue
            with self.lock:
                self.connections += 1
            pair = (client, server)
            threading.Thread(target=self._pump, args=(client, server, "up", pair),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "down", pair),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str,
              pair: tuple[socket.socket, socket.socket]) -> None:
        sent, limit = 0, None
        try:
            while True:
                data = src.recv(65536)
                if not data:  # a clean close: pass it on, let the other way finish
                    dst.shutdown(socket.SHUT_WR)
                    with self.lock:
                        self._ended[pair] = self._ended.get(pair, 0) + 1
                        if self._ended.pop(pair) < 2:
                            self._ended[pair] = 1
                            return
                    break
                with self.lock:
                    if limit is None and self.armed[direction] is not None:
                        limit, self.armed[direction] = sent + self.armed[direction], None
                    # a request with a batch (TLS hides it: a record larger than a
                    # handshake or a GET)
                    hold = None
                    if direction == "up" and self.hold_s is not None and len(data) > 1000:
                        hold, self.hold_s = self.hold_s, None
                if hold is not None:
                    time.sleep(hold)
                    with self.lock:
                        self.held += 1
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[:max(0, limit - sent)])
                    with self.lock:
                        self.cut_done += 1
                    limit = None
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:  # this connection ended before the cut it took (a late answer to a lane
            with self.lock:  # that had given up on it): the next connection takes the cut
                if limit is not None and self.armed[direction] is None:
                    self.armed[direction] = max(1, limit - sent)
        for sock in pair:  # one side ends: the whole connection ends, as a cut cable
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
