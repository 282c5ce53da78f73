"""A free TCP port on loopback for a server the project starts itself (the demo's and the
tests' private broker, a private PostgreSQL cluster, simulators, the benches).

The port is chosen below the kernel's ephemeral range (``ip_local_port_range``), where the
kernel never hands out a port of its own: between the choice and the server's bind, an
outgoing connection (a bus client, an HTTP request) cannot take it, only another process
choosing the same way, at random among some ten thousand ports. A caller still has to
expect a bind to fail (:class:`kiosk.bus.broker.PortTaken`, the cluster's retry).
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 10000  # below: well-known and registered services a machine may run


def _ephemeral_start() -> int:
    try:
        return int(PORT_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host`` now, outside the ephemeral range where it can
    be (if that range leaves room below it), else one the kernel picks."""
    top = _ephemeral_start()
    for _ in range(50):
        port = random.randrange(LOWEST, top) if top > LOWEST + 1000 else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError(f"no free TCP port on {host}")
