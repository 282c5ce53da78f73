"""In-process CardChannel over a VirtualCard, with the T=0 61xx/6Cxx handling a reader does.

The real channel (pyscard through pcscd) is kiosk_drivers.cardreader's; this adapter lets the
EMV flow be tested against the card simulator without a reader. Its errors are
the driver's own (kiosk_drivers.cardreader.errors), and its T=0 61xx/6Cxx handling is the
driver's ``transmit_chained``.
"""

from __future__ import annotations

from kiosk_drivers.cardreader.channel import transmit_chained
from kiosk_drivers.cardreader.errors import CardError, CardRemoved, CardTimeout, UnsupportedCard

from kiosk.sim.emvcard import VirtualCard

__all__ = ["CardError", "CardRemoved", "CardTimeout", "SimChannel", "UnsupportedCard"]


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

    def _exchange(self, apdu: bytes) -> tuple[bytes, int]:
        if self.remove_after is not None and self.apdu_count >= self.remove_after:
            raise self.failure("card removed")
        self.apdu_count += 1
        self.sent.append(apdu)
        resp = self.card.process(apdu)
        if self.tamper is not None:
            resp = self.tamper(apdu, resp)
        return resp[:-2], (resp[-2] << 8) | resp[-1]

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        return transmit_chained(self._exchange, apdu)
