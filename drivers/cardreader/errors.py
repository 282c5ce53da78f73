"""Errors of the card reader driver: everything a card session can end with.

All are :class:`CardError` subclasses, so the payment flow catches one family and
maps ``reason`` to a journaled abort and a shopper message.
"""

from __future__ import annotations


class CardError(Exception):
    """A card session ended abnormally; ``reason`` is a stable machine-readable code."""

    reason = "card_error"

    def __init__(self, message: str = "", hresult: int | None = None) -> None:
        super().__init__(message or self.reason)
        self.hresult = hresult


class CardRemoved(CardError):
    """The card left the reader (before or during a command)."""

    reason = "card_removed"


class CardTimeout(CardError):
    """The card session's watchdog limit passed (a card or reader stopped answering)."""

    reason = "card_timeout"


class ReaderError(CardError):
    """The reader, pcscd or the card's transport failed while the card was still present."""

    reason = "reader_error"


class AtrRejected(CardError):
    """The card's answer to reset does not parse (a dirty or damaged chip, a bad contact):
    the reader cannot talk to it. The shopper may try again or use another card."""

    reason = "atr_rejected"


class UnsupportedCard(CardError):
    """A card this kiosk cannot read: contactless (needs EMV Entry Point), or no usable
    protocol in its ATR."""

    reason = "unsupported_card"
