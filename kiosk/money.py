"""Exact money: currencies with their ISO 4217 exponent and amounts in integer minor units.

Every amount in the core is an ``int`` of minor units (cents, fen; won have none).
Conversions from text go through ``Decimal`` and never through ``float``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


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

        Raises MoneyError for non-numbers, negatives, or more decimals than the
        currency has (3.499 USD, 3500.5 KRW): such a price cannot be charged exactly.
        """
        try:
            value = Decimal(text.strip())
        except (InvalidOperation, AttributeError):
            raise MoneyError(f"not a number: {text!r}") from None
        if not value.is_finite():
            raise MoneyError(f"not a finite amount: {text!r}")
        if value < 0:
            raise MoneyError(f"negative amount: {text!r}")
        minor = value.scaleb(self.exponent)
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


def format_money(minor: int, currency: Currency, locale: str) -> str:
    """Format an amount for shoppers per locale (Babel): "$3.49", "US$3.49", "₩3,500"."""
    from babel.numbers import format_currency

    return format_currency(currency.to_decimal(minor), currency.code, locale=locale)
