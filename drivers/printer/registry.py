"""Printer transports by name: the entry-point group ``kiosk.printer_transports``.

Like gpiozero's pin factories, a transport is found by the name the configuration
gives (``printer.transport``); a package that registers a :class:`Transport` subclass
under this group adds a transport without a change here. The built-in ones
(``serial``, ``usb``, ``network``, ``file``) register the same way in pyproject.toml.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk_drivers.printer.transport import Transport

GROUP = "kiosk.printer_transports"


@lru_cache(maxsize=1)
def transport_names() -> tuple[str, ...]:
    """The names of the installed transports, sorted."""
    return tuple(sorted({ep.name for ep in entry_points(group=GROUP)}))


def load_transport(name: str) -> type[Transport]:
    """The transport class registered as ``name``; ValueError (one line) when there is none."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise ValueError(f"unknown printer transport {name!r} (installed: "
                         f"{', '.join(transport_names()) or 'none'})")
    return found[0].load()
