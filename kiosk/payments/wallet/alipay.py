"""The Alipay face-to-face dialect (当面付): ``alipay.trade.pay`` with ``scene=bar_code``,
``alipay.trade.precreate`` (merchant-presented), ``alipay.trade.query``, ``alipay.trade.cancel``.

The wire is Alipay's own: a form POST to ``<url>/gateway.do`` with the common parameters
(``app_id``, ``method``, ``format=JSON``, ``charset=utf-8``, ``sign_type=RSA2``,
``timestamp`` in China time, ``version=1.0``, ``biz_content`` as JSON) signed RSA2 with the
merchant key; the answer is JSON ``{"<method>_response": {...}, "sign": "..."}`` whose
signature (platform key) covers the raw text of the response node. Amounts are major-unit
text ("12.34"). Order numbers (``out_trade_no``) up to 64 characters.

Result codes: ``10000`` success, ``10003`` waiting for the buyer (user paying: query),
``20000`` service unknown (query), ``40004`` business failure with a ``sub_code`` (mapped
below: ``ACQ.SYSTEM_ERROR`` and ``ACQ.TRADE_HAS_SUCCESS`` mean "ask again", not a failure).
``trade.query``'s ``trade_status``: ``WAIT_BUYER_PAY``, ``TRADE_SUCCESS``,
``TRADE_FINISHED``, ``TRADE_CLOSED`` (closed unpaid, or refunded in full: nothing charged).
``trade.cancel`` closes an unpaid trade or refunds a paid one (``action`` close/refund);
``retry_flag=Y`` asks for another cancel. Notifications (``trade_status_sync``) are form
posts signed RSA2 over the sorted parameters without ``sign`` and ``sign_type``; the lane
answers ``success``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

from kiosk.payments.wallet.dialect import (
    BadAnswer,
    Dialect,
    HttpRequest,
    NotificationReply,
    Operation,
    major,
    minor,
    same_order,
)
from kiosk.payments.wallet.gateway import GatewayAnswer, Notification, WalletOrder
from kiosk.payments.wallet.signing import raw_json_member, rsa2_sign, rsa2_verify, sorted_params

CHINA = timezone(timedelta(hours=8))
METHODS = {"pay": "alipay.trade.pay", "create": "alipay.trade.precreate",
           "query": "alipay.trade.query", "reverse": "alipay.trade.cancel"}
#: 40004 sub codes → (trade, reason); anything else 40004 is a plain decline
SUB_CODES = {
    "ACQ.SYSTEM_ERROR": ("unknown", "system_error"),
    "ACQ.TRADE_HAS_SUCCESS": ("unknown", "already_paid"),   # a retry: query for the amount
    "ACQ.TRADE_NOT_EXIST": ("unknown", "not_found"),
    "ACQ.TRADE_HAS_CLOSE": ("closed", "closed"),
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": ("not_paid", "insufficient_funds"),
    "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": ("not_paid", "insufficient_funds"),
    "ACQ.PAYMENT_AUTH_CODE_INVALID": ("not_paid", "code_invalid"),
    "ACQ.PAYMENT_REQUEST_HAS_RISK": ("not_paid", "risk_declined"),
    "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR": ("not_paid", "amount_limit"),
    "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR": ("not_paid", "amount_limit"),
    "ACQ.TOTAL_FEE_EXCEED": ("not_paid", "amount_limit"),
    "ACQ.CONTEXT_INCONSISTENT": ("not_paid", "declined"),   # same out_trade_no, other params
}
TRADE_STATUS = {"WAIT_BUYER_PAY": "user_paying", "TRADE_SUCCESS": "paid",
                "TRADE_FINISHED": "paid", "TRADE_CLOSED": "closed"}


def china_time() -> str:
    return datetime.now(UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def response_node(method: str) -> str:
    return method.replace(".", "_") + "_response"


class AlipayDialect(Dialect):
    name = "alipay"
    uses_rsa = True
    max_order_no = 64

    def request(self, op: Operation, order: WalletOrder | None, order_no: str) -> HttpRequest:
        self.check_order_no(order_no)
        biz: dict = {"out_trade_no": order_no}
        params = {"app_id": self.options.app_id, "method": METHODS[op], "format": "JSON",
                  "charset": "utf-8", "sign_type": "RSA2", "timestamp": china_time(),
                  "version": "1.0"}
        if order is not None:
            biz.update(total_amount=major(order.amount, order.currency), subject=order.subject)
            if order.currency != "CNY":       # cross-border: the amount is in this currency
                biz["trans_currency"] = order.currency
            if self.options.terminal_id:
                biz["terminal_id"] = self.options.terminal_id
            if op == "pay":
                biz.update(scene="bar_code", auth_code=order.code,
                           product_code="FACE_TO_FACE_PAYMENT")
            elif self.options.notify_url:
                params["notify_url"] = self.options.notify_url
        params["biz_content"] = json.dumps(biz, separators=(",", ":"), ensure_ascii=False)
        params["sign"] = rsa2_sign(self.keys.rsa_private, sorted_params(params))
        return HttpRequest("/gateway.do", urlencode(params).encode(),
                           {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})

    def answer(self, op: Operation, order_no: str, status: int, headers: dict[str, str],
               body: bytes) -> GatewayAnswer:
        if status != 200:
            raise BadAnswer(f"HTTP {status}")
        try:
            text = body.decode()
            doc = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise BadAnswer("not JSON") from None
        node_name = response_node(METHODS[op])
        raw = raw_json_member(text, node_name) if isinstance(doc, dict) else None
        if raw is None:
            raise BadAnswer("no response node (or an unsigned error_response)")
        if not rsa2_verify(self.keys.rsa_public, raw, str(doc.get("sign") or "")):
            raise BadAnswer("signature does not verify")
        node = doc[node_name]
        if not isinstance(node, dict):
            raise BadAnswer("response node not an object")
        return same_order(self._read(op, node), order_no, node.get("out_trade_no"))

    def _read(self, op: Operation, node: dict) -> GatewayAnswer:
        code = str(node.get("code") or "")
        sub = str(node.get("sub_code") or "")
        shown = f"{code}/{sub}" if sub else code
        txn = str(node.get("trade_no") or "")[:64]
        if code == "10000":
            if op == "pay":
                return GatewayAnswer("ok", "paid", result_code=code, gateway_txn=txn,
                                     wallet="alipay", paid_amount=self._paid(node))
            if op == "create":
                return GatewayAnswer("ok", "user_paying", result_code=code,
                                     qr_content=str(node.get("qr_code") or ""))
            if op == "query":
                status = str(node.get("trade_status") or "")
                trade = TRADE_STATUS.get(status)
                if trade is None:
                    raise BadAnswer("unknown trade_status")
                return GatewayAnswer("ok", trade, result_code=status, gateway_txn=txn,
                                     wallet="alipay",
                                     paid_amount=self._paid(node) if trade == "paid" else 0)
            if str(node.get("retry_flag") or "N") == "Y":
                return GatewayAnswer("ok", "unknown", reason="retry", result_code=code)
            action = str(node.get("action") or "close")
            return GatewayAnswer("ok", "refunded" if action == "refund" else "closed",
                                 result_code=f"{code}/{action}", gateway_txn=txn)
        if code == "10003":
            return GatewayAnswer("ok", "user_paying", result_code=code, gateway_txn=txn)
        if code == "20000":
            return GatewayAnswer("ok", "unknown", reason="system_error", result_code=shown)
        if code == "40004":
            if op == "reverse" and sub == "ACQ.TRADE_HAS_CLOSE":
                return GatewayAnswer("ok", "closed", result_code=shown)
            if op == "reverse" and sub != "ACQ.TRADE_NOT_EXIST":
                return GatewayAnswer("ok", "unknown", reason="retry", result_code=shown)
            trade, reason = SUB_CODES.get(sub, ("not_paid", "declined"))
            return GatewayAnswer("ok", trade, reason=reason, result_code=shown)  # type: ignore[arg-type]
        if code in ("20001", "40001", "40002", "40003") and op in ("pay", "create"):
            # refused before any trade existed (bad parameters, no permission)
            return GatewayAnswer("ok", "not_paid", reason="declined", result_code=shown)
        return GatewayAnswer("ok", "unknown", reason="unexpected", result_code=shown)

    def _paid(self, node: dict) -> int:
        return minor(str(node.get("total_amount") or "0"), self._currency(node))

    def _currency(self, node: dict) -> str:
        return str(node.get("trans_currency") or "CNY")

    def notification(self, headers: dict[str, str], body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise BadAnswer("not a form post") from None
        text = sorted_params(params, exclude=("sign", "sign_type"))
        if not rsa2_verify(self.keys.rsa_public, text, params.get("sign", "")):
            raise BadAnswer("signature does not verify")
        if params.get("app_id") != self.options.app_id:
            raise BadAnswer("notification for another app_id")
        trade = TRADE_STATUS.get(params.get("trade_status", ""))
        order_no = params.get("out_trade_no", "")
        if trade is None or not order_no:
            raise BadAnswer("not a trade notification")
        answer = GatewayAnswer("ok", trade, result_code=params["trade_status"],  # type: ignore[arg-type]
                               gateway_txn=params.get("trade_no", "")[:64], wallet="alipay",
                               paid_amount=self._paid(params) if trade == "paid" else 0)
        return Notification(order_no, answer)

    def notification_reply(self, accepted: bool) -> NotificationReply:
        return NotificationReply("text/plain", b"success" if accepted else b"failure")
