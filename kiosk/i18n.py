"""Translations for every shopper-facing string, from gettext catalogs.

Catalogs live in ``config/i18n/<locale>/LC_MESSAGES/kiosk.po`` (Babel extracts
and updates them); they are read with Babel at start, so no compile step is
needed on the device. A missing translation falls back to the English msgid.

:func:`canonical_locale` is the one place a language tag from anywhere (config,
provisioning, a ``set_language`` or ``start`` command, voice) becomes the name of a
shipped catalog: ``zh``, ``zh-CN``, ``zh_CN``, ``zh-Hans`` → ``zh_Hans``; ``ko-KR`` →
``ko``; ``en-US`` → ``en``. A tag with no shipped catalog (``de``, ``zh-TW``) is
refused, never shown silently in English.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from kiosk.domain.languages import UnknownLocale, language_of, match_locale
from kiosk.resources import i18n_dir

I18N_DIR = i18n_dir()
DOMAIN = "kiosk"



def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction; it is translated where it is shown."""
    return msgid


@lru_cache(maxsize=1)
def shipped_locales() -> tuple[str, ...]:
    """Locales with a ``kiosk`` catalog in config/i18n (e.g. en, ko, zh_Hans)."""
    return tuple(sorted(p.parent.parent.name for p in I18N_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


@lru_cache(maxsize=256)
def canonical_locale(tag: str) -> str:
    """The shipped catalog for a language tag (see module docstring), or UnknownLocale."""
    return match_locale(tag, shipped_locales())


def catalog_path(locale: str, domain: str = DOMAIN) -> Path:
    return I18N_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=16)
def messages(locale: str, domain: str = DOMAIN) -> dict[str, str]:
    """msgid → translation for a locale (empty when there is no catalog).

    ``domain`` picks the catalog: ``kiosk`` (screens, receipts) or ``voice`` (prompts).
    """
    from babel.messages.pofile import read_po  # only a process that shows or speaks text

    path = catalog_path(locale, domain)
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}


def translator(locale: str, domain: str = DOMAIN) -> Callable[[str], str]:
    table = messages(locale, domain)
    return lambda msgid: table.get(msgid, msgid)


def language_key(tag: str) -> str:
    """The language (en, zh, ko) of a tag, through :func:`canonical_locale` when it names
    a shipped catalog (zh-CN → zh, ko_KR → ko); any other tag is returned as given, for
    the caller to refuse in its own words."""
    try:
        return language_of(canonical_locale(tag))
    except UnknownLocale:
        return tag
