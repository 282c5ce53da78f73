"""Scale protocols by name: the entry-point group ``kiosk.scale_protocols``.

Like the printer transports (:mod:`kiosk_drivers.printer.registry`), a protocol is found by
the name the configuration gives (``scale.<name>.protocol``); a package that registers a
:class:`~kiosk_drivers.scale.port.SerialScale` subclass under this group adds a protocol
without a change here. The built-in ones (``mettler8217``, ``magellan``) register the same
way in pyproject.toml.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk_drivers.scale.port import SerialScale

GROUP = "kiosk.scale_protocols"


@lru_cache(maxsize=1)
def protocol_names() -> tuple[str, ...]:
    """The names of the installed scale protocols, sorted."""
    return tuple(sorted({ep.name for ep in entry_points(group=GROUP)}))


def load_protocol(name: str) -> type[SerialScale]:
    """The scale class registered as ``name``; ValueError (one line) when there is none."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise ValueError(f"unknown scale protocol {name!r} (installed: "
                         f"{', '.join(protocol_names()) or 'none'})")
    return found[0].load()
