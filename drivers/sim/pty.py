"""A pseudo-terminal pair joined by socat: the host end for the driver, the other for a simulator.

``socat -d -d pty,raw,echo=0,link=HOST pty,raw,echo=0,link=DEVICE`` makes two ptys in raw
mode (no echo, no line editing, no CR/LF translation: binary data such as ESC/POS passes
unchanged) and copies bytes between them. The driver opens ``HOST`` exactly as it would open
``/dev/ttyUSB0``; the simulator (printer, scale) opens ``DEVICE``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class PtyError(RuntimeError):
    pass


@dataclass
class PtyPair:
    host: Path
    device: Path
    proc: subprocess.Popen

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def socat_binary() -> str:
    found = shutil.which("socat") or next(
        (p for p in ("/usr/bin/socat", "/bin/socat") if Path(p).exists()), None)
    if not found:
        raise PtyError("socat is not installed (apt-get install socat)")
    return found


def start_pty_pair(host_link: Path, device_link: Path, log_path: Path | None = None,
                   timeout: float = 10) -> PtyPair:
    """Start socat and wait until both links exist; the caller closes the pair."""
    for link in (host_link, device_link):
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and str(link.readlink()).startswith("/dev/pts/"):
            link.unlink()  # a stale link of an earlier pair
        elif link.is_symlink() or link.exists():
            raise PtyError(f"{link} exists and is not a pty link: not replacing it")
    log = log_path.open("ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [socat_binary(), "-d", "-d", f"pty,raw,echo=0,link={host_link}",
         f"pty,raw,echo=0,link={device_link}"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not (host_link.exists() and device_link.exists()):
        if proc.poll() is not None:
            raise PtyError(f"socat exited with {proc.returncode}")
        if time.monotonic() > deadline:
            proc.kill()
            raise PtyError("socat did not create the pty links in time")
        time.sleep(0.02)
    return PtyPair(host_link, device_link, proc)
