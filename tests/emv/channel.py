"""In-process CardChannel over a VirtualCard, with the T=0 61xx/6Cxx handling a reader does.

The real channel (pyscard through pcscd) is drivers.cardreader's; this adapter lets the
EMV flow be tested against the card simulator without a reader. Its error classes carry
the drivers.cardreader names, which is how emv.py maps them to EmvError reasons.
"""

from __future__ import annotations

from kiosk.payments.simcard import VirtualCard


class CardError(Exception):
    reason = "card_error"


class CardRemoved(CardError):
    reason = "card_removed"


class CardTimeout(CardError):
    reason = "card_timeout"


class UnsupportedCard(CardError):
    reason = "unsupported_card"


class SimChannel:
    """``transmit(apdu) -> (data, sw)``; ``remove_after`` pulls the card after N APDUs."""

    def __init__(self, card: VirtualCard, remove_after: int | None = None) -> None:
        self.card = card
        self.apdu_count = 0
        self.remove_after = remove_after
        self.sent: list[bytes] = []  # every C-APDU that reached the card
        self.failure: type[CardError] = CardRemoved  # raised once remove_after is reached
        self.tamper = None  # callable(apdu, response) -> response, to inject garbage
        card.reset()

    def _exchange(self, apdu: bytes) -> bytes:
        if self.remove_after is not None and self.apdu_count >= self.remove_after:
            raise self.failure("card removed")
        self.apdu_count += 1
        self.sent.append(apdu)
        resp = self.card.process(apdu)
        if self.tamper is not None:
            resp = self.tamper(apdu, resp)
        return resp

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        resp = self._exchange(apdu)
        data, sw1, sw2 = resp[:-2], resp[-2], resp[-1]
        if sw1 == 0x6C:  # wrong Le: resend with Le = SW2
            resp = self._exchange(apdu[:-1] + bytes([sw2]))
            data, sw1, sw2 = resp[:-2], resp[-2], resp[-1]
        while sw1 == 0x61:  # data waiting: GET RESPONSE with Le = SW2
            resp = self._exchange(bytes([0x00, 0xC0, 0x00, 0x00, sw2]))
            data += resp[:-2]
            sw1, sw2 = resp[-2], resp[-1]
            if sw1 == 0x6C:
                resp = self._exchange(bytes([0x00, 0xC0, 0x00, 0x00, sw2]))
                data += resp[:-2]
                sw1, sw2 = resp[-2], resp[-1]
        return data, (sw1 << 8) | sw2
