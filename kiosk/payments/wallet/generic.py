"""The generic wallet gateway dialect: JSON over HTTPS, HMAC-SHA256 over the raw body.

A gateway (or an aggregator in front of several wallets) that speaks the port's own words:

* ``POST <url>/v1/{pay,create,query,reverse}``, body JSON ``{"merchant_id", "terminal_id",
  "order_no", "amount" (minor units), "currency", "subject", "code" (pay only),
  "notify_url" (create only), "nonce", "timestamp"}``; header
  ``X-Signature: <hex HMAC-SHA256 of the body>``.
* The answer: JSON ``{"order_no", "trade", "reason", "result_code", "txn_id", "wallet",
  "paid_amount", "qr_content"}`` where ``trade`` is one of the port's trades, signed the
  same way in ``X-Signature``. A notification is the same object posted to the lane with
  ``"event": "trade"``; the lane answers ``{"ok": true}``.
"""

from __future__ import annotations

import json
import time

from kiosk.payments.wallet.dialect import (
    BadAnswer,
    Dialect,
    HttpRequest,
    NotificationReply,
    Operation,
    lower_headers,
    nonce,
    same_order,
)
from kiosk.payments.wallet.gateway import (
    NOT_PAID_REASONS,
    GatewayAnswer,
    Notification,
    WalletOrder,
)
from kiosk.payments.wallet.signing import body_sign, body_verify

SIGNATURE_HEADER = "X-Signature"
TRADES = ("paid", "user_paying", "not_paid", "closed", "refunded", "unknown")


class GenericDialect(Dialect):
    name = "generic"
    max_order_no = 32
    confirm_by_query = True

    def request(self, op: Operation, order: WalletOrder | None, order_no: str) -> HttpRequest:
        self.check_order_no(order_no)
        doc: dict = {"merchant_id": self.options.app_id, "terminal_id": self.options.terminal_id,
                     "order_no": order_no, "nonce": nonce(), "timestamp": int(time.time())}
        if order is not None:
            doc.update(amount=order.amount, currency=order.currency, subject=order.subject)
            if op == "pay":
                doc["code"] = order.code
            elif self.options.notify_url:
                doc["notify_url"] = self.options.notify_url
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return HttpRequest(f"/v1/{op}", body, {"Content-Type": "application/json",
                                               SIGNATURE_HEADER: body_sign(body, self.keys.secret)})

    def _read(self, headers: dict[str, str], body: bytes) -> dict:
        if not body_verify(body, self.keys.secret, lower_headers(headers).get("x-signature", "")):
            raise BadAnswer("signature does not verify")
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadAnswer("not JSON") from None
        if not isinstance(doc, dict) or doc.get("trade") not in TRADES:
            raise BadAnswer("no trade state")
        return doc

    def _answer(self, doc: dict) -> GatewayAnswer:
        reason = str(doc.get("reason") or "")
        if doc["trade"] == "not_paid" and reason not in NOT_PAID_REASONS:
            reason = "declined"
        try:
            paid = int(doc.get("paid_amount") or 0)
        except (TypeError, ValueError):
            raise BadAnswer("paid_amount not a number") from None
        return GatewayAnswer("ok", doc["trade"], reason=reason,
                             result_code=str(doc.get("result_code") or "")[:40],
                             gateway_txn=str(doc.get("txn_id") or "")[:64],
                             wallet=str(doc.get("wallet") or "")[:16], paid_amount=paid,
                             qr_content=str(doc.get("qr_content") or ""))

    def answer(self, op: Operation, order_no: str, status: int, headers: dict[str, str],
               body: bytes) -> GatewayAnswer:
        if status != 200:
            raise BadAnswer(f"HTTP {status}")
        doc = self._read(headers, body)
        return same_order(self._answer(doc), order_no, doc.get("order_no"))

    def notification(self, headers: dict[str, str], body: bytes) -> Notification:
        doc = self._read(headers, body)
        if doc.get("event") != "trade" or not doc.get("order_no"):
            raise BadAnswer("not a trade notification")
        if doc.get("merchant_id", self.options.app_id) != self.options.app_id:
            raise BadAnswer("notification for another merchant")
        return Notification(str(doc["order_no"]), self._answer(doc))

    def notification_reply(self, accepted: bool) -> NotificationReply:
        return NotificationReply("application/json",
                                 b'{"ok":true}' if accepted else b'{"ok":false}')
