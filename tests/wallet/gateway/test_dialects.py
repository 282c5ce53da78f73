"""The dialects' signing and reading rules on published examples and hand-made answers:
WeChat Pay v2's HMAC-SHA256 example, Alipay's string to sign, the raw response node an
Alipay signature covers, XML that is refused, an answer about another order."""

from __future__ import annotations

import json

import pytest

from kiosk.payments.wallet.config import Keys, WalletOptions
from kiosk.payments.wallet.dialect import BadAnswer
from kiosk.payments.wallet.generic import GenericDialect
from kiosk.payments.wallet.signing import (
    body_sign,
    raw_json_member,
    sorted_params,
    wechat_sign,
    wechat_verify,
)
from kiosk.payments.wallet.wechat import from_xml, to_xml

SECRET = b"0123456789abcdef0123456789abcdef"


def test_wechat_hmac_sha256_published_example():
    """The example of WeChat Pay v2's signature rules (key 192006250b4c...)."""
    params = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
              "body": "test", "nonce_str": "ibuaiVcKdpRxkhJA"}
    key = b"192006250b4c09247ec02edce69f6a2d"
    assert sorted_params(params) == ("appid=wxd930ea5d5a258f4f&body=test&device_info=1000"
                                     "&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA")
    sign = wechat_sign(params, key)
    assert sign == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    assert wechat_verify({**params, "sign": sign}, key)
    assert not wechat_verify({**params, "body": "test2", "sign": sign}, key)
    assert wechat_sign({**params, "attach": ""}, key) == sign     # empty values are left out


def test_alipay_string_to_sign():
    """The shape of Alipay's open-platform example (biz_content shortened): sorted by name,
    ``sign`` left out, values as they are."""
    params = {"method": "alipay.mobile.public.menu.add", "charset": "GBK",
              "sign_type": "RSA2", "timestamp": "2014-07-24 03:07:50",
              "biz_content": '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out"}]}',
              "app_id": "2014072300007148", "version": "1.0", "sign": "ignored"}
    assert sorted_params(params) == (
        'app_id=2014072300007148&biz_content={"button":[{"actionParam":"ZFB_HFCZ",'
        '"actionType":"out"}]}&charset=GBK&method=alipay.mobile.public.menu.add'
        "&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0")
    assert "sign_type" not in sorted_params(params, exclude=("sign", "sign_type"))


def test_alipay_signature_covers_the_raw_response_node():
    text = ('{"alipay_trade_query_response" : {"code" : "10000", "msg":"Success",'
            ' "x":{"y":[1, 2]}} ,"sign":"abc"}')
    assert raw_json_member(text, "alipay_trade_query_response") == (
        '{"code" : "10000", "msg":"Success", "x":{"y":[1, 2]}}')
    assert raw_json_member(text, "alipay_trade_pay_response") is None


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>',
    b"<xml><a><b>nested</b></a></xml>",
    b"<other><a>1</a></other>",
    b"not xml"])
def test_wechat_refuses_xml_it_does_not_expect(body):
    with pytest.raises(BadAnswer):
        from_xml(body)


def test_wechat_xml_round_trip_keeps_cdata_text():
    fields = {"body": "店 ]]> lane", "total_fee": "1"}
    assert from_xml(to_xml(fields)) == fields


def test_an_answer_about_another_order_does_not_count():
    dialect = GenericDialect(WalletOptions(), Keys(ca_file=None, secret=SECRET))  # type: ignore[arg-type]
    body = json.dumps({"order_no": "K2", "trade": "paid", "paid_amount": 100}).encode()
    headers = {"X-Signature": body_sign(body, SECRET)}
    assert dialect.answer("query", "K2", 200, headers, body).trade == "paid"
    with pytest.raises(BadAnswer, match="another order"):
        dialect.answer("query", "K1", 200, headers, body)
    with pytest.raises(BadAnswer, match="signature"):
        dialect.answer("query", "K2", 200, {"X-Signature": body_sign(body, b"x" * 32)}, body)
    with pytest.raises(BadAnswer, match="HTTP 502"):
        dialect.answer("query", "K2", 502, headers, body)
