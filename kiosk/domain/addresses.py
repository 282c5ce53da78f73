"""Whether a host is this machine: the one rule behind "plain text only to loopback".

Every link that may go without TLS (the acquirer simulator, the back office's and the
e-receipt server's plain HTTP, a restore from a test back office) allows it only when the
host is loopback: ``localhost`` (RFC 6761 reserves it), an address in 127.0.0.0/8 or
``::1``, bracketed or not. A name is never resolved here: ``pos.local`` is not loopback
even when a hosts file says so.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """True if ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    if host.lower() == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):  # an IPv6 address as a URL writes it
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
