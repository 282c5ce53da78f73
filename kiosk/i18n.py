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

from kiosk.domain.languages import MAX_TAG, UnknownLocale, language_of, match_locale
from kiosk.resources import i18n_dir

I18N_DIR = i18n_dir()
DOMAIN = "kiosk"
MAX_TAGS = 16  # of an Accept-Language header: more is no browser's



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


def html_lang(locale: str) -> str:
    """The BCP 47 tag of a catalog name (zh_Hans → zh-Hans), for a page's ``lang``."""
    return locale.replace("_", "-")


def page_locale(lang: str = "", accept_language: str = "") -> str:
    """The shipped locale a web page is shown in: ``lang`` (the page's ``?lang=``) when it
    names one, else the browser's first Accept-Language tag, by q then order, that does
    (``ko-KR,ko;q=0.9,en;q=0.8`` → ko), else en. A tag naming no shipped catalog (zh-TW,
    de) is passed over, never guessed."""
    weighted = []
    for order, part in enumerate(accept_language.split(",")[:MAX_TAGS]):
        tag, _, params = part.partition(";")
        weight = params.strip()
        try:
            q = float(weight[2:]) if weight.startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if tag.strip() and q > 0:
            weighted.append((-q, order, tag.strip()))
    for tag in [lang, *(tag for *_, tag in sorted(weighted))]:
        if tag and len(tag) <= MAX_TAG:
            try:
                return canonical_locale(tag)
            except UnknownLocale:
                pass
    return "en"


def language_key(tag: str) -> str:
    """The language (en, zh, ko) of a tag, through :func:`canonical_locale` when it names
    a shipped catalog (zh-CN → zh, ko_KR → ko); any other tag is returned as given, for
    the caller to refuse in its own words."""
    try:
        return language_of(canonical_locale(tag))
    except UnknownLocale:
        return tag
