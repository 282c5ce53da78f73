"""The scale simulator (``kiosk sim scale``): a scale on a pseudo-terminal speaking both
protocols the driver has.

It opens the scale end of a pty pair (:func:`kiosk_drivers.sim.pty.start_pty_pair`)
and answers each request as it arrives, in the protocol the request is in: ``W`` / ``Z``
(Mettler Toledo 8217) or ``S11`` / ``S14`` / ``S334`` + CR (Magellan). The frames are
written here from the protocols' specifications, not with the driver's code, so a test
through the pty checks one against the other.

What it weighs is set from the test or the control channel (:mod:`.control`):
:meth:`ScaleSimulator.set_weight` / :meth:`add` (with a settling time during which it reports
motion, as a real platter does while a load comes to rest), forced motion, over capacity,
under zero, not ready, silence (it stops answering), and noise: each settled reading is the
load plus a uniform integer jitter of up to ``noise_g`` grams from a seeded generator.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from kiosk_drivers.sim.device import PtyDevice

STX, CR = b"\x02", b"\r"
FAULTS = ("over_capacity", "under_zero", "not_ready")


class ScaleSimulator(PtyDevice):
    kind = "scale"

    def __init__(self, device: str | Path, *, capacity_g: int = 15_000, noise_g: int = 0,
                 seed: int = 0) -> None:
        super().__init__(device)
        self.capacity_g = capacity_g
        self.noise_g = noise_g
        self._rng = random.Random(seed)
        self._lock = threading.Condition()
        self._load_g = 0            # what lies on the platter
        self._zero_g = 0            # the load that reads as zero (after a zero command)
        self._motion_until = 0.0    # settling: motion until then (monotonic)
        self._motion = False        # forced motion
        self._fault: str | None = None
        self._silent = False
        self.requests = 0           # requests answered (or ignored while silent)
        self.protocols: set[str] = set()
        self._buf = b""

    # -- what it weighs (thread-safe) ------------------------------------------------

    def set_weight(self, grams: int, settle_s: float = 0.0) -> None:
        """Put ``grams`` on the platter; it reports motion for ``settle_s`` first."""
        with self._lock:
            self._load_g = grams
            self._motion_until = time.monotonic() + settle_s
            self._lock.notify_all()

    def add(self, delta_g: int, settle_s: float = 0.0) -> None:
        """Put ``delta_g`` more on the platter (negative: take it off)."""
        with self._lock:
            self.set_weight(self._load_g + delta_g, settle_s)

    @property
    def load_g(self) -> int:
        with self._lock:
            return self._load_g - self._zero_g

    def set_motion(self, on: bool = True) -> None:
        with self._lock:
            self._motion = on

    def set_fault(self, fault: str | None) -> None:
        """Force ``over_capacity``, ``under_zero`` or ``not_ready`` (None: clear)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (one of {', '.join(FAULTS)})")
        with self._lock:
            self._fault = fault

    def set_silent(self, silent: bool = True) -> None:
        """A scale that stops answering (unplugged, hung)."""
        with self._lock:
            self._silent = silent

    def set_noise(self, noise_g: int) -> None:
        with self._lock:
            self.noise_g = noise_g

    def zero(self) -> None:
        with self._lock:
            self._zero_g = self._load_g

    def wait_requests(self, count: int, timeout: float = 10) -> int:
        """Until ``count`` requests in all were received; the number so far."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.requests >= count, timeout):
                raise TimeoutError(f"{self.requests} of {count} scale requests in {timeout} s")
            return self.requests

    def state(self) -> dict:
        """What it would answer now, for the control channel's ``status``."""
        with self._lock:
            kind, grams = self._now()
            return {"answer": kind, "weight_g": grams, "load_g": self._load_g - self._zero_g,
                    "silent": self._silent, "requests": self.requests}

    def _now(self) -> tuple[str, int | None]:
        """(status, grams) of a reading taken now (lock held)."""
        net = self._load_g - self._zero_g
        if self._fault:
            return self._fault, None
        if net > self.capacity_g:
            return "over_capacity", None
        if self._motion or time.monotonic() < self._motion_until:
            return "motion", None
        if self.noise_g and net:
            net += self._rng.randint(-self.noise_g, self.noise_g)
        if net < 0:
            return "under_zero", None
        return "stable", net

    # -- the protocols ---------------------------------------------------------------

    def _toledo(self, command: bytes) -> bytes:
        if command == b"Z":
            self.zero()
        kind, grams = self._now()
        if kind == "stable" and command == b"W" and grams:
            return STX + f"{grams // 1000:02d}.{grams % 1000:03d}".encode() + CR
        status = 0x60 | {"motion": 0x01, "over_capacity": 0x02, "under_zero": 0x04,
                         "not_ready": 0x08, "stable": 0x10}[kind]
        return STX + b"?" + bytes((status,)) + CR

    def _magellan(self, command: bytes) -> bytes | None:
        if command == b"S334":
            self.zero()
        elif command not in (b"S11", b"S14"):
            return None  # not a scale command: the scanner ignores it
        kind, grams = self._now()
        if kind == "stable" and grams and command == b"S11":
            return f"S11{grams:05d}".encode() + CR
        if kind == "stable":
            return (f"S144{grams:05d}" if grams else "S143").encode() + CR
        code = {"not_ready": 0, "motion": 1, "over_capacity": 2, "under_zero": 5}[kind]
        return f"S14{code}".encode() + CR

    def _answer(self, data: bytes) -> list[bytes]:
        """Requests complete in the buffer → answers (lock held)."""
        self._buf += data
        out: list[bytes] = []
        while self._buf:
            head = self._buf[:1]
            if head in (b"W", b"Z"):
                self._buf = self._buf[1:]
                self.requests += 1
                self.protocols.add("mettler8217")
                if not self._silent:
                    out.append(self._toledo(head))
            elif head == b"S":
                end = self._buf.find(CR)
                if end < 0:
                    if len(self._buf) > 16:
                        self._buf = b""  # garbage that never ends
                    break
                command, self._buf = self._buf[:end], self._buf[end + 1:]
                self.requests += 1
                self.protocols.add("magellan")
                answer = None if self._silent else self._magellan(command)
                if answer:
                    out.append(answer)
            else:
                self._buf = self._buf[1:]  # line noise, CR/LF after a command
        self._lock.notify_all()
        return out

    # -- the loop ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self._read(256, 0.05)
            if data is None:
                break
            if not data:
                continue
            with self._lock:
                answers = self._answer(bytes(b & 0x7F for b in data))  # 7-bit characters
            for answer in answers:
                self._send(answer)
