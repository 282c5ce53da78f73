"""Exact money: currencies with their ISO 4217 exponent and amounts in integer minor units.

Every amount in the core is an ``int`` of minor units (cents, fen; won have none).
Conversions from text go through ``Decimal`` and never through ``float``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision

_PLAIN_AMOUNT = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,6})?$", re.ASCII)
#: no price or basket on a kiosk comes near this (10^12 minor units); SQLite holds it
MAX_MINOR = 10**12
#: ISO 4217 numeric codes of the currencies a store may configure (Babel has none). The
#: number goes on the wire (EMV tag 5F2A, ISO 8583 field 49), so the config checks it here.
ISO_4217_NUMERIC = {
    "AUD": 36, "CAD": 124, "CHF": 756, "CNY": 156, "DKK": 208, "EUR": 978, "GBP": 826,
    "HKD": 344, "IDR": 360, "INR": 356, "JPY": 392, "KRW": 410, "MOP": 446, "MXN": 484,
    "MYR": 458, "NOK": 578, "NZD": 554, "PHP": 608, "SEK": 752, "SGD": 702, "THB": 764,
    "TWD": 901, "USD": 840, "VND": 704,
}


class MoneyError(ValueError):
    """A price or amount that cannot be represented exactly in the store currency."""


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency: alphabetic code, numeric code and minor-unit exponent."""

    code: str
    numeric: int
    exponent: int

    def parse(self, text: str) -> int:
        """Parse a decimal string in major units ("3.49") into minor units (349).

        Raises MoneyError for anything but plain digits with an optional decimal part
        (no sign, exponent or separators), absurdly large amounts, and more decimals
        than the currency has (3.499 USD, 3500.5 KRW): such a price cannot be charged.
        """
        if isinstance(text, str) and text.strip().startswith("-"):
            raise MoneyError(f"negative amount: {text!r}")
        if not isinstance(text, str) or not _PLAIN_AMOUNT.match(text.strip()):
            raise MoneyError(f"not a plain amount like 3.49: {text!r}")
        value = Decimal(text.strip())
        minor = value.scaleb(self.exponent)
        if minor > MAX_MINOR:
            raise MoneyError(f"amount too large: {text!r}")
        if minor != minor.to_integral_value():
            raise MoneyError(
                f"{text!r} has more than {self.exponent} decimal place(s) for {self.code}"
            )
        return int(minor)

    def to_decimal(self, minor: int) -> Decimal:
        """Minor units as a Decimal in major units (349 → Decimal('3.49'))."""
        return Decimal(minor).scaleb(-self.exponent)

    def plain(self, minor: int) -> str:
        """Locale-free text in major units with the currency's decimals ("3.49", "3500")."""
        return f"{self.to_decimal(minor):.{self.exponent}f}"


def round_half_up(value: Decimal) -> int:
    """Round a Decimal amount of minor units to an int, halves away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def currency_for(code: str) -> Currency:
    """The currency ISO 4217 ``code`` names, its minor units from CLDR ("KRW": none);
    MoneyError for a code a store may not configure (:data:`ISO_4217_NUMERIC`)."""
    if code not in ISO_4217_NUMERIC:
        raise MoneyError(f"unknown currency {code!r} (known: {', '.join(ISO_4217_NUMERIC)})")
    return Currency(code, ISO_4217_NUMERIC[code], get_currency_precision(code))


def message_currency(cur: dict | None) -> Currency:
    """The currency a bus state message names (``{"code", "exponent"}``; USD if absent)."""
    cur = cur or {}
    return Currency(str(cur.get("code") or "USD"), ISO_4217_NUMERIC.get(str(cur.get("code")), 0),
                    int(cur.get("exponent", 2)))


def format_money(minor: int, currency: Currency, locale: str) -> str:
    """Format an amount for shoppers per locale (Babel): "$3.49", "US$3.49", "₩3,500"."""
    return format_currency(currency.to_decimal(minor), currency.code, locale=locale)
