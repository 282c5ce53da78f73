"""EMVCo merchant-presented payloads: published examples parse and their CRC checks (and
rebuild byte for byte where they follow our field order), malformed ones are refused, and
what build_mpm makes always round-trips (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.emvqr import (
    AltLanguage,
    MerchantAccount,
    MpmError,
    amount_minor,
    build_mpm,
    crc16_ccitt_false,
    parse_mpm,
)
from kiosk.domain.money import Currency

# Published payloads, each with where it was published (every CRC checks as published).
EMVCO_ANNEX = (  # EMV QRCPS Merchant-Presented Mode v1.1, the specification's own example
    # (quoted in dongri/emv-qrcode README "MPM Parse", the Exemvi and @promani/emvqr docs)
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.72"
    "53031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708"
    "123456786304A13A")
DONGRI_JP = (  # dongri/emv-qrcode README, MPM generate output (UnionPay-reserved ID 15)
    "0002010102121516ABCDEF123456789052045311530339254039995802JP5906DONGRI6005TOKYO"
    "62240104hoge0504fuga0704piyo63043FE6")
KHQR = (  # phannaly/emv-qr-code README, Merchant Presented Mode decode (Cambodia, USD)
    "00020101021252044131153137210116372101160123456789ABCDE6016Banteay Meanchey"
    "5913Kuntheas Shop5802KH540510.005303840621201081234567863041FF2")
PROMPTPAY_150 = (  # PromptPay (Thai QR Payment, tag 29 A000000677010111), 150.00 THB,
    # quoted in thai-qr-payment's dist smoke test and the promptpay-qr reference payloads
    "00020101021229370016A000000677010111011300668123456785802TH53037645406150.006304CC46")
PROMPTPAY_STATIC = (  # promptpay-qr reference payload, static (no amount)
    "00020101021129370016A000000677010111011300668123456785802TH530376463045D82")
SGQR_PAYNOW = (  # SGQR / PayNow (tag 26 SG.PAYNOW, UEN proxy), from a QR render test
    "00020101021126490009SG.PAYNOW010120210201403121W03011040820301231520400005303702"
    "5802SG5913ACME Pte Ltd.6009Singapore6304B69E")
DUITNOW = (  # DuitNow QR (PayNet tag 26 A000000615000101) with 64 EN, an AsiaPay answer
    # quoted in an AsiaPay/PayDollar Android SDK
    "00020101021226600014A000000615000101068900460228JjXrENybjHu7ag3sShhEmDUh3amy"
    "520472985303458540115802MY5917AsiaPay-POS Sub 16006Kangar624005073UktVjo0725"
    "FUXkHSHGrI6uP98B4JsvUpybc64270002EN0117AsiaPay-POS Sub 163047BF7")
PUBLISHED = [EMVCO_ANNEX, DONGRI_JP, SGQR_PAYNOW, DUITNOW]
#: issued by national schemes, outside EMVCo's letter: PromptPay leaves out 52/59/60, the
#: KHQR city has 16 characters (EMVCo: at most 15)
NATIONAL = [KHQR, PROMPTPAY_150, PROMPTPAY_STATIC]

CNY = Currency("CNY", 156, 2)
KRW = Currency("KRW", 410, 0)


def test_crc_is_ccitt_false():
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue's check value


@pytest.mark.parametrize("payload", PUBLISHED + NATIONAL)
def test_published_payloads_parse_and_their_crc_checks(payload):
    strict = payload not in NATIONAL
    if not strict:
        with pytest.raises(MpmError, match="mandatory|length"):
            parse_mpm(payload)
    got = parse_mpm(payload, strict=strict)
    assert got["format"] == "01" and got["crc"] == payload[-4:]
    assert "".join(f"{i}{len(v):02d}{v}" for i, v in got["objects"]) == payload
    broken = payload[:-5] + ("0" if payload[-5] != "0" else "1") + payload[-4:]
    with pytest.raises(MpmError):  # one character changed: the CRC no longer checks
        parse_mpm(broken, strict=False)


def test_the_specification_example_field_by_field():
    got = parse_mpm(EMVCO_ANNEX)
    assert got["dynamic"] and got["mcc"] == "4111" and got["currency"] == "156"
    assert got["accounts"]["29"] == {"00": "D15600000000", "05": "A93FO3230Q"}
    assert got["accounts"]["31"] == {"00": "D15600000001", "03": "12345678"}
    assert (got["amount"], got["country"], got["name"], got["city"]) == (
        "23.72", "CN", "BEST TRANSPORT", "BEIJING")
    assert got["tip"] == {"55": "01"}
    assert got["additional"] == {"03": "1234", "06": "***", "07": "A6008667", "09": "ME"}
    assert got["language"] == {"language": "ZH", "name": "最佳运输", "city": "北京"}
    assert got["unreserved"] == {"91": {"00": "A011223344998877", "07": "12345678"}}
    assert amount_minor(got, CNY) == 2372


def test_a_promptpay_payload_rebuilds_to_the_same_objects_but_what_emvco_requires():
    """PromptPay's 150.00 THB payload, rebuilt from its fields by build_mpm (which writes
    the 52/59/60 EMVCo requires and PromptPay omits, in ID order where PromptPay puts 58
    before 53): the same data objects otherwise, values and lengths included."""
    thb = Currency("THB", 764, 2)
    got = parse_mpm(PROMPTPAY_150, strict=False)
    assert got["accounts"] == {"29": {"00": "A000000677010111", "01": "0066812345678"}}
    assert amount_minor(got, thb) == 15000
    rebuilt = parse_mpm(build_mpm(
        accounts=[MerchantAccount("29", "A000000677010111", (("01", "0066812345678"),))],
        mcc="5411", currency=thb, amount_minor=15000, country="TH", name="Shop",
        city="Bangkok"))
    kept = sorted(o for o in rebuilt["objects"] if o[0] not in ("52", "59", "60", "63"))
    assert kept == sorted(o for o in got["objects"] if o[0] != "63")


def test_a_zero_exponent_amount_reads_in_its_currency():
    jpy = Currency("JPY", 392, 0)
    assert amount_minor(parse_mpm(DONGRI_JP), jpy) == 999
    with pytest.raises(MpmError, match="not CNY"):
        amount_minor(parse_mpm(DONGRI_JP), CNY)


@pytest.mark.parametrize("payload,why", [
    ("", "empty"),
    ("000201" + "6304ABCD", "crc wrong"),
    (DONGRI_JP.replace("000201", "000202", 1), "format 02"),
    (DONGRI_JP[6:], "00 not first"),
    (DONGRI_JP + "0000", "crc not last"),
    (DONGRI_JP[:-4] + DONGRI_JP[-4:].lower(), "lower-case crc"),
    ("0002010102125204531153033925802JP5906DONGRI6005TOKYO6304", "no account, no crc"),
    ("00020101021" + "9" * 600, "too long"),
])
def test_malformed_payloads_are_refused(payload, why):
    with pytest.raises(MpmError):
        parse_mpm(payload)


def _with_crc(body: str) -> str:
    body += "6304"
    return body + f"{crc16_ccitt_false(body.encode()):04X}"


@pytest.mark.parametrize("body,match", [
    ("00020101021326150011example.com52045311530339258" "02JP5906DONGRI6005TOKYO",
     "initiation"),
    ("0002010102122615" "0111example.com" "5204531153033925802JP5906DONGRI6005TOKYO",
     "globally unique"),
    ("000201010212261500" "11example.com5204531153033925802JP5906DONGRI6005TOKYO"
     "5802JP", "twice"),
    ("00020101021226150011example.com5204531153033925404x.005802JP5906DONGRI6005TOKYO",
     "amount"),
    ("00020101021226150011example.com520453115303392" "5802JP5906DONGRI6016" + "T" * 16,
     "length"),
    ("00020101021226150011example.com5204531153033925802JP5906DONGRI6005TOKYO"
     "64060002ZH", "template 64"),
])
def test_rule_breaking_payloads_with_a_good_crc_are_refused(body, match):
    with pytest.raises(MpmError, match=match):
        parse_mpm(_with_crc(body))


def test_build_for_the_kiosk_round_trips():
    payload = build_mpm(
        accounts=[MerchantAccount("26", "com.example.qrpay", (("01", "M100200300"),))],
        mcc="5411", currency=CNY, amount_minor=12345, country="CN",
        name="Harbour Street Market", city="Shanghai", bill_number="L01T000042",
        reference_label="K01L01A7", language=AltLanguage("ZH", "港湾街市场", "上海"))
    got = parse_mpm(payload)
    assert payload.startswith("000201010212") and payload[-8:-4] == "6304"
    assert got["accounts"] == {"26": {"00": "com.example.qrpay", "01": "M100200300"}}
    assert (got["amount"], amount_minor(got, CNY)) == ("123.45", 12345)
    assert got["additional"] == {"01": "L01T000042", "05": "K01L01A7"}
    assert got["language"] == {"language": "ZH", "name": "港湾街市场", "city": "上海"}
    won = parse_mpm(build_mpm(accounts=[MerchantAccount("26", "D4100000014010")], mcc="5411",
                              currency=KRW, amount_minor=3500, country="KR",
                              name="Harbour Mart", city="Seoul",
                              language=AltLanguage("KO", "하버 마트", "서울")))
    assert won["amount"] == "3500" and amount_minor(won, KRW) == 3500


@pytest.mark.parametrize("change,match", [
    ({"name": "N" * 26}, "59"), ({"city": "C" * 16}, "60"), ({"amount_minor": 0}, "positive"),
    ({"bill_number": "B" * 26}, "longer than 25"), ({"accounts": []}, "at least one"),
    ({"accounts": [MerchantAccount("25", "x")]}, "26-51"), ({"mcc": "54"}, "52"),
])
def test_build_refuses_what_the_rules_forbid(change, match):
    args = {"accounts": [MerchantAccount("26", "com.example.qrpay")], "mcc": "5411",
            "currency": CNY, "amount_minor": 100, "country": "CN", "name": "Shop",
            "city": "Shanghai", **change}
    with pytest.raises(MpmError, match=match):
        build_mpm(**args)


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                max_size=25)
_REF = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_", min_size=1,
               max_size=25)


@settings(max_examples=150, deadline=None)
@given(name=_TEXT, city=_TEXT.map(lambda s: s[:15]), amount=st.integers(1, 10**11 - 1),
       exponent=st.sampled_from([0, 2]), bill=_REF, ref=_REF,
       guid=st.text("ABCDEF0123456789", min_size=5, max_size=32),
       alt=st.one_of(st.none(), st.tuples(st.sampled_from(["ZH", "KO", "EN"]), _TEXT)),
       dynamic=st.booleans())
def test_whatever_build_makes_parses_back_to_the_same(name, city, amount, exponent, bill, ref,
                                                       guid, alt, dynamic):
    cur = Currency("CNY", 156, 2) if exponent == 2 else KRW
    payload = build_mpm(accounts=[MerchantAccount("26", guid, (("01", "M1"),))], mcc="5411",
                        currency=cur, amount_minor=amount, country="CN", name=name, city=city,
                        dynamic=dynamic, bill_number=bill, reference_label=ref,
                        language=AltLanguage(alt[0], alt[1]) if alt else None)
    got = parse_mpm(payload)
    assert (got["name"], got["city"], amount_minor(got, cur)) == (name, city, amount)
    assert got["additional"] == {"01": bill, "05": ref} and got["dynamic"] == dynamic
    assert got["accounts"]["26"]["00"] == guid
    if alt:
        assert got["language"]["name"] == alt[1]
    # any one character changed is caught (by the CRC if not by the structure)
    i = len(payload) // 2
    changed = payload[:i] + ("X" if payload[i] != "X" else "Y") + payload[i + 1:]
    with pytest.raises(MpmError):
        parse_mpm(changed)
