"""The chip-card payment method (id ``card``): the button, words and receipt line of a card
payment, its flow handed to a card port.

On a device the port is :class:`~kiosk.payments.card_port.CardPaymentPort` (PC/SC reader,
EMV, ISO 8583 acquirer: ``devices.payment = "card"``). The demo and the tests give it the
simulated acquirer instead, chosen where kiosk-core is composed
(:func:`kiosk.payments.registry.open_methods`), never from in here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.i18n import N_
from kiosk.payments.method import PortMethod, VoiceWords

if TYPE_CHECKING:
    from kiosk.config import KioskConfig


class CardMethod(PortMethod):
    id = "card"
    label = N_("Card")
    hint = N_("Chip cards only: insert the card. No tap, no swipe.")  # contact EMV only
    receipt_label = N_("Card")
    voice_words = {
        "ko": VoiceWords(keys=("신용카드", "카드", "카드로"),
                         phrases=("카드로 결제할게요", "카드로 할게요", "카드 결제", "카드로 결제",
                                  "신용카드 결제")),
        "en": VoiceWords(keys=("card",), phrases=("pay by card", "credit card", "card please")),
        "zh": VoiceWords(keys=("刷卡", "银行卡", "卡"), phrases=("刷卡 支付", "用 卡 付")),
    }

    def open_port(self, config: KioskConfig) -> Any:
        # the card stack (EMV, ISO 8583, the acquirer link: ~0.2 s) loads only on a lane that
        # uses it, not whenever the registry reads the method's declaration
        from kiosk.payments.card_port import CardPaymentPort

        return CardPaymentPort(config)
