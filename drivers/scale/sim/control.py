"""The simulator's control channel: one command a line, on a Unix socket (or stdin).

``kiosk sim scale`` listens on ``<scale end>.ctl``; ``socat - UNIX-CONNECT:<path>`` or a test
sends lines and reads one JSON answer a line::

    weight 1234 [settle_ms]   put 1234 g on the platter (motion while it settles)
    add -250 [settle_ms]      put on (or take off) that much
    motion on|off             force motion          over on|off     over capacity
    under on|off              under zero            notready on|off not ready
    silent on|off             stop answering        noise 3         +-3 g on settled readings
    zero                      zero the scale        status          what it would answer now
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

from kiosk_drivers.scale.sim.simulator import ScaleSimulator

_FAULT_WORDS = {"over": "over_capacity", "under": "under_zero", "notready": "not_ready"}


def handle(sim: ScaleSimulator, line: str) -> dict:
    """Carry out one control line; the answer (``ok`` false with ``error`` for a bad one)."""
    words = line.split()
    if not words:
        return {"ok": False, "error": "empty line"}
    verb, args = words[0].lower(), words[1:]
    try:
        if verb in ("weight", "add") and 1 <= len(args) <= 2:
            grams, settle = int(args[0]), int(args[1]) / 1000 if len(args) == 2 else 0.0
            if settle < 0:
                raise ValueError("settle_ms must not be negative")
            (sim.set_weight if verb == "weight" else sim.add)(grams, settle)
        elif verb in ("motion", "silent", *_FAULT_WORDS) and args in (["on"], ["off"]):
            on = args[0] == "on"
            if verb == "motion":
                sim.set_motion(on)
            elif verb == "silent":
                sim.set_silent(on)
            else:
                sim.set_fault(_FAULT_WORDS[verb] if on else None)
        elif verb == "noise" and len(args) == 1 and int(args[0]) >= 0:
            sim.set_noise(int(args[0]))
        elif verb == "zero" and not args:
            sim.zero()
        elif verb != "status" or args:
            return {"ok": False, "error": f"unknown command {line.strip()[:40]!r}"}
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, **sim.state()}


class ControlServer:
    """Serve :func:`handle` on a Unix socket (mode 0600) until :meth:`close`."""

    def __init__(self, sim: ScaleSimulator, path: Path) -> None:
        self.sim, self.path = sim, Path(path)
        if self.path.is_socket():
            self.path.unlink()  # a stale socket of an earlier run
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.sock.bind(str(self.path))
        finally:
            os.umask(old)
        self.sock.listen(4)
        self._thread = threading.Thread(target=self._serve, name="scale-sim-ctl", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace")[:200]
                stream.write(json.dumps(handle(self.sim, line)).encode() + b"\n")
                stream.flush()

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
