"""A card channel over PC/SC (pyscard): connect with the protocol the ATR offers, send
APDUs, and hide the T=0 transport status words from the EMV flow.

``transmit(apdu) -> (data, sw)``:

* ``61xx``: more data waits; GET RESPONSE (``00 C0 00 00 xx``) until the card stops
  answering 61xx, concatenating the data (also accepted from T=1 cards, ISO 7816-4).
* ``6Cxx``: wrong Le; the same command is sent again with Le = xx.
* ``apdu_count`` counts every APDU that went to the card, GET RESPONSE and resends included.

pyscard errors are mapped: a card that left the reader is :class:`CardRemoved`; anything
else while the card is still present is :class:`ReaderError`. pcscd often reports a card
pulled mid-command as a plain transmit failure (``SCARD_E_NOT_TRANSACTED``) and notices the
removal only at its next poll of the reader, so after an ambiguous failure the channel asks
pcscd for the reader state for up to ``removal_grace_s`` before deciding.

pyscard is imported inside functions: this module imports on a machine without pcsc-lite.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kiosk_drivers.cardreader.atr import AtrError, is_contactless, parse_atr
from kiosk_drivers.cardreader.errors import (
    AtrRejected,
    CardError,
    CardRemoved,
    CardTimeout,
    ReaderError,
    UnsupportedCard,
)

log = logging.getLogger(__name__)

#: hresults that mean "the card is gone" without asking again
_REMOVED_NAMES = ("SCARD_W_REMOVED_CARD", "SCARD_E_NO_SMARTCARD", "SCARD_W_RESET_CARD")
#: at most this many 61xx / 6Cxx round trips for one command (a card looping forever
#: on 61xx is a broken card, not a long response)
MAX_CHAINED = 64


class CardChannel(Protocol):
    """What the EMV flow talks to."""

    apdu_count: int

    def transmit(self, apdu: bytes) -> tuple[bytes, int]: ...


def _scard():
    from smartcard import scard

    return scard


def reader_state(reader: str) -> tuple[bool, bytes | None]:
    """(card present, ATR) of a reader as pcscd sees it now. Raises :class:`ReaderError`
    when pcscd or the reader is not there."""
    sc = _scard()
    hresult, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
    if hresult != sc.SCARD_S_SUCCESS:
        raise ReaderError(f"pcscd not available: {sc.SCardGetErrorMessage(hresult)}", hresult)
    try:
        hresult, states = sc.SCardGetStatusChange(ctx, 0, [(reader, sc.SCARD_STATE_UNAWARE)])
        if hresult != sc.SCARD_S_SUCCESS:
            raise ReaderError(f"reader {reader!r}: {sc.SCardGetErrorMessage(hresult)}", hresult)
        _, state, atr = states[0]
        if state & sc.SCARD_STATE_UNKNOWN:
            raise ReaderError(f"reader {reader!r} is not known to pcscd")
        present = bool(state & sc.SCARD_STATE_PRESENT) and not state & sc.SCARD_STATE_MUTE
        return present, (bytes(atr) if present and atr else None)
    finally:
        sc.SCardReleaseContext(ctx)


def _le_replaced(apdu: bytes, le: int) -> bytes:
    """The command with its Le set to ``le`` (appended for a case 1/3 short APDU)."""
    if len(apdu) == 4:
        return apdu + bytes([le])                 # case 1 → case 2
    if len(apdu) == 5:
        return apdu[:4] + bytes([le])             # case 2
    lc = apdu[4]
    if len(apdu) == 5 + lc:
        return apdu + bytes([le])                 # case 3 → case 4
    return apdu[:5 + lc] + bytes([le])            # case 4


def transmit_chained(exchange: Callable[[bytes], tuple[bytes, int]],
                     apdu: bytes) -> tuple[bytes, int]:
    """Send ``apdu`` through ``exchange`` (one APDU out, ``(data, sw)`` back) and hide the
    transport status words: ``6Cxx`` resends with Le = xx, ``61xx`` fetches the rest with
    GET RESPONSE. Every channel (PC/SC, the tests' in-process card) goes through this one."""
    if len(apdu) < 4:
        raise ValueError(f"APDU shorter than a header: {apdu.hex().upper()}")
    data, sw = exchange(apdu)
    chained = 0
    while True:
        sw1, sw2 = sw >> 8, sw & 0xFF
        if sw1 == 0x6C:
            apdu = _le_replaced(apdu, sw2)
            data, sw = exchange(apdu)
        elif sw1 == 0x61:
            more, sw = exchange(bytes([0x00, 0xC0, 0x00, 0x00, sw2]))
            if sw >> 8 == 0x6C:  # wrong Le on GET RESPONSE: ask again with the card's
                more, sw = exchange(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data += more
            apdu = bytes([0x00, 0xC0, 0x00, 0x00, sw2])
        else:
            return data, sw
        chained += 1
        if chained > MAX_CHAINED:
            raise ReaderError(f"card keeps answering {sw:04X} after {MAX_CHAINED} retries")


class PcscChannel:
    """A connected card. Use :func:`open_channel` to make one; ``close()`` when done."""

    def __init__(self, reader: str, atr: bytes, connection, protocol: str,
                 removal_grace_s: float = 1.0) -> None:
        self.reader = reader
        self.atr = atr
        self.protocol = protocol          # "T=0" or "T=1"
        self.apdu_count = 0
        self.removal_grace_s = removal_grace_s
        self._conn = connection
        self._deadline: float | None = None
        self._aborted: CardError | None = None
        self._lock = threading.Lock()     # one APDU exchange at a time

    # -- the watchdog's side ---------------------------------------------------------
    def set_deadline(self, deadline: float | None) -> None:
        """No APDU starts after this time.monotonic() instant (CardTimeout instead)."""
        self._deadline = deadline

    def abort(self, error: CardError) -> None:
        """Fail every later transmit with ``error`` and release the card. Safe to call from
        another thread. With no APDU out, the card is disconnected at once; with one stuck
        inside pcscd, when that transmit returns (see :mod:`~.session`): disconnecting under
        it would wait on pcsc-lite's per-context lock while holding the library's global
        lock, and so freeze every PC/SC call of this process, monitors included."""
        self._aborted = error
        if self._lock.acquire(blocking=False):
            try:
                self._disconnect_quietly()
            finally:
                self._lock.release()

    # -- the flow's side ---------------------------------------------------------------
    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        return transmit_chained(self._exchange, apdu)

    def close(self) -> None:
        with self._lock:
            self._disconnect_quietly()

    # -- internals ---------------------------------------------------------------------
    def _exchange(self, apdu: bytes) -> tuple[bytes, int]:
        if self._aborted is not None:
            raise type(self._aborted)(str(self._aborted))
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise CardTimeout("card session time limit reached")
        from smartcard.Exceptions import CardConnectionException, SmartcardException

        with self._lock:
            self.apdu_count += 1
            try:
                data, sw1, sw2 = self._conn.transmit(list(apdu))
            except (CardConnectionException, SmartcardException) as exc:
                failure: Exception | None = exc
            else:
                failure = None
            if self._aborted is not None:  # the watchdog fired while this APDU was out
                self._disconnect_quietly()
                raise type(self._aborted)(str(self._aborted))
        if failure is not None:
            raise self._classify(failure, getattr(failure, "hresult", None)) from None
        return bytes(data), (sw1 << 8) | sw2

    def _classify(self, exc: Exception, hresult: int | None) -> CardError:
        if self._aborted is not None:
            return type(self._aborted)(str(self._aborted))
        sc = _scard()
        if hresult is not None and hresult in {getattr(sc, n) for n in _REMOVED_NAMES}:
            return CardRemoved(f"card removed from {self.reader}", hresult)
        # Ambiguous: pcscd learns about a removal at its next poll of the reader.
        end = time.monotonic() + self.removal_grace_s
        while True:
            try:
                present, atr = reader_state(self.reader)
            except ReaderError as err:
                return ReaderError(f"{exc}; {err}", hresult)
            if not present or atr != self.atr:
                return CardRemoved(f"card removed from {self.reader}", hresult)
            if time.monotonic() >= end:
                return ReaderError(f"{self.reader}: {exc}", hresult)
            time.sleep(0.05)

    def _disconnect_quietly(self) -> None:
        conn, self._conn = self._conn, _Closed()
        try:
            conn.disconnect()
        except Exception as exc:  # noqa: BLE001 - a gone card or pcscd: nothing to release
            log.debug("disconnect %s: %s", self.reader, exc)
        try:
            conn.release()
        except Exception as exc:  # noqa: BLE001
            log.debug("release %s: %s", self.reader, exc)


class _Closed:
    def transmit(self, apdu):
        from smartcard.Exceptions import CardConnectionException

        raise CardConnectionException("channel closed")

    def disconnect(self) -> None:
        pass

    def release(self) -> None:
        pass


def open_channel(reader: str, removal_grace_s: float = 1.0) -> PcscChannel:
    """Connect to the card in ``reader`` with the protocol its ATR offers first (T=0 or
    T=1). Raises :class:`CardRemoved` (no card), :class:`UnsupportedCard` (contactless
    reader or card, no T=0/T=1), :class:`ReaderError` (pcscd or reader trouble)."""
    present, atr = reader_state(reader)
    if not present or not atr:
        raise CardRemoved(f"no card in {reader}")
    if is_contactless(reader, atr):
        raise UnsupportedCard(f"contactless reader or card in {reader}: {atr.hex().upper()}")
    try:
        offered = parse_atr(atr).protocols
    except AtrError as exc:
        raise AtrRejected(str(exc)) from None
    usable = [p for p in offered if p in (0, 1)]
    if not usable:
        raise UnsupportedCard(f"ATR offers neither T=0 nor T=1: {atr.hex().upper()}")
    from smartcard.CardConnection import CardConnection
    from smartcard.Exceptions import CardConnectionException, NoCardException
    from smartcard.pcsc.PCSCReader import PCSCReader

    wanted = CardConnection.T0_protocol if usable[0] == 0 else CardConnection.T1_protocol
    try:
        conn = PCSCReader(reader).createConnection()
        conn.connect(protocol=wanted)
    except NoCardException as exc:
        raise CardRemoved(f"no card in {reader}", getattr(exc, "hresult", None)) from None
    except CardConnectionException as exc:
        hresult = getattr(exc, "hresult", None)
        present, _ = reader_state(reader)
        if not present:
            raise CardRemoved(f"card removed from {reader}", hresult) from None
        raise ReaderError(f"{reader}: {exc}", hresult) from None
    return PcscChannel(reader, atr, conn, f"T={usable[0]}", removal_grace_s)
