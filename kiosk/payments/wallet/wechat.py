"""The WeChat Pay v2 micropay dialect (付款码支付): ``micropay``, ``orderquery``, ``reverse``,
and ``unifiedorder`` with ``trade_type=NATIVE`` for the merchant-presented code.

WeChat Pay v2 speaks XML, and so does this dialect (the issue's "JSON" holds for the other
two): a flat ``<xml>`` of CDATA fields POSTed to ``<url>/pay/micropay``,
``/pay/orderquery``, ``/secapi/pay/reverse`` (the one that needs the merchant's client
certificate: mutual TLS) and ``/pay/unifiedorder``; every request and answer carries
``nonce_str`` and ``sign`` (``sign_type=HMAC-SHA256``: upper-case hex HMAC of the sorted
``k=v&...`` text plus ``&key=<key>``). Amounts are integer minor units (``total_fee``, fen).
Order numbers (``out_trade_no``) up to 32 characters. XML with a DOCTYPE is refused.

``return_code`` is the transport layer (FAIL: the request was not processed, usually
unsigned: it counts as no answer), ``result_code``/``err_code`` the business one:
``USERPAYING`` (query until the deadline), ``SYSTEMERROR``/``BANKERROR`` (unknown: query),
``NOTENOUGH``, ``AUTHCODEEXPIRE``, ``AUTH_CODE_INVALID`` (definite failures),
``ORDERPAID`` (a retry of a paid order: query for the amount), ``ORDERCLOSED`` /
``ORDERREVERSED``. ``orderquery``'s ``trade_state``: ``SUCCESS``, ``REFUND``, ``NOTPAY``,
``CLOSED``, ``REVOKED``, ``USERPAYING``, ``PAYERROR``. ``reverse`` answers ``recall=Y``
when it must be called again; WeChat asks for at least 15 s between the pay request and a
reverse (``reverse_min_delay_s``).

``reverse`` is for micropay orders only: undoing an order first queries it, and one whose
``trade_type`` is ``NATIVE`` (the merchant-presented code) is closed with ``closeorder``
while unpaid and refunded in full with ``/secapi/pay/refund`` once paid.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kiosk.payments.wallet.dialect import (
    BadAnswer,
    Dialect,
    HttpRequest,
    NotificationReply,
    Operation,
    nonce,
    same_order,
)
from kiosk.payments.wallet.gateway import GatewayAnswer, Notification, WalletOrder
from kiosk.payments.wallet.signing import wechat_sign, wechat_verify

PATHS = {"pay": "/pay/micropay", "create": "/pay/unifiedorder", "query": "/pay/orderquery",
         "reverse": "/secapi/pay/reverse", "close": "/pay/closeorder",
         "refund": "/secapi/pay/refund"}
ERR_CODES = {
    "USERPAYING": ("user_paying", ""),
    "SYSTEMERROR": ("unknown", "system_error"),
    "BANKERROR": ("unknown", "system_error"),
    "ORDERPAID": ("unknown", "already_paid"),        # a retry: query for the amount
    "ORDERNOTEXIST": ("unknown", "not_found"),
    "ORDERCLOSED": ("closed", "closed"),
    "ORDERREVERSED": ("closed", "closed"),
    "NOTENOUGH": ("not_paid", "insufficient_funds"),
    "AUTHCODEEXPIRE": ("not_paid", "code_expired"),
    "AUTH_CODE_INVALID": ("not_paid", "code_invalid"),
    "AUTH_CODE_ERROR": ("not_paid", "code_invalid"),
    "TRADE_ERROR": ("not_paid", "risk_declined"),
    "BUYER_MISMATCH": ("not_paid", "declined"),
    "OUT_TRADE_NO_USED": ("not_paid", "declined"),   # same out_trade_no, other params
}
TRADE_STATE = {"SUCCESS": "paid", "REFUND": "refunded", "NOTPAY": "user_paying",
               "USERPAYING": "user_paying", "CLOSED": "closed", "REVOKED": "closed",
               "PAYERROR": "not_paid"}
SIGN_TYPE = "HMAC-SHA256"


def to_xml(fields: dict[str, str]) -> bytes:
    parts = [f"<{k}><![CDATA[{v.replace(']]>', ']]]]><![CDATA[>')}]]></{k}>"
             for k, v in fields.items()]
    return ("<xml>" + "".join(parts) + "</xml>").encode()


def from_xml(body: bytes) -> dict[str, str]:
    """A flat WeChat ``<xml>`` document; :class:`BadAnswer` for anything else."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise BadAnswer("XML with a DOCTYPE")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise BadAnswer("not XML") from None
    if root.tag != "xml" or any(len(child) for child in root):
        raise BadAnswer("not a flat <xml> document")
    return {child.tag: (child.text or "") for child in root}


