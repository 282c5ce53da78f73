"""The gateway side of the three wallet dialects, for ``kiosk sim qrpay``: read a lane's
request (signature checked, as a real gateway does) and write the signed answer or
notification. The lane side is :mod:`kiosk.payments.wallet` (generic, alipay, wechat); the
field names and codes here are the same ones, seen from the other end.

:class:`Outcome` is the simulator's neutral word for what happened to an order; each
``render_*`` turns it into the dialect's wire form.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import serialization

from kiosk.payments.wallet.alipay import METHODS as ALIPAY_METHODS
from kiosk.payments.wallet.alipay import china_time, response_node
from kiosk.payments.wallet.dialect import BadAnswer, major, minor
from kiosk.payments.wallet.signing import (
    body_sign,
    body_verify,
    rsa2_sign,
    rsa2_verify,
    sorted_params,
    wechat_sign,
    wechat_verify,
)
from kiosk.payments.wallet.wechat import PATHS as WECHAT_PATHS
from kiosk.payments.wallet.wechat import from_xml, to_xml

ALIPAY_OPS = {method: op for op, method in ALIPAY_METHODS.items()}
WECHAT_OPS = {path: op for op, path in WECHAT_PATHS.items()}


@dataclass(frozen=True)
class Parsed:
    """One lane request, read and verified."""

    dialect: str
    op: str                 # pay, create, query, reverse
    order_no: str
    amount: int = 0
    currency: str = "CNY"
    subject: str = ""
    code: str = ""          # never logged, never in the ledger
    notify_url: str = ""
    echo: tuple[tuple[str, str], ...] = ()   # ids the answer repeats (appid, mch_id...)


@dataclass(frozen=True)
class Outcome:
    """What the simulated gateway says of an order, in no dialect's words.

    ``kind``: paid, paying, waiting (merchant-presented, not scanned yet), created,
    system_error, insufficient_funds, code_used, code_expired, user_cancelled, closed,
    reversed, refunded, not_found, already_paid, reused (same number, other parameters)."""

    kind: str
    order_no: str
    amount: int = 0
    currency: str = "CNY"
    txn_id: str = ""
    qr_content: str = ""
    flow: str = ""          # cpm (customer-presented, MICROPAY) or mpm (NATIVE)


class Keys:
    """The simulator's side of the demo keys."""

    def __init__(self, files_dir: Path) -> None:
        d = Path(files_dir)
        self.gateway_rsa = serialization.load_pem_private_key((d / "gateway.key").read_bytes(),
                                                              None)
        self.merchant_rsa_public = serialization.load_pem_public_key(
            (d / "merchant.pub.pem").read_bytes())
        self.secret = (d / "hmac.key").read_bytes().strip()


class RequestRefused(Exception):
    """A request the gateway does not process (bad signature, unreadable); ``reply`` is the
    dialect's unsigned error answer (status, content type, body)."""

    def __init__(self, reply: tuple[int, str, bytes]) -> None:
        super().__init__("refused")
        self.reply = reply


# -- reading requests ------------------------------------------------------------------------
def parse(path: str, headers: dict[str, str], body: bytes, keys: Keys) -> Parsed:
    if path == "/gateway.do":
        return _parse_alipay(body, keys)
    if path in WECHAT_OPS:
        return _parse_wechat(path, body, keys)
    if path.startswith("/v1/") and path[4:] in ("pay", "create", "query", "reverse"):
        return _parse_generic(path[4:], headers, body, keys)
    raise RequestRefused((404, "text/plain", b"no such endpoint"))


def _parse_alipay(body: bytes, keys: Keys) -> Parsed:
    def refuse(sub: str) -> RequestRefused:
        doc = {"error_response": {"code": "40002", "msg": "Invalid Arguments", "sub_code": sub}}
        return RequestRefused((200, "application/json", json.dumps(doc).encode()))

    try:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        biz = json.loads(params.get("biz_content", ""))
    except (UnicodeDecodeError, ValueError):
        raise refuse("isv.invalid-parameter") from None
    if not rsa2_verify(keys.merchant_rsa_public, sorted_params(params), params.get("sign", "")):
        raise refuse("isv.invalid-signature")
    op = ALIPAY_OPS.get(params.get("method", ""))
    if op is None or not isinstance(biz, dict):
        raise refuse("isv.invalid-method")
    amount = 0
    currency = str(biz.get("trans_currency") or "CNY")
    if op in ("pay", "create"):
        try:
            amount = minor(str(biz.get("total_amount", "")), currency)
        except (BadAnswer, ValueError):
            raise refuse("isv.invalid-parameter") from None
    return Parsed("alipay", op, str(biz.get("out_trade_no", "")), amount, currency,
                  str(biz.get("subject", "")), str(biz.get("auth_code", "")),
                  params.get("notify_url", ""), (("app_id", params.get("app_id", "")),))


