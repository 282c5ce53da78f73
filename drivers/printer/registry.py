"""Printer transports by name: the entry-point group ``kiosk.printer_transports``.

Like gpiozero's pin factories, a transport is found by the name the configuration
gives (``printer.transport``); a package that registers a :class:`Transport` subclass
under this group adds a transport without a change here. The built-in ones
(``serial``, ``usb``, ``network``, ``file``) register the same way in pyproject.toml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk_drivers.plugins import load_class, names

if TYPE_CHECKING:
    from kiosk_drivers.printer.transport import Transport

GROUP = "kiosk.printer_transports"


def transport_names() -> tuple[str, ...]:
    """The names of the installed transports, sorted."""
    return names(GROUP)


def load_transport(name: str) -> type[Transport]:
    """The transport class registered as ``name``; ValueError (one line) when there is none
    or it is broken."""
    from kiosk_drivers.printer.transport import Transport

    return load_class(GROUP, name, Transport, "printer transport")
