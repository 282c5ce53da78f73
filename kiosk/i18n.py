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

from kiosk.resources import i18n_dir

I18N_DIR = i18n_dir()
DOMAIN = "kiosk"
MAX_TAG = 32  # longer than any real BCP 47 / POSIX tag a kiosk meets


class UnknownLocale(ValueError):
    """A language tag that names no shipped catalog; str() is one line for the operator."""


@lru_cache(maxsize=1)
def shipped_locales() -> tuple[str, ...]:
    """Locales with a ``kiosk`` catalog in config/i18n (e.g. en, ko, zh_Hans)."""
    return tuple(sorted(p.parent.parent.name for p in I18N_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def _language_script(tag: str) -> tuple[str, str | None]:
    """(language, script) of a tag, the script filled in from CLDR likely subtags."""
    from babel.core import get_global, parse_locale  # CLDR data: only for a tag not shipped as is

    lang, territory, script, _variant = parse_locale(tag.replace("-", "_"))[:4]
    if script is None:
        likely = get_global("likely_subtags")
        for key in (f"{lang}_{territory}" if territory else "", lang):
            if key in likely:
                script = parse_locale(likely[key])[2]
                break
    return lang, script


@lru_cache(maxsize=256)
def canonical_locale(tag: str) -> str:
    """The shipped catalog for a language tag (see module docstring), or UnknownLocale."""
    shipped = shipped_locales()
    if not isinstance(tag, str) or not 0 < len(tag) <= MAX_TAG or not tag.isascii():
        raise UnknownLocale(f"unknown locale {tag!r} (shipped: {', '.join(shipped)})")
    if tag in shipped:
        return tag
    try:
        want = _language_script(tag)
    except (ValueError, TypeError):
        raise UnknownLocale(f"unknown locale {tag!r} (shipped: {', '.join(shipped)})") from None
    for locale in shipped:
        if _language_script(locale) == want:
            return locale
    raise UnknownLocale(f"no catalog for locale {tag!r} (shipped: {', '.join(shipped)})")


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


def language_of(locale: str) -> str:
    """Catalog language key for a locale tag: zh_Hans → zh, ko_KR → ko, en → en."""
    return locale.replace("-", "_").split("_")[0].lower()


def language_key(tag: str) -> str:
    """The language (en, zh, ko) of a tag, through :func:`canonical_locale` when it names
    a shipped catalog (zh-CN → zh, ko_KR → ko); any other tag is returned as given, for
    the caller to refuse in its own words."""
    try:
        return language_of(canonical_locale(tag))
    except UnknownLocale:
        return tag
