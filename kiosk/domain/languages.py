"""Language tags: the catalog language of a locale, and matching a tag to known locales.

Pure (Babel's CLDR data only): which locales exist is the caller's knowledge, passed in
(kiosk.i18n passes the shipped catalogs, the checkout the store's configured locales).
"""

from __future__ import annotations

from collections.abc import Iterable

from babel.core import get_global, parse_locale

MAX_TAG = 32  # longer than any real BCP 47 / POSIX tag a kiosk meets


class UnknownLocale(ValueError):
    """A language tag that names none of the known locales; str() is one line."""


def language_of(locale: str) -> str:
    """Catalog language key for a locale tag: zh_Hans → zh, ko_KR → ko, en → en."""
    return locale.replace("-", "_").split("_")[0].lower()


def _language_script(tag: str) -> tuple[str, str | None]:
    """(language, script) of a tag, the script filled in from CLDR likely subtags."""
    lang, territory, script, _variant = parse_locale(tag.replace("-", "_"))[:4]
    if script is None:
        likely = get_global("likely_subtags")
        for key in (f"{lang}_{territory}" if territory else "", lang):
            if key in likely:
                script = parse_locale(likely[key])[2]
                break
    return lang, script


def match_locale(tag: str, known: Iterable[str]) -> str:
    """The locale of ``known`` a language tag names (``zh``, ``zh-CN``, ``zh_CN``,
    ``zh-Hans`` → ``zh_Hans``; ``ko-KR`` → ``ko``; ``en-US`` → ``en``), or UnknownLocale:
    a tag naming no known locale (``de``, ``zh-TW``) is refused, never shown in English."""
    known = tuple(known)
    if not isinstance(tag, str) or not 0 < len(tag) <= MAX_TAG or not tag.isascii():
        raise UnknownLocale(f"unknown locale {tag!r} (shipped: {', '.join(known)})")
    if tag in known:
        return tag
    try:
        want = _language_script(tag)
    except (ValueError, TypeError):
        raise UnknownLocale(f"unknown locale {tag!r} (shipped: {', '.join(known)})") from None
    for locale in known:
        if _language_script(locale) == want:
            return locale
    raise UnknownLocale(f"no catalog for locale {tag!r} (shipped: {', '.join(known)})")
