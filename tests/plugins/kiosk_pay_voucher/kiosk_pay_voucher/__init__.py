"""Pay with a gift voucher: a payment method from its own package (docs/payments.md).

The lane is configured with the voucher it accepts and its balance::

    [payments]
    methods = ["card", "voucher"]

    [payments.options.voucher]
    code = "GIFT-2026"
    balance_minor = 5000

A payment approves when the total fits the balance left; the balance is spent once per
idempotency key (a repeated request gets the first answer) and a reversal gives it back.
The voucher code itself is never in a result: the journal and the receipt get a reference
derived from it. Its texts come with it (``translations``): the kiosk catalogs do not
know its message ids.
"""

from __future__ import annotations

import hashlib
import threading

from pydantic import BaseModel, ConfigDict, Field

from kiosk.payments.method import PaymentMethod, VoiceWords
from kiosk.payments.port import AuthRequest, AuthResult, Progress, no_progress


class VoucherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=64)
    balance_minor: int = Field(gt=0)  # what the voucher is worth, in minor units


class VoucherMethod(PaymentMethod):
    id = "voucher"
    label = "Gift voucher"
    hint = "Pay with your store gift voucher"
    receipt_label = "Gift voucher"
    translations = {
        "zh": {"Gift voucher": "礼品券",
               "Pay with your store gift voucher": "使用本店礼品券支付"},
        "ko": {"Gift voucher": "상품권",
               "Pay with your store gift voucher": "매장 상품권으로 결제"},
    }
    voice_words = {
        "en": VoiceWords(keys=("voucher",), phrases=("pay by voucher", "gift voucher")),
        "zh": VoiceWords(keys=("礼品券",), phrases=("用 礼品券",)),
        "ko": VoiceWords(keys=("상품권",), phrases=("상품권 결제", "상품권 으로 결제")),
    }
    config_model = VoucherConfig

    def __init__(self, config, options: VoucherConfig | None = None) -> None:  # noqa: ANN001
        super().__init__(config, options)
        assert isinstance(options, VoucherConfig)
        self.voucher = options
        self._lock = threading.Lock()
        self._spent: dict[str, int] = {}          # idempotency key → amount taken
        self._answers: dict[str, AuthResult] = {}

    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        with self._lock:
            if request.idem_key in self._answers:
                return self._answers[request.idem_key]
            left = self.voucher.balance_minor - sum(self._spent.values())
            if request.amount > left:
                return AuthResult("declined", reason="voucher_balance", message_key="card_declined")
            self._spent[request.idem_key] = request.amount
            ref = hashlib.sha256(f"{self.voucher.code}:{request.idem_key}".encode()).hexdigest()
            result = AuthResult("approved", auth_code=ref[:6].upper(),
                                rrn=str(int(ref[6:18], 16))[-12:].zfill(12))
            self._answers[request.idem_key] = result
            return result

    def reverse(self, request: AuthRequest) -> bool:
        with self._lock:
            self._spent.pop(request.idem_key, None)
            self._answers.pop(request.idem_key, None)
        return True

    def cancel(self, stan: int) -> bool:
        return True  # nothing leaves the kiosk: an attempt is over the moment it starts
