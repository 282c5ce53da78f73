"""Classification of decoded texts, GS1 parsing, UPC-E expansion and masking."""

from __future__ import annotations

import pytest

from kiosk.domain.codes import gs1_elements, mask, upce_to_upca
from kiosk.domain.gtin import check_digit, is_valid_gtin


def ean(body: str) -> str:
    return body + str(check_digit(body))


@pytest.mark.parametrize("text,symbology,cls,forward", [
    ("8801043444279", "EAN13", "product", True),
    ("070666928444", "UPCA", "product", True),
    ("0070666928444", "EAN13", "product", True),
    ("40045467", "EAN8", "product", True),
    ("04252614", "UPCE", "product", True),
    ("(01)09501101530003", "DataBar", "product", True),
    ("0109501101530003", "DataBar", "product", True),
    (ean("250401101200"), "EAN13", "variable_measure", True),
    (ean("200401100450"), "EAN13", "variable_measure", True),
    ("134567890123456789", "Code128", "wallet", False),  # WeChat Pay: 18 digits, 10-15
    ("101234567890123456", "QRCode", "wallet", False),
    ("2812345678901234", "QRCode", "wallet", False),  # Alipay: 16-24 digits, 25-30
    ("301234567890123456789012", "Code128", "wallet", False),
    ("wxp://f2f0XkBqZ3Mh1", "QRCode", "payment", False),
    ("https://qr.alipay.com/bax08431wkl2x9ypztd9", "QRCode", "payment", False),
    ("COUPON:SAVE5-000173", "QRCode", "coupon", False),
    (ean("990000012345"), "EAN13", "coupon", False),
    (ean("51234567890"), "UPCA", "coupon", False),
    ("(8110)106141416543213500110000310123196000", "DataBarExp", "coupon", False),
    ("STAFF:S100-7731", "Code128", "staff_badge", True),
    ("https://example.com/recipes/42", "QRCode", "unknown", False),
    ("HELLO WORLD", "Code128", "unknown", False),
    ("12345", "Code128", "unknown", False),
])
def test_classes(classify, text, symbology, cls, forward):
    got = classify(text, symbology)
    assert (got.cls, got.ok, got.forward) == (cls, cls != "unknown", forward)


@pytest.mark.parametrize("text", [
    "191234567890123456",  # 18 digits but prefix 19: not WeChat
    "24123456789012345678",  # prefix 24: not Alipay
    "251234567890123",  # 15 digits: too short for Alipay
    "2512345678901234567890123",  # 25 digits: too long
])
def test_near_payment_codes_are_not_payments(classify, text):
    assert classify(text, "Code128").cls not in ("payment", "wallet")


def test_product_with_a_wrong_check_digit_is_rejected(classify):
    got = classify("8801043444270", "EAN13")
    assert (got.cls, got.ok, got.forward, got.reason) == ("product", False, False, "check_digit")


def test_keys_unify_the_forms_of_one_gtin(classify):
    keys = {classify("070666928444", "UPCA").key, classify("0070666928444", "EAN13").key,
            classify("(01)00070666928444", "DataBar").key}
    assert keys == {"00070666928444"}


def test_variable_measure_detail_and_code(classify):
    got = classify(ean("250401101200"), "EAN13")
    assert got.detail == {"plu": "04011", "weight_g": 1200}
    assert got.code == ean("250401101200")  # kiosk-core decodes the same 13 digits
    price = classify(ean("200401100450"), "EAN13")
    assert price.detail == {"plu": "04011", "price_minor": 450}


def test_gs1_measure_goes_to_the_core_with_its_weight(classify):
    got = classify("(01)09501101530003(3103)001234(21)SERIAL7", "DataBarExp")
    assert (got.cls, got.ok, got.forward, got.reason) == ("variable_measure", True, True, "")
    # reduced to what the lane sells from (the serial is not), the HRI kiosk-core parses
    assert got.code == got.key == "(01)09501101530003(3103)001234"


def test_long_or_spaced_badges_are_not_forwarded(classify):
    assert not classify("STAFF:" + "X" * 130, "QRCode").forward
    assert not classify("STAFF:has space", "QRCode").ok


@pytest.mark.parametrize("text", ["", "\x00\x01", "x" * 600, "abc\ndef"])
def test_unreadable_texts_are_unknown(classify, text):
    got = classify(text, "QRCode")
    assert (got.cls, got.ok, got.forward) == ("unknown", False, False)


