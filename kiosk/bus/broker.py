"""Start a private mosquitto on loopback when no broker is listening.

Used by ``kiosk run`` (the demo) and by the tests; on the device the system
mosquitto (its own systemd unit) is the broker.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


class BrokerError(RuntimeError):
    pass


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_PATHS if Path(p).exists()), None)
    if not found:
        raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
    return found


def start_private_broker(workdir: Path, port: int, host: str = "127.0.0.1") -> subprocess.Popen:
    """Run mosquitto bound to loopback only; returns once it accepts connections."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} {host}\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
        "max_packet_size 65536\n"
        "set_tcp_nodelay true\n"
    )
    log = (workdir / "mosquitto.log").open("ab")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not port_open(host, port):
        if proc.poll() is not None:
            raise BrokerError(f"mosquitto exited with {proc.returncode}, see {workdir}")
        if time.monotonic() > deadline:
            proc.kill()
            raise BrokerError("mosquitto did not start listening within 10 s")
        time.sleep(0.05)
    return proc