def _parse_wechat(path: str, body: bytes, keys: Keys) -> Parsed:
    def refuse(msg: str) -> RequestRefused:
        return RequestRefused((200, "text/xml", to_xml({"return_code": "FAIL",
                                                         "return_msg": msg})))

    try:
        doc = from_xml(body)
    except BadAnswer:
        raise refuse("XML_FORMAT_ERROR") from None
    if not wechat_verify(doc, keys.secret):
        raise refuse("SIGNERROR")
    op = WECHAT_OPS[path]
    fee = doc.get("total_fee", "0")
    if op in ("pay", "create", "refund") and not fee.isdigit():
        raise refuse("PARAM_ERROR")
    return Parsed("wechat", op, doc.get("out_trade_no", ""), int(fee or 0),
                  doc.get("fee_type", "CNY"), doc.get("body", ""), doc.get("auth_code", ""),
                  doc.get("notify_url", ""),
                  (("appid", doc.get("appid", "")), ("mch_id", doc.get("mch_id", ""))))


def _parse_generic(op: str, headers: dict[str, str], body: bytes, keys: Keys) -> Parsed:
    sig = {k.lower(): v for k, v in headers.items()}.get("x-signature", "")
    if not body_verify(body, keys.secret, sig):
        raise RequestRefused((401, "application/json", b'{"error":"bad signature"}'))
    try:
        doc = json.loads(body)
        amount = int(doc.get("amount") or 0)
    except (ValueError, TypeError, AttributeError):
        raise RequestRefused((400, "application/json", b'{"error":"bad request"}')) from None
    return Parsed("generic", op, str(doc.get("order_no", "")), amount,
                  str(doc.get("currency", "CNY")), str(doc.get("subject", "")),
                  str(doc.get("code", "")), str(doc.get("notify_url", "")),
                  (("merchant_id", str(doc.get("merchant_id", ""))),))


# -- writing answers ---------------------------------------------------------------------------
def render(req: Parsed, out: Outcome, keys: Keys, bad_signature: bool = False
           ) -> tuple[int, str, dict[str, str], bytes]:
    """(status, content type, extra headers, body) of the answer to ``req``."""
    if req.dialect == "alipay":
        return _render_alipay(req, out, keys, bad_signature)
    if req.dialect == "wechat":
        return _render_wechat(req, out, keys, bad_signature)
    return _render_generic(req, out, keys, bad_signature)


def _spoil(signature: str) -> str:
    """The same signature with one character changed (a forged or corrupted answer)."""
    head, last = signature[:-2], signature[-2]
    return head + ("0" if last != "0" else "1") + signature[-1]   # a digit: any case, any base


ALIPAY_FAIL = {  # kind → (code, sub_code, sub_msg)
    "system_error": ("20000", "isp.unknow-error", "系统繁忙"),
    "insufficient_funds": ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"),
    "code_used": ("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码无效，请重新扫码"),
    "code_expired": ("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已过期"),
    "closed": ("40004", "ACQ.TRADE_HAS_CLOSE", "交易已关闭"),
    "reversed": ("40004", "ACQ.TRADE_HAS_CLOSE", "交易已撤销"),
    "refunded": ("40004", "ACQ.TRADE_HAS_CLOSE", "交易已退款"),
    "user_cancelled": ("40004", "ACQ.TRADE_HAS_CLOSE", "用户取消支付"),
    "already_paid": ("40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付"),
    "not_found": ("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在"),
    "reused": ("40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"),
}
ALIPAY_STATUS = {"paid": "TRADE_SUCCESS", "paying": "WAIT_BUYER_PAY",
                 "waiting": "WAIT_BUYER_PAY", "created": "WAIT_BUYER_PAY",
                 "closed": "TRADE_CLOSED", "reversed": "TRADE_CLOSED",
                 "refunded": "TRADE_CLOSED", "user_cancelled": "TRADE_CLOSED",
                 "insufficient_funds": "TRADE_CLOSED", "code_used": "TRADE_CLOSED",
                 "code_expired": "TRADE_CLOSED", "system_error": "WAIT_BUYER_PAY"}


