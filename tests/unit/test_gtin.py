"""GS1 check digits, GTIN normalisation, and in-store variable-measure codes."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kiosk.config import load_config
from kiosk.domain.gtin import (
    GtinError,
    VariableMeasure,
    VariableMeasureConfig,
    VariableMeasureLayout,
    check_digit,
    decode_variable_measure,
    is_valid_gtin,
    validate_gtin,
)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> VariableMeasureConfig:
    """The variable-measure layouts from the packaged defaults."""
    empty = tmp_path_factory.mktemp("no-site")
    return load_config(site_dir=empty, environ={}).variable_measure


# -- check digit --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("4006381333931", "EAN-13"),
        ("036000291452", "UPC-A"),
        ("96385074", "EAN-8"),
        ("8801094804527", "EAN-13"),
        ("10012005989966", "GTIN-14"),
        ("9771234567003", "ISSN EAN-13"),
    ],
)
def test_check_digit_of_real_codes(code: str, kind: str) -> None:
    assert check_digit(code[:-1]) == int(code[-1]), kind


def test_check_digit_of_a_body_that_sums_to_ten() -> None:
    # 3*1 + 7 = 10 → 0, not 10
    assert check_digit("71") == 0
    assert check_digit("") == 0


# -- validate_gtin ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "gtin14"),
    [
        ("4006381333931", "04006381333931"),
        ("036000291452", "00036000291452"),
        ("0036000291452", "00036000291452"),  # same UPC-A read as EAN-13
        ("96385074", "00000096385074"),
        ("10012005989966", "10012005989966"),
    ],
)
def test_validate_gtin_normalises_to_14_digits(code: str, gtin14: str) -> None:
    assert validate_gtin(code) == gtin14
    assert is_valid_gtin(code)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("4006381333932", "wrong check digit (expected 1)"),
        ("036000291453", "wrong check digit (expected 2)"),
        ("96385075", "wrong check digit (expected 4)"),
        ("1234567", "has 7 digits (GTIN has 8, 12, 13 or 14)"),
        ("40063813339", "has 11 digits"),
        ("400638133393100", "has 15 digits"),
        ("400638133393A", "is not all digits"),
        ("4006-381333931", "is not all digits"),
        (" 4006381333931", "is not all digits"),
        ("", "is not all digits"),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", "is not all digits"),  # Arabic-Indic digits are not GTIN digits
    ],
)
def test_validate_gtin_rejects_with_a_clear_message(code: str, fragment: str) -> None:
    with pytest.raises(GtinError) as info:
        validate_gtin(code)
    assert fragment in str(info.value)
    assert repr(code) in str(info.value)
    assert not is_valid_gtin(code)


def test_gtin_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_gtin("x")


# -- properties of the GS1 mod-10 check digit -------------------------------------------

_LENGTHS = st.sampled_from([8, 12, 13, 14])


@st.composite
def gtins(draw: st.DrawFn) -> str:
    length = draw(_LENGTHS)
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return body + str(check_digit(body))


@given(code=gtins())
def test_generated_gtins_validate_and_normalise(code: str) -> None:
    assert validate_gtin(code) == code.zfill(14)


@given(code=gtins(), data=st.data())
def test_leading_zero_padding_finds_the_same_gtin(code: str, data: st.DataObject) -> None:
    longer = data.draw(st.sampled_from([n for n in (12, 13, 14) if n >= len(code)]))
    assert validate_gtin(code.zfill(longer)) == validate_gtin(code)


@given(code=gtins(), data=st.data())
def test_any_single_digit_error_is_detected(code: str, data: st.DataObject) -> None:
    # weights 1 and 3 are both coprime to 10, so changing one digit always changes the sum
    i = data.draw(st.integers(0, len(code) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != code[i]]))
    assert not is_valid_gtin(code[:i] + new + code[i + 1 :])


@given(code=gtins(), data=st.data())
def test_adjacent_transposition_detected_unless_digits_differ_by_5(
    code: str, data: st.DataObject
) -> None:
    # Swapping a (weight 3) and b (weight 1) changes the sum by 2(a - b), which is 0 mod 10
    # exactly when |a - b| is 5: 0/5, 1/6, 2/7, 3/8, 4/9 swaps go undetected.
    i = data.draw(st.integers(0, len(code) - 2))
    a, b = code[i], code[i + 1]
    assume(a != b)
    swapped = code[:i] + b + a + code[i + 2 :]
    assert is_valid_gtin(swapped) == (abs(int(a) - int(b)) == 5)


def test_undetected_transposition_example() -> None:
    # 0 and 5 adjacent: the classic blind spot of mod-10 with weights 3/1
    code = "0500000000000"
    code = code[:-1] + str(check_digit(code[:-1]))
    swapped = code[1] + code[0] + code[2:]
    assert swapped != code
    assert is_valid_gtin(code) and is_valid_gtin(swapped)


# -- variable measure -----------------------------------------------------------------


def _in_store(body12: str) -> str:
    assert len(body12) == 12
    return body12 + str(check_digit(body12))


@pytest.mark.parametrize("prefix", ["20", "21", "22", "23", "24"])
def test_decode_price_layout(layouts: VariableMeasureConfig, prefix: str) -> None:
    code = _in_store(prefix + "04011" + "01234")
    assert decode_variable_measure(code, layouts) == VariableMeasure(
        plu="04011", price_minor=1234, weight_g=None
    )


@pytest.mark.parametrize("prefix", ["25", "26", "27", "28", "29"])
def test_decode_weight_layout(layouts: VariableMeasureConfig, prefix: str) -> None:
    code = _in_store(prefix + "10002" + "00750")
    assert decode_variable_measure(code, layouts) == VariableMeasure(
        plu="10002", price_minor=None, weight_g=750
    )


def test_decode_known_price_code(layouts: VariableMeasureConfig) -> None:
    # 20 | 12345 | 00999 | check 8: weights 3,1,3,... from the right over the body sum to 92
    assert is_valid_gtin("2012345009998")
    assert decode_variable_measure("2012345009998", layouts) == VariableMeasure(
        plu="12345", price_minor=999
    )


@given(
    prefix=st.sampled_from(["20", "21", "22", "23", "24", "25", "26", "27", "28", "29"]),
    item=st.text(alphabet="0123456789", min_size=5, max_size=5),
    value=st.integers(0, 99999),
)
def test_decode_round_trips_any_item_and_value(
    layouts: VariableMeasureConfig, prefix: str, item: str, value: int
) -> None:
    code = _in_store(f"{prefix}{item}{value:05d}")
    assert is_valid_gtin(code)
    decoded = decode_variable_measure(code, layouts)
    assert decoded is not None
    assert decoded.plu == item
    if int(prefix) < 25:
        assert (decoded.price_minor, decoded.weight_g) == (value, None)
    else:
        assert (decoded.price_minor, decoded.weight_g) == (None, value)


@pytest.mark.parametrize(
    "code",
    [
        "4006381333931",  # ordinary EAN-13
        "0200000000000",  # prefix 02 is not an EAN-13 in-store prefix
        "3012345009990",
        "036000291452",  # UPC-A, 12 digits
        "96385074",  # EAN-8
        "20012345009996",  # 14 digits, even though it starts with 20
    ],
)
def test_decode_returns_none_for_non_in_store_codes(
    layouts: VariableMeasureConfig, code: str
) -> None:
    assert decode_variable_measure(code, layouts) is None


def test_decode_with_no_layouts_is_none() -> None:
    assert decode_variable_measure("2012345009998", VariableMeasureConfig()) is None


def test_decode_ignores_price_check_digit_x() -> None:
    config = VariableMeasureConfig(
        layouts=[VariableMeasureLayout(prefixes=["21"], pattern="PPIIIIIXVVVVC", value="price")]
    )
    decoded = decode_variable_measure(_in_store("21" + "04664" + "7" + "0450"), config)
    assert decoded == VariableMeasure(plu="04664", price_minor=450)
