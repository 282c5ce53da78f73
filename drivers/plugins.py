"""The one loader of the project's plug-ins: classes registered under an entry-point group
(printer transports, scale protocols, recognizer backends, payment methods, wallet
dialects) and found by the name the configuration gives, the way gpiozero finds its pin
factories. A package adds a plug-in by registering it; nothing here changes."""

from __future__ import annotations

from importlib.metadata import entry_points


def names(group: str) -> tuple[str, ...]:
    """The names installed in the entry-point ``group``, sorted."""
    return tuple(sorted({ep.name for ep in entry_points(group=group)}))


def _unknown(what: str, name: str, installed: tuple[str, ...]) -> str:
    return f"unknown {what} {name!r} (installed: {', '.join(installed) or 'none'})"


def check_installed(group: str, name: str, what: str) -> str:
    """A config validator: ``name`` if a plug-in is installed under it in ``group``, else
    ValueError naming the ``what`` and the installed ones (nothing is imported)."""
    installed = names(group)
    if name not in installed:
        raise ValueError(_unknown(what, name, installed))
    return name


def load_class(group: str, name: str, base: type, what: str,
               error: type[Exception] = ValueError) -> type:
    """The class registered as ``name`` in ``group``, a subclass of ``base``. Any fault (not
    installed, fails to import, not a ``base``) is ``error`` with one line naming the
    ``what``: a broken plug-in is refused, it does not stop a service with a traceback."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    ep = found.get(name)
    if ep is None:
        raise error(_unknown(what, name, tuple(sorted(found))))
    try:
        cls = ep.load()
    except Exception as exc:
        raise error(f"{what} {name!r} ({ep.value}) cannot be loaded:"
                    f" {type(exc).__name__}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise error(f"{what} {name!r} ({ep.value}) is not a {base.__name__}")
    return cls