def _render_alipay(req: Parsed, out: Outcome, keys: Keys, bad: bool):
    node: dict = {"out_trade_no": req.order_no}
    kind = out.kind
    if req.op == "reverse" and kind != "system_error":
        node.update(code="10000", msg="Success", retry_flag="N",
                    action="refund" if kind == "refunded" else "close")
        if out.txn_id:
            node["trade_no"] = out.txn_id
    elif req.op == "query" and kind in ALIPAY_STATUS:
        node.update(code="10000", msg="Success", trade_status=ALIPAY_STATUS[kind],
                    total_amount=major(out.amount, out.currency), buyer_logon_id="158****1234")
        if out.txn_id:
            node["trade_no"] = out.txn_id
    elif kind == "paid":
        node.update(code="10000", msg="Success", trade_no=out.txn_id,
                    total_amount=major(out.amount, out.currency), buyer_logon_id="158****1234",
                    gmt_payment=china_time())
    elif kind == "created":
        node.update(code="10000", msg="Success", qr_code=out.qr_content)
    elif kind in ("paying", "waiting"):
        node.update(code="10003", msg="order success pay inprocess")
    else:
        code, sub, sub_msg = ALIPAY_FAIL.get(kind, ("40004", "ACQ.PAYMENT_FAIL", "支付失败"))
        node.update(code=code, msg="Business Failed" if code == "40004" else "Service Currently"
                    " Unavailable", sub_code=sub, sub_msg=sub_msg)
    if out.currency != "CNY" and "total_amount" in node:
        node["trans_currency"] = out.currency
    name = response_node(ALIPAY_METHODS[req.op])  # type: ignore[index]
    raw = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    sign = rsa2_sign(keys.gateway_rsa, raw)
    text = '{"' + name + '":' + raw + ',"sign":"' + (_spoil(sign) if bad else sign) + '"}'
    return 200, "application/json;charset=utf-8", {}, text.encode()


WECHAT_ERR = {"paying": "USERPAYING", "system_error": "SYSTEMERROR",
              "insufficient_funds": "NOTENOUGH", "code_used": "AUTH_CODE_INVALID",
              "code_expired": "AUTHCODEEXPIRE", "closed": "ORDERCLOSED",
              "user_cancelled": "ORDERCLOSED", "reversed": "ORDERREVERSED",
              "refunded": "ORDERREVERSED", "already_paid": "ORDERPAID",
              "not_found": "ORDERNOTEXIST", "reused": "OUT_TRADE_NO_USED"}
WECHAT_STATE = {"paid": "SUCCESS", "paying": "USERPAYING", "waiting": "NOTPAY",
                "created": "NOTPAY", "system_error": "USERPAYING", "closed": "CLOSED",
                "reversed": "REVOKED", "refunded": "REFUND", "user_cancelled": "PAYERROR",
                "insufficient_funds": "PAYERROR", "code_used": "PAYERROR",
                "code_expired": "PAYERROR"}


