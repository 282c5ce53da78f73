"""A test stand-in for systemd's notification socket: a bound AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid
from pathlib import Path


class NotifyListener:
    """Receives sd_notify datagrams on a path socket or an abstract-namespace name."""

    def __init__(self, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._dir: str | None = None
        if abstract:
            name = f"kiosk-test-notify-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:  # a short directory: AF_UNIX paths are limited to 107 bytes
            self._dir = tempfile.mkdtemp(prefix="kn-")
            path = str(Path(self._dir) / "notify")
            self.sock.bind(path)
            self.address = path
        self.received: list[tuple[float, str]] = []

    def close(self) -> None:
        self.sock.close()
        if self._dir:
            Path(self.address).unlink(missing_ok=True)
            os.rmdir(self._dir)

    def __enter__(self) -> NotifyListener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def recv(self, timeout: float) -> str | None:
        """One datagram, or None when none arrives within ``timeout`` seconds."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return None
        msg = data.decode()
        self.received.append((time.monotonic(), msg))
        return msg

    def wait_for(self, line: str, timeout: float, count: int = 1) -> list[str]:
        """Receive until ``count`` datagrams containing ``line`` arrived; all seen, in order."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        hits = 0
        while hits < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{hits}/{count} datagrams with {line!r}; got {seen!r}")
            msg = self.recv(left)
            if msg is None:
                continue
            seen.append(msg)
            if line in msg.split("\n"):
                hits += 1
        return seen

    def drain(self) -> list[str]:
        out = []
        while (msg := self.recv(0.001)) is not None:
            out.append(msg)
        return out
