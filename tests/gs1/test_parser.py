"""The GS1 element-string parser (kiosk.domain.gs1) on GS1's published examples, in every
form a reader gives them: bracketed (HRI), raw with FNC1 as GS, and Digital Link URIs.

Examples: the GS1 General Specifications (GGS) figures and ISO/IEC 24724 (DataBar), as
cited beside each; Digital Link URIs from the GS1 Digital Link standard 1.0.
"""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain import gs1
from kiosk.domain.gs1 import GS, Gs1Error
from kiosk.domain.money import Currency

USD = Currency("USD", 840, 2)
KRW = Currency("KRW", 410, 0)
EUR = Currency("EUR", 978, 2)
TODAY = date(2026, 12, 6)


def raw(hri: str) -> str:
    """The raw form of a bracketed string: FNC1 (GS) after each element whose length is
    not predefined, but the last."""
    out = []
    elements = gs1.parse_bracketed(hri).elements
    for i, (ai, data) in enumerate(elements):
        out.append(ai + data)
        if ai[:2] not in gs1.PREDEFINED and i < len(elements) - 1:
            out.append(GS)
    return "".join(out)


PUBLISHED = [
    # (GGS figure / standard, HRI, {AI: data})
    ("GGS Figure 5.5.2.3.1-1, DataBar Expanded", "(01)90614141000015(3202)000150",
     {"01": "90614141000015", "3202": "000150"}),
    ("ISO/IEC 24724:2011 Figure 10, DataBar Expanded",
     "(01)98898765432106(3202)012345(15)991231",
     {"01": "98898765432106", "3202": "012345", "15": "991231"}),
    ("ISO/IEC 24724:2011 Figure 11, DataBar Expanded", "(01)90012345678908(3103)001750",
     {"01": "90012345678908", "3103": "001750"}),
    ("GGS Figure 7.8.5.1-2, GS1-128", "(01)95012345678903(3102)000400",
     {"01": "95012345678903", "3102": "000400"}),
    ("GGS Figure 2.6.14-3, GS1 DataMatrix", "(01)09501101530003(17)150119(10)AB-123",
     {"01": "09501101530003", "17": "150119", "10": "AB-123"}),
    ("GGS Figure 4.15-1, GS1 DataMatrix", "(01)04012345678901(17)170101(10)ABC123",
     {"01": "04012345678901", "17": "170101", "10": "ABC123"}),
    ("GGS Figure 5.6.2-1, GS1 DataMatrix", "(01)09512345678901(15)170810(21)abcde",
     {"01": "09512345678901", "15": "170810", "21": "abcde"}),
    ("GGS Figure 4.15.1-1, GS1 DataMatrix",
     "(01)09504000059101(21)12345678p901(10)1234567p(17)141120(8200)http://www.gs1.org/demo/",
     {"01": "09504000059101", "21": "12345678p901", "10": "1234567p", "17": "141120",
      "8200": "http://www.gs1.org/demo/"}),
    ("GGS Figure 6.6.5-7, logistics label",
     "(00)093123450000000012(421)0362770(401)931234518430GR(403)MEL",
     {"00": "093123450000000012", "421": "0362770", "401": "931234518430GR", "403": "MEL"}),
]