class WechatDialect(Dialect):
    name = "wechat"
    max_order_no = 32
    reverse_min_delay_s = 15.0
    reverse_after_query = True

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        #: order number → (trade_type, total_fee, fee_type) from its last query
        self._seen: dict[str, tuple[str, str, str]] = {}

    def undo_op(self, order_no: str, found: GatewayAnswer) -> Operation | None:
        trade_type = self._seen.get(order_no, ("", "", ""))[0]
        if trade_type != "NATIVE":
            return "reverse"
        if found.trade in ("closed", "refunded"):
            return None
        return "refund" if found.trade == "paid" else "close"

    def _signed(self, fields: dict[str, str]) -> bytes:
        fields = {k: v for k, v in fields.items() if v != ""}
        fields["sign"] = wechat_sign(fields, self.keys.secret)
        return to_xml(fields)

    def request(self, op: Operation, order: WalletOrder | None, order_no: str) -> HttpRequest:
        self.check_order_no(order_no)
        fields = {"appid": self.options.app_id, "mch_id": self.options.merchant_id,
                  "nonce_str": nonce(), "sign_type": SIGN_TYPE, "out_trade_no": order_no}
        if op == "refund":
            _, fee, fee_type = self._seen.get(order_no, ("", "", ""))
            fields.update(out_refund_no=f"{order_no[:30]}R1", total_fee=fee, refund_fee=fee,
                          refund_fee_type=fee_type)
        if order is not None:
            fields.update(device_info=self.options.terminal_id,
                          body=order.subject.encode()[:128].decode(errors="ignore"),
                          total_fee=str(order.amount), fee_type=order.currency,
                          spbill_create_ip="127.0.0.1")
            if op == "pay":
                fields["auth_code"] = order.code
            else:
                fields.update(trade_type="NATIVE", product_id=order_no,
                              notify_url=self.options.notify_url)
        return HttpRequest(PATHS[op], self._signed(fields),
                           {"Content-Type": "text/xml; charset=utf-8"})

    def _verified(self, body: bytes) -> dict[str, str]:
        doc = from_xml(body)
        if doc.get("return_code") != "SUCCESS":
            raise BadAnswer("return_code FAIL (request not processed)")
        if not wechat_verify(doc, self.keys.secret):
            raise BadAnswer("signature does not verify")
        if doc.get("appid", self.options.app_id) != self.options.app_id or \
                doc.get("mch_id", self.options.merchant_id) != self.options.merchant_id:
            raise BadAnswer("answer for another merchant")
        return doc

    def answer(self, op: Operation, order_no: str, status: int, headers: dict[str, str],
               body: bytes) -> GatewayAnswer:
        if status != 200:
            raise BadAnswer(f"HTTP {status}")
        doc = self._verified(body)
        return same_order(self._read(op, doc), order_no, doc.get("out_trade_no"))

    def _read(self, op: Operation, doc: dict[str, str]) -> GatewayAnswer:
        txn = doc.get("transaction_id", "")[:64]
        if doc.get("result_code") != "SUCCESS":
            err = doc.get("err_code", "")
            if op in ("reverse", "close", "refund") and err in ("ORDERCLOSED", "ORDERREVERSED"):
                return GatewayAnswer("ok", "closed", result_code=err)
            if op in ("reverse", "close", "refund") and err != "ORDERNOTEXIST":
                return GatewayAnswer("ok", "unknown", reason="retry", result_code=err)
            fallback = (("not_paid", "declined") if op in ("pay", "create")
                        else ("unknown", "unexpected"))
            trade, reason = ERR_CODES.get(err, fallback)
            return GatewayAnswer("ok", trade, reason=reason, result_code=err)  # type: ignore[arg-type]
        if op == "pay":
            return GatewayAnswer("ok", "paid", result_code="SUCCESS", gateway_txn=txn,
                                 wallet="wechat", paid_amount=self._fee(doc))
        if op == "create":
            return GatewayAnswer("ok", "user_paying", result_code="SUCCESS",
                                 qr_content=doc.get("code_url", ""))
        if op == "close":
            return GatewayAnswer("ok", "closed", result_code="SUCCESS/closeorder")
        if op == "refund":
            return GatewayAnswer("ok", "refunded", result_code="SUCCESS/refund",
                                 gateway_txn=doc.get("refund_id", "")[:64])
        if op == "reverse":
            if doc.get("recall") == "Y":
                return GatewayAnswer("ok", "unknown", reason="retry", result_code="recall=Y")
            return GatewayAnswer("ok", "closed", result_code="SUCCESS")
        state = doc.get("trade_state", "")
        while len(self._seen) >= 1000:          # only the orders being undone matter
            del self._seen[next(iter(self._seen))]
        self._seen[doc.get("out_trade_no", "")] = (doc.get("trade_type", ""),
                                                   doc.get("total_fee", ""),
                                                   doc.get("fee_type", "CNY"))
        trade = TRADE_STATE.get(state)
        if trade is None:
            raise BadAnswer("unknown trade_state")
        return GatewayAnswer("ok", trade, reason="declined" if trade == "not_paid" else "",  # type: ignore[arg-type]
                             result_code=state, gateway_txn=txn, wallet="wechat",
                             paid_amount=self._fee(doc) if trade == "paid" else 0)

    @staticmethod
    def _fee(doc: dict[str, str]) -> int:
        fee = doc.get("total_fee", "")
        if not fee.isdigit():
            raise BadAnswer("total_fee not a number")
        return int(fee)

    def notification(self, headers: dict[str, str], body: bytes) -> Notification:
        doc = self._verified(body)
        order_no = doc.get("out_trade_no", "")
        if not order_no:
            raise BadAnswer("not a trade notification")
        if doc.get("result_code") == "SUCCESS":
            answer = GatewayAnswer("ok", "paid", result_code="SUCCESS",
                                   gateway_txn=doc.get("transaction_id", "")[:64],
                                   wallet="wechat", paid_amount=self._fee(doc))
        else:
            answer = GatewayAnswer("ok", "not_paid", reason="declined",
                                   result_code=doc.get("err_code", "FAIL"))
        return Notification(order_no, answer)

    def notification_reply(self, accepted: bool) -> NotificationReply:
        return NotificationReply("text/xml", to_xml(
            {"return_code": "SUCCESS", "return_msg": "OK"} if accepted
            else {"return_code": "FAIL", "return_msg": "SIGNERROR"}))
