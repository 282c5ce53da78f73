"""PC/SC card reader driver (pyscard); the vpcd virtual card that stands in for a card in the
simulators and tests lives in :mod:`kiosk_drivers.cardreader.sim`.

* :class:`ReaderEvents`: reader/card events as dicts, from a PC/SC monitor thread.
* :func:`open_channel` → :class:`PcscChannel` (a :class:`CardChannel`): T=0/T=1, 61xx/6Cxx.
* :class:`CardSession`: the watchdog bounding a whole card flow.

Importable without pcsc-lite: pyscard is imported inside the functions that use it.
"""

from kiosk_drivers.cardreader.atr import Atr, AtrError, is_contactless, parse_atr
from kiosk_drivers.cardreader.channel import CardChannel, PcscChannel, open_channel, reader_state
from kiosk_drivers.cardreader.errors import (
    AtrRejected,
    CardError,
    CardRemoved,
    CardTimeout,
    ReaderError,
    UnsupportedCard,
)
from kiosk_drivers.cardreader.events import ReaderEvents
from kiosk_drivers.cardreader.session import CardSession

__all__ = [
    "Atr", "AtrError", "AtrRejected", "CardChannel", "CardError", "CardRemoved", "CardSession",
    "CardTimeout", "PcscChannel", "ReaderError", "ReaderEvents", "UnsupportedCard",
    "is_contactless", "open_channel", "parse_atr", "reader_state",
]
