"""The ways to pay kiosk-voice listens for: the offered payment methods' own words.

Each method the lane offers (``payments.methods``) declares what a shopper says to pay
with it (:attr:`kiosk.payments.method.PaymentMethod.voice_words`); they become the
``pay_<method id>`` intents of the voice library's grammar, and no other way to pay is
heard. The library knows nothing of kiosk: the words are handed to it here.
"""

from __future__ import annotations

from kiosk_voice.intents import set_payment_intents

from kiosk.config import KioskConfig
from kiosk.payments import registry


def payment_ways(config: KioskConfig) -> dict[str, dict[str, tuple[tuple[str, ...],
                                                                  tuple[str, ...]]]]:
    """Intent name → language → (key words, phrasings), for every offered method."""
    pay = config.payments
    return {f"pay_{cls.id}": {lang: (words.keys, words.phrases)
                              for lang, words in cls.voice_words.items()}
            for cls in registry.check(pay.methods, pay.options, config.security.production)}


def listen_for_payments(config: KioskConfig) -> None:
    """Set the voice grammar's ways to pay to the lane's (once, before recognizers exist)."""
    set_payment_intents(payment_ways(config))
