"""Wallet payment codes: the published shapes, the EMVCo consumer-presented payload, the
collisions with item codes (decided by symbology too), masking, and the bus contract of the
one message that carries a code (``wallet_code``: only from kiosk-scanner)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.bus.acl import acl_text, may_send
from kiosk.bus.messages import MessageError, command, parse_command
from kiosk.domain import tlv
from kiosk.domain.codes import Classifier
from kiosk.domain.gtin import VariableMeasureConfig, check_digit
from kiosk.domain.wallet_codes import (
    CpmError,
    classify_wallet,
    masked,
    numeric_kind,
    parse_cpm,
)

# Published EMVCo consumer-presented payloads (EMV QRCPS Consumer-Presented Mode v1.1,
# examples with the test AIDs A0000000555555/666666 and the test PAN 1234567890123458):
CPM_SPEC_EXAMPLE_1 = "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8="
# ^ quoted in kenmaz/JPQRReader CPMDecoderTests.swift (testEMVCPM_Example1): one
#   application template with AID 4F and track 2 equivalent 57
CPM_SPEC_EXAMPLE_2 = (
    "hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8g"
    "DkNBUkRIT0xERVIvRU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw==")
# ^ dongri/emv-qrcode README (CPM example) and mvallim/emv-qrcode ConsumerPresentedModeTest:
#   two application templates (4F, 50), a common data template 62 with PAN 5A, cardholder
#   name, language, and a transparent template 64 (IAD, cryptogram, ATC, UN)

CLASSIFY = Classifier(VariableMeasureConfig())


@pytest.mark.parametrize("text,kind", [
    ("134567890123456789", "wechat"), ("101234567890123456", "wechat"),
    ("151234567890123456", "wechat"),
    ("2512345678901234", "alipay"), ("281234567890123456", "alipay"),
    ("301234567890123456789012", "alipay"),
    ("6212345678901234560", "unionpay"),
])
def test_published_numeric_shapes(text, kind):
    assert numeric_kind(text) == kind
    for symbology in ("QRCode", "Code128", ""):
        got = CLASSIFY(text, symbology)
        assert (got.cls, got.ok, got.forward, got.detail) == ("wallet", True, False,
                                                              {"kind": kind})


@pytest.mark.parametrize("text", [
    "161234567890123456", "091234567890123456",  # 18 digits, prefix not 10-15
    "13456789012345678", "1345678901234567890",  # WeChat prefix, 17 / 19 digits
    "241234567890123456", "311234567890123456",  # prefix just outside Alipay's 25-30
    "251234567890123", "2512345678901234567890123",  # 15 / 25 digits
    "621234567890123456", "62123456789012345678",  # UnionPay prefix, 18 / 20 digits
    "6312345678901234567",  # 19 digits, prefix 63
    "13456789012345678a", "１３４５６７８９０１２３４５６７８９",  # not ASCII digits
])
def test_near_shapes_are_not_wallet_codes(text):
    assert numeric_kind(text) is None
    assert CLASSIFY(text, "QRCode").cls != "wallet"


@pytest.mark.parametrize("symbology", ["ITF", "EAN13", "DataBar", "DataMatrix", "Code39",
                                       "PDF417", "Aztec"])
def test_a_wallet_shape_in_another_symbology_is_not_a_wallet_code(symbology):
    """An 18-digit ITF (an SSCC printed without its AI 00) has WeChat's shape: wallets draw
    their codes only as QR or Code 128, so it is never taken for one (nor for an item)."""
    for text in ("134567890123456789", "281234567890123456", "6212345678901234560"):
        got = CLASSIFY(text, symbology)
        assert got.cls not in ("wallet", "product", "variable_measure"), (text, symbology)
        assert not got.forward
    assert CLASSIFY(CPM_SPEC_EXAMPLE_1, "Code128").cls != "wallet"  # CPM is QR only


def test_no_item_code_is_taken_for_a_wallet_code():
    """GTINs (8-14 digits), GS1 element strings in every form a reader gives them (HRI,
    raw with GS, AIM ]C1, bare digits from AI 01), GS1 coupons: none is a wallet code."""
    gtin14 = "0950110153000" + str(check_digit("0950110153000"))
    items = ["8801043444279", "070666928444", "40045467", gtin14,
             f"(01){gtin14}(17)251231(10)AB12", f"01{gtin14}17251231" "10AB12\x1d3103001234",
             f"]C101{gtin14}17251231", f"01{gtin14}17251231", f"(00)1{'3' * 16}7",
             "(8110)106141416543213500110000310123196000"]
    for text in items:
        for symbology in ("Code128", "QRCode", "DataBar", "ITF", ""):
            assert CLASSIFY(text, symbology).cls != "wallet", (text, symbology)


@given(st.text(alphabet="0123456789", min_size=1, max_size=30),
       st.sampled_from(["QRCode", "Code128", "", "ITF", "EAN13"]))
def test_digits_are_a_wallet_code_exactly_by_the_published_rules(text, symbology):
    got = classify_wallet(text, symbology)
    n, p = len(text), int(text[:2]) if len(text) >= 2 else -1
    expected = None
    if symbology in ("QRCode", "Code128", ""):
        if n == 18 and 10 <= p <= 15:
            expected = "wechat"
        elif 16 <= n <= 24 and 25 <= p <= 30:
            expected = "alipay"
        elif n == 19 and p == 62:
            expected = "unionpay"
    assert (got.kind if got else None) == expected
    if got:
        assert text not in repr(got) and text not in got.masked


@pytest.mark.parametrize("payload", [CPM_SPEC_EXAMPLE_1, CPM_SPEC_EXAMPLE_2])
def test_published_cpm_examples_are_emvco_wallet_codes(payload):
    objs = parse_cpm(payload)
    assert objs[0].tag == "85" and objs[0].value == b"CPV01"
    assert {o.tag for o in objs[1:]} <= {"61", "62"}
    got = CLASSIFY(payload, "QRCode")
    assert (got.cls, got.detail, got.forward) == ("wallet", {"kind": "emvco_cpm"}, False)
    assert got.masked == "<emvco_cpm payment code>" and payload not in repr(got)


def test_cpm_example_1_holds_what_the_spec_says():
    (indicator, app) = parse_cpm(CPM_SPEC_EXAMPLE_1)
    assert app.tag == "61"
    assert app.find("4F").value.hex().upper() == "A0000000555555"
    assert app.find("57").value.hex().upper().startswith("1234567890123458D")


def _b64(*objs: tuple[str, bytes]) -> str:
    return base64.b64encode(tlv.encode_many(list(objs))).decode()


APP = tlv.encode_many([("4F", bytes.fromhex("A0000000555555")),
                       ("57", bytes.fromhex("1234567890123458D191220112345F"))])


@pytest.mark.parametrize("payload,why", [
    (_b64(("85", b"CPV01")), "no application template"),
    (_b64(("85", b"CPV02"), ("61", APP)), "other version"),
    (_b64(("61", APP), ("85", b"CPV01")), "85 not first"),
    (_b64(("85", b"CPV01"), ("61", tlv.encode("4F", bytes.fromhex("A0000000555555")))),
     "no track 2 nor PAN"),
    (_b64(("85", b"CPV01"), ("61", tlv.encode("57", bytes.fromhex("1234D191")))), "no AID"),
    (_b64(("85", b"CPV01"), ("61", APP), ("9F26", bytes(8))), "stray top-level tag"),
    (_b64(("85", b"CPV01"), ("61", APP))[:-4], "truncated"),
    ("hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8", "bad base64 padding"),
    ("hQVDUFYw" + "A" * 600, "too long"),
])
def test_malformed_cpm_payloads_are_refused_without_echoing_them(payload, why):
    with pytest.raises(CpmError) as err:
        parse_cpm(payload)
    assert payload not in str(err.value)
    assert CLASSIFY(payload, "QRCode").cls != "wallet", why


@given(st.binary(max_size=200))
def test_cpm_parser_never_raises_anything_else(data):
    text = base64.b64encode(bytes.fromhex("8505") + b"CPV01" + data).decode()
    try:
        parse_cpm(text)
    except CpmError:
        pass


def test_masked_shows_the_kind_only():
    assert masked("wechat") == "<wechat payment code>"


# -- the one message that carries a code -------------------------------------------------


@pytest.mark.parametrize("code,kind", [("134567890123456789", "wechat"),
                                       (CPM_SPEC_EXAMPLE_2, "emvco_cpm")])
def test_wallet_code_command_parses(code, kind):
    msg = command("wallet_code", source="scanner", code=code, kind=kind)
    cmd = parse_command(json.dumps(msg).encode(), 16384)
    assert (cmd["type"], cmd["code"], cmd["kind"]) == ("wallet_code", code, kind)


@pytest.mark.parametrize("fields", [
    {"code": "134567890123456789", "kind": "paypal"},
    {"code": "1345678901234", "kind": "wechat"},  # shorter than any wallet code
    {"code": "13456789012345678 9", "kind": "wechat"},
    {"kind": "wechat"},
])
def test_malformed_wallet_code_commands_are_refused_without_echoing_the_code(fields):
    msg = {"v": 1, "type": "wallet_code", "id": "abcd1234", "source": "scanner", **fields}
    with pytest.raises(MessageError) as err:
        parse_command(json.dumps(msg).encode(), 16384)
    assert "code" not in fields or fields["code"] not in str(err.value)


def test_only_the_scanner_may_send_a_wallet_code():
    cmd = {"type": "wallet_code"}
    assert may_send("scanner", cmd)
    for service in ("ui", "voice", "gpio", "cli", "fault", "core"):
        assert not may_send(service, cmd), service  # kiosk-cli's "*" does not cover it


def test_only_kiosk_core_may_read_the_scanner_command_topic():
    """The broker's ACL: kiosk-core reads every command topic; kiosk-cli reads the whole
    tree but the scanner's command topic is denied to it; no other user reads it."""
    users: dict[str, list[str]] = {}
    for block in acl_text().split("\n\nuser ")[1:]:
        name, *lines = block.strip().splitlines()
        users[name] = lines
    scanner_cmds = "kiosk/v1/+/cmd/from/scanner"
    assert "topic read kiosk/v1/+/cmd/from/+" in users["kiosk-core"]
    assert f"topic deny {scanner_cmds}" in users["kiosk-cli"]
    for name, lines in users.items():
        reads = [ln.split()[-1] for ln in lines if ln.startswith("topic read")]
        if name not in ("kiosk-core", "kiosk-cli"):
            assert not any(r.endswith(("#", "/+", "/scanner")) and "cmd" in r
                           or r.startswith("kiosk/v1/#") for r in reads), name