def test_upce_expansion_matches_zxing():
    """Each UPC-E pattern (last digit 0-9) expanded here equals what zxing-cpp reads."""
    import numpy as np
    import zxingcpp

    assert upce_to_upca("04252614") == "042100005264"
    assert upce_to_upca("01234565") == "012345000065"
    for body in ("012340", "012341", "012342", "125453", "012344", "012345", "065439"):
        for upca_check in range(10):
            upce = "0" + body + str(upca_check)
            upca = upce_to_upca(upce)
            if is_valid_gtin(upca):
                break
        img = np.asarray(zxingcpp.create_barcode(upce, zxingcpp.BarcodeFormat.UPCE).to_image(
            scale=3))
        (read,) = zxingcpp.read_barcodes(img)
        assert read.text.lstrip("0") == upca.lstrip("0"), (upce, read.text, upca)


def test_gs1_parsing_hri_and_raw():
    assert gs1_elements("(01)09501101530003(10)AB12").as_dict() == {
        "01": "09501101530003", "10": "AB12"}
    raw = "0109501101530003" + "10AB12\x1d" + "3103001234"
    assert gs1_elements(raw).as_dict() == {"01": "09501101530003", "10": "AB12",
                                           "3103": "001234"}
    assert gs1_elements("(01") is None
    assert gs1_elements("hello") is None


def test_mask_keeps_only_the_last_four():
    assert mask("134567890123456789") == "**************6789"
    assert mask("1234") == "****"


def test_masked_form_hides_secrets(classify):
    assert classify("134567890123456789", "QRCode").masked == "<wechat payment code>"
    for text in ("STAFF:S100-7731", "COUPON:SAVE5-000173",
                 "https://qr.alipay.com/bax08431wkl2x9ypztd9"):
        got = classify(text, "QRCode")
        assert text not in got.masked and got.masked.endswith(text[-4:])
    assert classify("8801043444279", "EAN13").masked == "8801043444279"


GS1_FORMS = [  # one GS1-128 (GTIN, best before, lot, net weight) as readers give it
    "(01)09501101530003(17)251231(10)AB12(3103)001234",  # zxing-cpp: HRI
    "0109501101530003" "17251231" "10AB12\x1d" "3103001234",  # zbar: raw, GS after the lot
    "]C10109501101530003" "17251231" "10AB12\x1d" "3103001234",  # wedge: AIM identifier
]


@pytest.mark.parametrize("text", GS1_FORMS)
def test_every_form_of_a_gs1_code_is_one_text_and_one_key(classify, text):
    from kiosk.domain.codes import normalise

    assert normalise(text) == GS1_FORMS[0]
    got = classify(text, "Code128")
    assert (got.cls, got.ok, got.forward) == ("variable_measure", True, True)
    assert got.key == got.code == GS1_FORMS[0]


@pytest.mark.parametrize("text,code", [
    ("(01)09501101530003(17)251231(10)AB12", "(01)09501101530003(17)251231(10)AB12"),
    # zbar drops FNC1: bare digits and letters
    ("01095011015300031725123110AB12", "(01)09501101530003(17)251231(10)AB12"),
    ("010950110153000317251231", "(01)09501101530003(17)251231"),  # all digits
    ("https://id.gs1.org/01/09501101530003/10/AB12?17=251231&linkType=gs1:pip",
     "(01)09501101530003(10)AB12(17)251231"),  # a Digital Link QR
    ("0109501101530003", "09501101530003"),
    ("(01)09501101530003(21)12345", "09501101530003"),  # a serial: nothing to sell from
])
def test_gs1_products_go_with_their_dates_and_batch(classify, text, code):
    """Dates and batch travel to kiosk-core (it refuses an expired or recalled item); a
    code with nothing but its GTIN to sell from is that GTIN."""
    got = classify(text, "Code128")
    assert (got.cls, got.ok, got.forward, got.key, got.code) == (
        "product", True, True, code, code)


@pytest.mark.parametrize("text,cls", [
    ("134567890123456789", "wallet"),  # WeChat: digits that are no GS1 string
    ("2812345678901234", "wallet"),
    ("0109501101530004", "unknown"),  # AI 01 with a wrong check digit: not taken as GS1
    ("10012345678902", "product"),  # an ITF-14/GTIN-14 stays a GTIN
])
def test_bare_digits_are_gs1_only_when_they_parse_from_a_gtin(classify, text, cls):
    assert classify(text, "Code128").cls == cls


def test_the_synthetic_codes_are_what_they_claim(classify):
    """The scanner simulator's codes are data (GTINs with their check digit, GS1-128 as
    encoded): each classifies as the class it names, and a GS1-128's encoded form (FNC1
    after variable-length elements) is its HRI text."""
    from kiosk_drivers.scanner.sim.synth import FNC1, SPECS

    from kiosk.domain.codes import GS, normalise

    for spec in SPECS.values():
        assert classify(spec.text, spec.symbology).cls == spec.cls, spec.name
        if spec.encoded:
            assert normalise(spec.encoded.replace(FNC1, GS)) == spec.text, spec.name
    assert sum(bool(s.encoded) for s in SPECS.values()) == 2
