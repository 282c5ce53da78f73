"""Exact money: parsing to minor units, rounding, and shopper-facing formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.money import MAX_MINOR, Currency, MoneyError, format_money, round_half_up

USD = Currency("USD", 840, 2)
KRW = Currency("KRW", 410, 0)
LOCALES = ("en", "zh_Hans", "ko")


# -- parse ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "text", "minor"),
    [
        (USD, "3.49", 349),
        (USD, "0.05", 5),
        (USD, "12", 1200),
        (USD, "12.5", 1250),
        (USD, "3.490", 349),  # trailing zero is still exact
        (USD, " 3.49 ", 349),
        (USD, "0", 0),
        (USD, "1234567.89", 123456789),
        (KRW, "3500", 3500),
        (KRW, "3500.0", 3500),
        (KRW, "0", 0),
    ],
)
def test_parse_exact_amounts(currency: Currency, text: str, minor: int) -> None:
    result = currency.parse(text)
    assert result == minor
    assert type(result) is int


@pytest.mark.parametrize(
    ("currency", "text", "fragment"),
    [
        (USD, "3.499", "more than 2 decimal place(s) for USD"),
        (USD, "0.001", "more than 2 decimal place(s) for USD"),
        (KRW, "3500.5", "more than 0 decimal place(s) for KRW"),
        (KRW, "0.01", "more than 0 decimal place(s) for KRW"),
        (USD, "-1.00", "negative"),
        (KRW, "-3500", "negative"),
        (USD, "abc", "not a plain amount"),
        (USD, "", "not a plain amount"),
        (USD, "3,49", "not a plain amount"),
        (USD, "$3.49", "not a plain amount"),
        (USD, "NaN", "not a plain amount"),
        (USD, "Infinity", "not a plain amount"),
    ],
)
def test_parse_rejects_inexact_negative_and_non_numbers(
    currency: Currency, text: str, fragment: str
) -> None:
    with pytest.raises(MoneyError) as info:
        currency.parse(text)
    assert fragment in str(info.value)


def test_money_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        USD.parse("abc")


def test_parse_out_of_range_exponent_raises_money_error() -> None:
    with pytest.raises(MoneyError):
        USD.parse("1e999999")


@given(minor=st.integers(min_value=0, max_value=MAX_MINOR), currency=st.sampled_from([USD, KRW]))
def test_plain_then_parse_round_trips(minor: int, currency: Currency) -> None:
    text = currency.plain(minor)
    if currency.exponent:
        assert text[-currency.exponent - 1] == "."
    else:
        assert "." not in text
    assert currency.parse(text) == minor


@given(cents=st.integers(min_value=0, max_value=10**9), extra=st.integers(1, 9))
def test_parse_rejects_any_third_decimal_for_usd(cents: int, extra: int) -> None:
    text = f"{USD.plain(cents)}{extra}"
    with pytest.raises(MoneyError):
        USD.parse(text)


def test_to_decimal_and_plain() -> None:
    assert USD.to_decimal(349) == Decimal("3.49")
    assert USD.plain(5) == "0.05"
    assert USD.plain(0) == "0.00"
    assert KRW.to_decimal(3500) == Decimal(3500)
    assert KRW.plain(3500) == "3500"


# -- round_half_up ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", 1),
        ("1.5", 2),
        ("2.5", 3),  # not banker's rounding
        ("2.4999", 2),
        ("2.5001", 3),
        ("-0.5", -1),  # halves away from zero
        ("-2.5", -3),
        ("-2.4", -2),
        ("7", 7),
        ("0", 0),
    ],
)
def test_round_half_up(value: str, expected: int) -> None:
    result = round_half_up(Decimal(value))
    assert result == expected
    assert type(result) is int


@given(n=st.integers(min_value=-(10**12), max_value=10**12))
def test_round_half_up_halves_go_away_from_zero(n: int) -> None:
    half = Decimal(n) + (Decimal("0.5") if n >= 0 else Decimal("-0.5"))
    assert round_half_up(half) == (n + 1 if n >= 0 else n - 1)


@given(
    value=st.decimals(
        min_value=Decimal(-(10**9)), max_value=Decimal(10**9), places=4, allow_nan=False
    )
)
def test_round_half_up_is_nearest(value: Decimal) -> None:
    assert abs(Decimal(round_half_up(value)) - value) <= Decimal("0.5")


# -- format_money -----------------------------------------------------------------


def test_format_usd_en() -> None:
    assert format_money(349, USD, "en") == "$3.49"
    assert format_money(123456789, USD, "en") == "$1,234,567.89"
    assert format_money(5, USD, "en") == "$0.05"


@pytest.mark.parametrize("locale", ["zh_Hans", "ko"])
def test_format_usd_zh_and_ko_mark_it_as_us_dollars(locale: str) -> None:
    text = format_money(349, USD, locale)
    assert "3.49" in text
    assert "US$" in text  # a bare "$" would be ambiguous outside the US
    assert "₩" not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_format_krw_has_won_sign_and_no_decimals(locale: str) -> None:
    text = format_money(3500, KRW, locale)
    assert "₩" in text
    assert "3,500" in text
    assert "." not in text
    big = format_money(1234567, KRW, locale)
    assert "1,234,567" in big and "." not in big


def test_format_krw_ko_exact() -> None:
    assert format_money(3500, KRW, "ko") == "₩3,500"


def test_a_currency_from_its_code_has_its_minor_units_and_number():
    from kiosk.domain.money import currency_for

    assert currency_for("USD") == Currency("USD", 840, 2)
    assert currency_for("KRW") == Currency("KRW", 410, 0)
    assert currency_for("JPY").exponent == 0 and currency_for("CNY").numeric == 156
    for bad in ("XYZ", "usd", ""):
        with pytest.raises(MoneyError, match="unknown currency"):
            currency_for(bad)
