"""Translations for every shopper-facing string, from gettext catalogs.

Catalogs live in ``config/i18n/<locale>/LC_MESSAGES/kiosk.po`` (Babel extracts
and updates them); they are read with Babel at start, so no compile step is
needed on the device. A missing translation falls back to the English msgid.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from kiosk.config import PACKAGE_CONFIG_DIR

I18N_DIR = PACKAGE_CONFIG_DIR / "i18n"
DOMAIN = "kiosk"


def catalog_path(locale: str, domain: str = DOMAIN) -> Path:
    return I18N_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=16)
def messages(locale: str, domain: str = DOMAIN) -> dict[str, str]:
    """msgid → translation for a locale (empty when there is no catalog).

    ``domain`` picks the catalog: ``kiosk`` (screens, receipts) or ``voice`` (prompts).
    """
    from babel.messages.pofile import read_po

    path = catalog_path(locale, domain)
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}


def translator(locale: str, domain: str = DOMAIN) -> Callable[[str], str]:
    table = messages(locale, domain)
    return lambda msgid: table.get(msgid, msgid)
