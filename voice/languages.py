"""The languages of the voice engine and how a language tag names one of them.

The engine has intents, grammars and an espeak-ng voice for English, Mandarin (in
simplified characters) and Korean; any spelling of those (``zh-CN``, ``zh_Hans``,
``ko_KR``, ``en-US``) names the same language key. Light on purpose: the command line
uses it to parse ``--lang``.
"""

from __future__ import annotations

#: the languages the voice engine understands and speaks, with the script of its phrasings
SCRIPTS = {"en": "Latn", "zh": "Hans", "ko": "Kore"}
LANGS = tuple(SCRIPTS)


def language_key(tag: str) -> str:
    """The voice language (en, zh, ko) of a BCP 47 or POSIX tag: zh-CN, zh_Hans → zh,
    ko_KR → ko, en-US → en (the script filled in from CLDR's likely subtags). A tag of
    another language or script (de, zh-TW) is returned as given, for the caller to refuse
    in its own words."""
    if tag in SCRIPTS:
        return tag
    # Babel's CLDR tables load only for a tag that is not a language key already
    from babel.core import get_global, parse_locale

    try:
        lang, territory, script = parse_locale(tag.replace("-", "_"))[:3]
    except (ValueError, TypeError, AttributeError):
        return tag
    if script is None:
        likely = get_global("likely_subtags")
        for key in (f"{lang}_{territory}" if territory else "", lang):
            if key in likely:
                script = parse_locale(likely[key])[2]
                break
    return lang if SCRIPTS.get(lang) == script else tag