def _render_wechat(req: Parsed, out: Outcome, keys: Keys, bad: bool):
    fields: dict[str, str] = {"return_code": "SUCCESS", "return_msg": "OK", **dict(req.echo),
                              "nonce_str": secrets.token_hex(16), "out_trade_no": req.order_no}
    kind = out.kind
    if req.op == "reverse" and kind != "system_error":
        fields.update(result_code="SUCCESS", recall="N")
    elif req.op == "close" and kind in ("closed", "reversed"):
        fields.update(result_code="SUCCESS")
    elif req.op == "refund" and kind == "refunded":
        fields.update(result_code="SUCCESS", refund_id="50" + out.txn_id[-14:],
                      refund_fee=str(out.amount), total_fee=str(out.amount))
    elif req.op == "refund":
        fields.update(result_code="FAIL", err_code="TRADE_STATE_ERROR", err_code_des=kind)
    elif req.op == "query" and kind in WECHAT_STATE:
        fields.update(result_code="SUCCESS", trade_state=WECHAT_STATE[kind],
                      total_fee=str(out.amount), fee_type=out.currency,
                      trade_type={"mpm": "NATIVE", "cpm": "MICROPAY"}.get(out.flow, ""))
        if out.txn_id:
            fields["transaction_id"] = out.txn_id
    elif kind == "paid":
        fields.update(result_code="SUCCESS", transaction_id=out.txn_id, trade_type="MICROPAY",
                      total_fee=str(out.amount), fee_type=out.currency, bank_type="OTHERS",
                      openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    elif kind == "created":
        fields.update(result_code="SUCCESS", trade_type="NATIVE",
                      prepay_id="wx" + secrets.token_hex(14), code_url=out.qr_content)
    else:
        fields.update(result_code="FAIL", err_code=WECHAT_ERR.get(kind, "SYSTEMERROR"),
                      err_code_des=kind)
    sign = wechat_sign(fields, keys.secret)
    fields["sign"] = _spoil(sign) if bad else sign
    return 200, "text/xml", {}, to_xml(fields)


GENERIC = {"paid": ("paid", "", "PAID"), "paying": ("user_paying", "", "USER_PAYING"),
           "waiting": ("user_paying", "", "WAITING"), "created": ("user_paying", "", "CREATED"),
           "system_error": ("unknown", "system_error", "SYSTEM_ERROR"),
           "insufficient_funds": ("not_paid", "insufficient_funds", "INSUFFICIENT_FUNDS"),
           "code_used": ("not_paid", "code_used", "CODE_USED"),
           "code_expired": ("not_paid", "code_expired", "CODE_EXPIRED"),
           "user_cancelled": ("not_paid", "user_cancelled", "USER_CANCELLED"),
           "closed": ("closed", "", "CLOSED"), "reversed": ("closed", "", "REVERSED"),
           "refunded": ("refunded", "", "REFUNDED"),
           "already_paid": ("unknown", "already_paid", "ALREADY_PAID"),
           "not_found": ("unknown", "not_found", "NOT_FOUND"),
           "reused": ("not_paid", "declined", "ORDER_NO_REUSED")}


def _render_generic(req: Parsed, out: Outcome, keys: Keys, bad: bool):
    trade, reason, code = GENERIC.get(out.kind, ("unknown", "unexpected", out.kind.upper()))
    doc = {"order_no": req.order_no, "trade": trade, "reason": reason, "result_code": code,
           "txn_id": out.txn_id, "wallet": "demo" if out.txn_id else "",
           "paid_amount": out.amount if trade == "paid" else 0, "qr_content": out.qr_content}
    body = json.dumps(doc, separators=(",", ":")).encode()
    sign = body_sign(body, keys.secret)
    return 200, "application/json", {"X-Signature": _spoil(sign) if bad else sign}, body


# -- notifications --------------------------------------------------------------------------
def notification(dialect: str, order_no: str, amount: int, currency: str, txn_id: str,
                 echo: dict[str, str], keys: Keys, bad_signature: bool = False
                 ) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a "paid" notification for ``order_no``."""
    if dialect == "alipay":
        params = {"notify_time": china_time(), "notify_type": "trade_status_sync",
                  "notify_id": secrets.token_hex(16), "app_id": echo.get("app_id", ""),
                  "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
                  "trade_no": txn_id, "out_trade_no": order_no, "trade_status": "TRADE_SUCCESS",
                  "total_amount": major(amount, currency), "gmt_payment": china_time()}
        if currency != "CNY":
            params["trans_currency"] = currency
        sign = rsa2_sign(keys.gateway_rsa, sorted_params(params, exclude=("sign", "sign_type")))
        params["sign"] = _spoil(sign) if bad_signature else sign
        return ({"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                urlencode(params).encode())
    if dialect == "wechat":
        fields = {"return_code": "SUCCESS", **echo, "nonce_str": secrets.token_hex(16),
                  "result_code": "SUCCESS", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                  "trade_type": "NATIVE", "bank_type": "OTHERS", "total_fee": str(amount),
                  "fee_type": currency, "cash_fee": str(amount), "transaction_id": txn_id,
                  "out_trade_no": order_no, "sign_type": "HMAC-SHA256"}
        sign = wechat_sign(fields, keys.secret)
        fields["sign"] = _spoil(sign) if bad_signature else sign
        return {"Content-Type": "text/xml"}, to_xml(fields)
    doc = {"event": "trade", "merchant_id": echo.get("merchant_id", ""), "order_no": order_no,
           "trade": "paid", "reason": "", "result_code": "PAID", "txn_id": txn_id,
           "wallet": "demo", "paid_amount": amount, "qr_content": ""}
    body = json.dumps(doc, separators=(",", ":")).encode()
    sign = body_sign(body, keys.secret)
    return ({"Content-Type": "application/json",
             "X-Signature": _spoil(sign) if bad_signature else sign}, body)
