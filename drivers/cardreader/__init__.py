"""PC/SC card reader driver (pyscard) and the vpcd virtual card used in its place by the
simulators and tests.

* :class:`ReaderEvents`: reader/card events as dicts, from pyscard's monitors.
* :func:`open_channel` → :class:`PcscChannel` (a :class:`CardChannel`): T=0/T=1, 61xx/6Cxx.
* :class:`CardSession`: the watchdog bounding a whole card flow.
* :class:`VpcdCard` / ``kiosk sim card``: a virtual card in vpcd's reader.

Importable without pcsc-lite: pyscard is imported inside the functions that use it.
"""

from drivers.cardreader.atr import Atr, AtrError, is_contactless, parse_atr
from drivers.cardreader.channel import CardChannel, PcscChannel, open_channel, reader_state
from drivers.cardreader.errors import (
    AtrRejected,
    CardError,
    CardRemoved,
    CardTimeout,
    ReaderError,
    UnsupportedCard,
)
from drivers.cardreader.events import ReaderEvents
from drivers.cardreader.session import CardSession
from drivers.cardreader.vpcd import VPCD_PORT, VpcdCard

__all__ = [
    "Atr", "AtrError", "AtrRejected", "CardChannel", "CardError", "CardRemoved", "CardSession",
    "CardTimeout", "PcscChannel", "ReaderError", "ReaderEvents", "UnsupportedCard",
    "VPCD_PORT", "VpcdCard", "is_contactless", "open_channel", "parse_atr", "reader_state",
]
