"""Scale protocols by name: the entry-point group ``kiosk.scale_protocols``.

Like the printer transports (:mod:`kiosk_drivers.printer.registry`), a protocol is found by
the name the configuration gives (``scale.<name>.protocol``); a package that registers a
:class:`~kiosk_drivers.scale.port.SerialScale` subclass under this group adds a protocol
without a change here. The built-in ones (``mettler8217``, ``magellan``) register the same
way in pyproject.toml.
"""

from __future__ import annotations

from kiosk_drivers.plugins import names

GROUP = "kiosk.scale_protocols"


def protocol_names() -> tuple[str, ...]:
    """The names of the installed scale protocols, sorted."""
    return names(GROUP)
