"""The one way to the kiosk's package data (the ``kiosk_config`` package, folder ``config/``).

Read with :mod:`importlib.resources`, so the files come from wherever the package is
installed (a wheel in site-packages, or the checkout in an editable install), never
from a path relative to this file. Callers get a :class:`pathlib.Path` because the files
are handed to subprocesses, SQLite and error messages; the package is installed unzipped
(a wheel always is), and a zipped install is refused with one clear line.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DATA_PACKAGE = "kiosk_config"


def data_file(*parts: str) -> Path:
    """The path of a file (or folder) inside the package data, e.g. ``data_file("i18n")``."""
    root = files(DATA_PACKAGE)
    if not isinstance(root, Path):
        raise RuntimeError(f"{DATA_PACKAGE} is not installed as plain files ({root!r})")
    return root.joinpath(*parts)


def defaults_file() -> Path:
    """The packaged configuration defaults (the lowest config layer)."""
    return data_file("defaults.toml")


def sample_catalog() -> Path:
    """The sample product catalog (CSV) the demo and the tests load."""
    return data_file("catalog", "sample.csv")


def i18n_dir() -> Path:
    """The gettext catalogs: ``<locale>/LC_MESSAGES/<domain>.po``."""
    return data_file("i18n")


def iso8583_default() -> Path:
    """The shipped ``default`` acquirer dialect (entry point ``kiosk.acquirer_dialects``)."""
    return data_file("iso8583", "default.toml")


def iso8583_alt_ascii_dual() -> Path:
    """The shipped ``alt_ascii_dual`` acquirer dialect (entry point ``kiosk.acquirer_dialects``)."""
    return data_file("iso8583", "alt_ascii_dual.toml")


def backoffice_migrations() -> Path:
    """The back office's schema migrations (``NNN_name.sql``), shipped in the ``kiosk`` package."""
    root = files("kiosk")
    if not isinstance(root, Path):
        raise RuntimeError(f"kiosk is not installed as plain files ({root!r})")
    return root.joinpath("backoffice", "migrations")


def attendant_static() -> Path:
    """The attendant station page's script and style sheet, shipped in the ``kiosk`` package."""
    root = files("kiosk")
    if not isinstance(root, Path):
        raise RuntimeError(f"kiosk is not installed as plain files ({root!r})")
    return root.joinpath("attendant", "static")
