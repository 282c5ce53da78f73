"""vpcd is out of reach of the network (issue 14, item 14): it binds INADDR_ANY, so pcscd
runs in a network namespace with loopback only; from the host, its ports refuse, on
loopback and on every other address of the machine, while the virtual card still reaches
it from inside (kiosk_drivers.cardreader.sim.vpcd joins the namespace)."""

from __future__ import annotations

import socket

import pytest

from tests.cardsupport import READER0, wait_present

pytestmark = pytest.mark.card


def _addresses() -> list[str]:
    """This machine's IPv4 addresses (loopback and every interface's)."""
    import fcntl
    import struct

    out = ["127.0.0.1"]
    for _index, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915,  # SIOCGIFADDR
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # no IPv4 address
        out.append(socket.inet_ntoa(packed[20:24]))
    return out


def test_vpcd_refuses_from_outside_its_namespace_and_the_card_still_connects(pcscd, vcard):
    assert pcscd.netns, "pcscd has no network namespace of its own here"
    for addr in _addresses():
        for port in (pcscd.port, pcscd.port + 1):
            with pytest.raises(OSError):
                socket.create_connection((addr, port), timeout=2).close()
    from kiosk.sim.emvcard import make_card

    vcard.insert(make_card("visa"))
    wait_present(READER0, True)
