"""Measured font coverage: which candidate font shows every UI string, per language.

``kiosk ui --fonts`` prints, for every installed candidate and language, the
characters it lacks among everything the UI can show: catalog translations,
language names, prices formatted per locale (USD, KRW ₩, CNY and the store's
currency), and the product and promotion names of the catalog. The UI itself
chooses by the same measure (:func:`kiosk.ui.fonts.resolve`).
"""

from __future__ import annotations

import json
import sqlite3

from kiosk.config import KioskConfig, load_config
from kiosk.domain.languages import language_of
from kiosk.domain.money import Currency, currency_for, format_money
from kiosk.ui import fonts
from kiosk.ui.i18n import catalog_text, endonym

#: characters the code draws directly (PIN dots, minus, times, ellipsis)
SYMBOLS = "●−×…"
SAMPLE_AMOUNTS = (-123456789, 0, 5)


def sample_currencies(store_code: str) -> list[Currency]:
    return [currency_for(code) for code in dict.fromkeys(("USD", "KRW", "CNY", store_code))]


def font_texts(locales: list[str], currency_code: str) -> dict[str, str]:
    """Per language, every character the UI's own strings can contain.

    The extra key ``langs`` is the language switch: every language's name in
    itself, drawn with one face (Noto CJK's Hangul glyphs are the same in its SC
    and KR faces, so this saves opening a second face on English screens).
    """
    ascii_printable = "".join(chr(c) for c in range(0x21, 0x7F))
    out: dict[str, str] = {"langs": "".join(endonym(loc) for loc in locales)}
    for loc in locales:
        lang = language_of(loc)
        money = "".join(format_money(v, c, loc) for c in sample_currencies(currency_code)
                        for v in SAMPLE_AMOUNTS)
        out[lang] = (out.get(lang, "") + catalog_text(loc) + endonym(loc) + money
                     + ascii_printable + SYMBOLS)
    return out


def catalog_names(config: KioskConfig) -> dict[str, str]:
    """Product and promotion names per language, from the catalog database and config."""

    out: dict[str, list[str]] = {}
    if config.catalog_path.exists():
        db = sqlite3.connect(f"file:{config.catalog_path}?mode=ro", uri=True)
        try:
            for (names,) in db.execute("SELECT names FROM products"):
                for lang, name in json.loads(names).items():
                    out.setdefault(lang, []).append(name)
        finally:
            db.close()
    for promo in config.promotions:
        for lang, name in promo.name.items():
            out.setdefault(lang, []).append(name)
    return {lang: "".join(names) for lang, names in out.items()}


def report_fonts() -> int:

    config = load_config()
    texts = font_texts(config.store.locales, config.currency.code)
    for lang, names in catalog_names(config).items():
        texts[lang] = texts.get(lang, "") + names
    print(f"font coverage of the UI text ({', '.join(config.store.locales)};"
          f" catalog {config.catalog_path}):")
    for family, lang, gaps in fonts.coverage_report(texts):
        shown = " ".join(f"{c} U+{ord(c):04X}" for c in gaps[:8])
        more = f" (+{len(gaps) - 8} more)" if len(gaps) > 8 else ""
        status = "covers all" if not gaps else f"lacks {len(gaps)}: {shown}{more}"
        print(f"  {family:22} {lang}: {status}")
    ok = 0
    for lang, text in texts.items():
        try:
            face = fonts.choose(lang, text)
            print(f"chosen for {lang}: {face.family} ({face.regular} face {face.index})")
        except fonts.FontError as exc:
            print(f"chosen for {lang}: NONE - {exc}")
            ok = 1
    return ok
