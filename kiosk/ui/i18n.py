"""Translations and locale formatting for the shopper UI.

Strings come from the gettext catalogs in ``config/i18n/<locale>/LC_MESSAGES/
kiosk.po``: Babel reads a catalog and compiles it to a ``.mo`` image in memory,
so the UI uses real gettext (with plural forms) without a compiled file to keep
in step on the device. Prices go through :func:`kiosk.domain.money.format_money`,
numbers and dates through Babel, all per locale.

In code, ``tr("...")`` marks a string for extraction and translates it;
``ntr(singular, plural, n)`` is the plural form and ``N_("...")`` only marks a
string that is translated later (see ``config/i18n/update-catalogs.sh``).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import lru_cache

from kiosk.domain.languages import language_of
from kiosk.domain.money import Currency, format_money, message_currency
from kiosk.i18n import catalog_path

#: each language's name in itself, as the language switch shows it
ENDONYMS = {"en": "English", "zh_Hans": "简体中文", "ko": "한국어"}


def endonym(locale: str) -> str:
    """The language's own name for ``locale`` ("简体中文" for zh_Hans)."""
    if locale in ENDONYMS:
        return ENDONYMS[locale]
    from babel import Locale

    return Locale.parse(locale).display_name or locale


@lru_cache(maxsize=8)
def translations(locale: str) -> gettext.NullTranslations:
    """gettext translations for a locale, compiled in memory from its .po catalog."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = catalog_path(locale)
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Translator:
    """Everything locale-dependent the screens need, for one locale."""

    def __init__(self, locale: str, currency: Currency | None = None) -> None:
        self.locale = locale
        self.lang = language_of(locale)
        self.currency = currency or message_currency(None)  # before a state says (USD)
        self._t = translations(locale)

    def tr(self, msgid: str, **fields: object) -> str:
        text = self._t.gettext(msgid)
        return text.format(**fields) if fields else text

    def ntr(self, singular: str, plural: str, n: int, **fields: object) -> str:
        return self._t.ngettext(singular, plural, n).format(n=n, **fields)

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency, self.locale)

    def kg(self, grams: int) -> str:
        from babel.numbers import format_decimal

        return format_decimal(grams / 1000, "#,##0.000", locale=self.locale)

    def datetime(self, when: float) -> str:
        from babel.dates import format_datetime

        return format_datetime(datetime.fromtimestamp(when).astimezone(), "medium",
                               locale=self.locale)

    def date(self, iso: str) -> str:
        """An ISO date ("2015-01-19") as this locale writes one ("Jan 19, 2015",
        "2015年1月19日", "2015. 1. 19."); anything else as it came."""
        from babel.dates import format_date

        try:
            day = date.fromisoformat(iso)
        except ValueError:
            return iso
        return format_date(day, "medium", locale=self.locale)

    def join(self, items: list[str]) -> str:
        """A list as this locale writes one ("Card and Mobile QR", "银行卡和手机扫码")."""
        from babel.lists import format_list

        return format_list(items, locale=self.locale) if items else ""

    def name(self, names: dict[str, str], fallback: str = "") -> str:
        """A catalog name in the shopper's language (English, then anything, if missing)."""
        return names.get(self.lang) or names.get("en") or next(iter(names.values()), fallback)


def all_msgids() -> list[str]:
    """Every msgid in the English catalog (what the UI and receipts can say)."""
    from babel.messages.pofile import read_po

    with catalog_path("en").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    ids: list[str] = []
    for m in catalog:
        if not m.id:
            continue
        ids.extend(m.id if isinstance(m.id, tuple) else [m.id])
    return ids


def catalog_text(locale: str) -> str:
    """All text the catalog of ``locale`` can produce (for font coverage)."""
    from babel.messages.pofile import read_po

    path = catalog_path(locale)
    parts: list[str] = list(all_msgids()) if language_of(locale) == "en" else []
    if path.exists():
        with path.open("rb") as fh:
            for m in read_po(fh, locale=locale):
                strings = m.string if isinstance(m.string, tuple) else (m.string,)
                parts.extend(s for s in strings if s)
    return "".join(parts)