@pytest.mark.parametrize("source,hri,expected", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_examples_parse_the_same_in_every_form(source, hri, expected):
    bracketed = gs1.parse(hri)
    assert bracketed.as_dict() == expected
    assert bracketed.hri() == hri
    for form in (raw(hri), "]C1" + raw(hri), "]d2" + raw(hri), GS + raw(hri)):
        assert gs1.parse(form) == bracketed, repr(form)


DIGITAL_LINKS = [
    # GS1 Digital Link standard 1.0 examples (short names lot/ser/exp are its 1.0 aliases)
    ("https://id.gs1.org/01/614141123452/lot/ABC1/ser/12345?exp=180426",
     {"01": "00614141123452", "10": "ABC1", "21": "12345", "17": "180426"}),
    ("https://id.gs1.org/01/614141123452?3103=000195",
     {"01": "00614141123452", "3103": "000195"}),
    ("https://id.gs1.org/00/106141412345678908?02=00614141123452&37=25&10=ABC123",
     {"00": "106141412345678908", "02": "00614141123452", "37": "25", "10": "ABC123"}),
    # GGS Figure 2.1.13.1: a Digital Link on a pack, with a path prefix and other keys
    ("https://example.com/01/09506000134369", {"01": "09506000134369"}),
    ("https://brand.example/products/01/09506000134352/10/L%2F7?17=271231&linkType=gs1:pip",
     {"01": "09506000134352", "10": "L/7", "17": "271231"}),
]


@pytest.mark.parametrize("uri,expected", DIGITAL_LINKS)
def test_digital_link_uris(uri, expected):
    assert gs1.parse(uri).as_dict() == expected


def test_net_weight_is_whole_grams_or_refused():
    assert gs1.parse("(01)90012345678908(3103)001750").net_weight_g() == 1750  # 1.750 kg
    assert gs1.parse("(01)95012345678903(3102)000400").net_weight_g() == 4000  # 4.00 kg
    assert gs1.parse("(01)95012345678903(3100)000002").net_weight_g() == 2000  # 2 kg
    assert gs1.parse("(01)95012345678903(3105)012300").net_weight_g() == 123   # 0.12300 kg
    with pytest.raises(Gs1Error) as exc:
        gs1.parse("(01)95012345678903(3104)012345").net_weight_g()  # 1.2345 kg: 1234.5 g
    assert exc.value.reason == "gs1_weight_resolution"
    assert gs1.parse("(01)90614141000015(3202)000150").net_weight_g() is None  # pounds


def test_price_takes_the_decimal_position_of_its_ai():
    assert gs1.parse("(01)95012345678903(3922)1299").price_minor(USD) == 1299    # 12.99
    assert gs1.parse("(01)95012345678903(3921)1299").price_minor(USD) == 12990   # 129.9
    assert gs1.parse("(01)95012345678903(3920)12").price_minor(USD) == 1200      # 12
    assert gs1.parse("(01)95012345678903(3923)12990").price_minor(USD) == 1299   # 12.990
    assert gs1.parse("(01)95012345678903(3920)12500").price_minor(KRW) == 12500  # ₩12,500
    assert gs1.parse("(01)95012345678903(3922)1250000").price_minor(KRW) == 12500
    for code, currency in (("(01)95012345678903(3923)12995", USD),
                           ("(01)95012345678903(3922)1250050", KRW)):
        with pytest.raises(Gs1Error) as exc:
            gs1.parse(code).price_minor(currency)
        assert exc.value.reason == "gs1_price_resolution"


def test_price_with_its_currency_must_be_the_stores():
    code = gs1.parse("(01)95012345678903(3932)9781299")  # EUR 12.99
    assert code.price_minor(EUR) == 1299
    with pytest.raises(Gs1Error) as exc:
        code.price_minor(USD)
    assert exc.value.reason == "gs1_currency"
    assert gs1.parse("(01)95012345678903(3930)41012500").price_minor(KRW) == 12500


def test_dates_with_their_century_and_day_zero():
    code = gs1.parse("(01)09501101530003(15)991231(17)270200")
    assert code.dates(TODAY) == {"15": date(1999, 12, 31), "17": date(2027, 2, 28)}
    # GGS 7.12: 49 years back, 50 ahead of the current year
    assert gs1.resolve_year(76, TODAY) == 2076
    assert gs1.resolve_year(77, TODAY) == 1977
    assert gs1.resolve_year(99, date(2051, 1, 1)) == 2099  # 2099 - 2051 = 48 ahead
    assert gs1.to_date("240200", TODAY) == date(2024, 2, 29)  # a leap year's last day


@pytest.mark.parametrize("text,reason", [
    ("(01)09501101530004", "gs1_check_digit"),
    ("(01)0950110153000", "gs1_bad_data"),          # 13 digits
    ("(17)261301(01)09501101530003", "gs1_bad_date"),  # month 13
    ("(17)260231", "gs1_bad_date"),                  # 31 February
    ("(10)" + "A" * 21, "gs1_bad_data"),             # a batch is at most 20
    ("(10)AB CD", "gs1_bad_data"),                   # space is not in set 82
    ("(3103)001250", "gs1_missing_gtin"),
    ("(01)09501101530003(02)09501101530003", "gs1_invalid_pair"),
    ("(01)09501101530003(3922)100(3932)978100", "gs1_invalid_pair"),
    ("(01)09501101530003(10)A(10)B", "gs1_duplicate_ai"),
    ("(23)1", "gs1_malformed"),                      # no such AI
    ("(01)09501101530003x", "gs1_malformed"),        # fixed length, then junk
    ("2309501101530003", "gs1_unknown_ai"),
    ("https://example.com/recipes/42", "gs1_malformed"),
    ("ftp://id.gs1.org/01/09501101530003", "gs1_malformed"),
])
def test_malformed_strings_say_why(text, reason):
    with pytest.raises(Gs1Error) as exc:
        gs1.parse(text)
    assert exc.value.reason == reason


def test_brackets_inside_data_are_data():
    assert gs1.parse("(10)A(B)(01)09501101530003").as_dict() == {
        "10": "A(B)", "01": "09501101530003"}


def test_the_table_has_every_measure_and_price_ai():
    for ai in ("3100", "3105", "3202", "3690", "3920", "3929", "3930", "3939"):
        assert ai in gs1.AIS
    assert gs1.AIS["3103"].fixed == 6 and gs1.AIS["10"].fixed is None
    assert gs1.AIS["8006"].fixed == 18 and gs1.AIS["253"].fixed is None


_AIS = st.sampled_from(["01", "10", "15", "17", "21", "3103", "3922", "3932", "8200", "00",
                        "7007", "8008", "422", "99", "235"])
_FORMS = [
    lambda els: "".join(f"({a}){v}" for a, v in els),
    lambda els: "".join(a + v + GS for a, v in els),
    lambda els: "]d2" + "".join(a + v for a, v in els),
    lambda els: ("https://id.gs1.org" + "".join(f"/{a}/{v}" for a, v in els[:2]) + "?"
                 + "&".join(f"{a}={v}" for a, v in els[2:])),
]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(max_size=60), st.builds(
    lambda els, form: _FORMS[form](els),
    st.lists(st.tuples(_AIS, st.text("0123456789AB-/()%:\\", max_size=22)), min_size=1,
             max_size=4), st.integers(0, len(_FORMS) - 1))))
def test_any_text_parses_or_says_why_and_the_hri_parses_back_the_same(text):
    """Outside input: a Gs1Error or an element string whose bracketed form (what the scanner
    sends kiosk-core) parses back to the same elements, brackets inside data included."""
    try:
        elements = gs1.parse(text)
    except Gs1Error:
        return
    assert gs1.parse(elements.hri()) == elements
    for currency in (USD, KRW):
        with contextlib.suppress(Gs1Error):
            elements.price_minor(currency)
    with contextlib.suppress(Gs1Error):
        elements.net_weight_g()
        elements.dates(TODAY)


def test_a_bracket_in_data_is_escaped_in_the_bracketed_form():
    code = gs1.parse("0109501101530003" "10A(21)B")  # raw: the batch is "A(21)B"
    assert code.as_dict() == {"01": "09501101530003", "10": "A(21)B"}
    assert code.hri() == "(01)09501101530003(10)A\\(21)B"
    assert gs1.parse(code.hri()) == code
