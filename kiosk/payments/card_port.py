"""The card payment port: a PC/SC chip card, the EMV contact flow, ISO 8583 to the acquirer.

kiosk-core calls :meth:`CardPaymentPort.authorize` on its payment worker thread. Reader
events come from pyscard's monitors (``kiosk_drivers.cardreader.ReaderEvents``), which only
note which reader holds a card and wake the waiting flow; the EMV flow itself runs here,
on the worker, never inside an observer callback.

One attempt:

1. wait for a card (``insert_card``), or take the one already inserted during this
   shopper's session: a card that was in the reader when a session ended
   (:meth:`CardPaymentPort.seal_cards`) is "left" and never read again; it stays out of
   every attempt until pyscard's observer reports it removed;
2. ``reading``: select the application (``choose_app`` when the card has several), read
   its data, analyse, first GENERATE AC (ARQC), all under a :class:`CardSession`
   watchdog; a card pulled out, a blocked card or a terminal/card decline end the
   attempt here, declined, with nothing sent;
3. ``authorizing``: one ISO 8583 request through :class:`AcquirerLink` (which journals
   before send, never resends, and queues a durable reversal when the outcome is
   unknown);
4. second GENERATE AC with the host's answer; an approval the card refuses (AAC, or a
   card pulled before it could answer) is reversed; ``remove_card``.

Card data stays in this process's memory for the attempt: field 35/55 go to the link,
the result carries only the journal-safe summary (AID, label, TVR, cryptograms, masked
PAN). It serves card payments only: every other method is its own
:class:`~kiosk.payments.method.PaymentMethod`, routed to by kiosk-core.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.domain import tlv
from kiosk.payments.acquirer import AcquirerLink, HostAnswer, SaleRequest, open_link
from kiosk.payments.emv import Candidate, EmvError, EmvTransaction
from kiosk.payments.port import (
    AuthRequest,
    AuthResult,
    Progress,
    Taken,
    no_progress,
)

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

log = logging.getLogger("kiosk.payments.card")

#: field 55 of the authorization request (issue #4, section 3)
ICC_REQUEST_TAGS = ["82", "84", "95", "9A", "9C", "5F2A", "9F02", "9F03", "9F10", "9F1A",
                    "9F26", "9F27", "9F33", "9F34", "9F35", "9F36", "9F37", "9F41"]
#: EmvError / CardError reasons that end an attempt before any request, as the shopper
#: hears them; a card that could not be read is not a declined card
ABORT_MESSAGES = {
    "card_removed": "card_removed", "card_timeout": "card_timeout",
    "card_blocked": "card_blocked", "no_application": "no_application",
    "unsupported_card": "unsupported_card", "cancelled": "cancelled",
    "card_data_error": "card_read_error", "card_data_missing": "card_read_error",
    "card_error": "card_read_error",
    "reader_error": "card_read_error", "atr_rejected": "card_read_error",
}
#: CardError reasons an attempt may end with (any other: the watchdog's card_timeout)
CARD_ERROR_REASONS = ("card_removed", "card_timeout", "unsupported_card", "reader_error",
                      "atr_rejected")
POLL_S = 0.05
#: at most this long at start for pyscard's observer to report the cards already in
START_SCAN_S = 3.0


class _Cancelled(Exception):
    """The shopper cancelled before anything left the kiosk."""


@dataclass
class _Attempt:
    stan: int
    choices: queue.Queue[int] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    sent: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    reader: str = ""            # the reader holding this attempt's card
    done: threading.Event = field(default_factory=threading.Event)  # authorize returned


@dataclass
class Timings:
    """time.monotonic() marks of the last attempt, for ``kiosk bench card``."""

    detected: float | None = None        # pcscd reported the card present
    reading: float | None = None         # the flow started on the card
    request_sent: float | None = None    # the authorization request left
    answered: float | None = None        # the host answered
    done: float | None = None            # the attempt ended (after the second AC)
    apdus: int = 0
    apdus_before_request: int = 0


class CardPaymentPort:
    """PaymentPort for contact chip cards (``devices.payment = "card"``)."""

    def __init__(self, config: KioskConfig, link: AcquirerLink | None = None,
                 watch_readers: bool = True) -> None:
        self.config = config
        self.link = link or open_link(config)
        self.timings = Timings()
        self._lock = threading.Lock()
        self._cards: dict[str, dict] = {}           # reader → its card_inserted event
        # called once the last card left in at a session's end is removed (seal_cards)
        self._on_taken: Taken | None = None
        self._changed = threading.Condition(self._lock)
        self._attempt: _Attempt | None = None
        # (reader, progress) of the last attempt while it asks to remove the card: its
        # removal is reported as the "card_removed" step, which clears the prompt
        self._remove_watch: tuple[str, Progress] | None = None
        self._events = None
        self._stop = threading.Event()
        # A reversal the link could not deliver at once (a partial approval, a card that
        # refused the approval) must not wait for the next shopper's sale.
        self._drainer = threading.Thread(target=self._drain_loop, name="card-reversals",
                                         daemon=True)
        self._drainer.start()
        if watch_readers:
            from kiosk_drivers.cardreader import ReaderEvents  # pyscard: lazily

            present = _cards_now(config.cardreader.reader_pattern)
            self._events = ReaderEvents(self._on_reader_event,
                                        config.cardreader.reader_pattern,
                                        config.cardreader.reader_poll_s).start()
            # the observer's first report, so that a seal_cards() at kiosk-core's start
            # covers a card already in the reader (left there before a restart)
            with self._changed:
                self._changed.wait_for(lambda: present <= set(self._cards), START_SCAN_S)

    def close(self) -> None:
        self._stop.set()
        if self._events is not None:
            self._events.stop()
        self.link.close()

    def _drain_loop(self) -> None:
        """Queued reversals (and completions) are retried between sales every
        ``acquirer.reversal_retry_s``, doubling up to ``reversal_retry_max_s`` while the host
        stays unreachable."""
        every, most = (self.config.acquirer.reversal_retry_s,
                       self.config.acquirer.reversal_retry_max_s)
        wait = every
        while not self._stop.wait(wait):
            store = getattr(self.link, "store", None)
            try:
                if self._attempt is not None or store is None or not store.pending():
                    wait = every  # a sale drains first anyway; nothing to do
                    continue
                if self.link.drain_reversals():
                    wait = every
                else:
                    wait = min(wait * 2, most)
            except Exception:  # the next round retries; never let this thread die
                log.exception("draining queued reversals failed")
                wait = min(wait * 2, most)

    # -- reader events (pyscard's monitor thread: note and wake, nothing more) ----------
    def _on_reader_event(self, event: dict) -> None:
        with self._changed:
            gone = None
            if event["type"] == "card_inserted":
                # a new card without a removal first (pcscd saw a swap) replaces the old one
                gone = self._cards.get(event["reader"])
                self._cards[event["reader"]] = dict(event, left=False)
            elif event["type"] in ("card_removed", "reader_removed"):
                gone = self._cards.pop(event["reader"], None)
                watch = self._remove_watch
                if watch is not None and watch[0] == event["reader"]:
                    self._remove_watch = None
                    watch[1]({"step": "card_removed"})  # only posts to the core's inbox
            if gone is not None and gone["left"] and not self._left_cards():
                taken, self._on_taken = self._on_taken, None
                log.info("%s: the card left in the reader was taken", event["reader"])
                if taken is not None:
                    taken()  # only posts to the core's inbox
            self._changed.notify_all()

    def _left_cards(self) -> list[str]:
        return [reader for reader, card in self._cards.items() if card["left"]]

    def _usable(self) -> list[dict]:
        return [card for card in self._cards.values() if not card["left"]]

    def seal_cards(self, on_taken: Taken) -> bool:
        """The shopper's session has ended: every card in a reader now is left behind and
        never pays again; a card inserted from now on may. Called on kiosk-core's loop."""
        with self._lock:
            for card in self._cards.values():
                card["left"] = True
            left = self._left_cards()
            self._on_taken = on_taken if left else None
        if left:
            log.warning("session ended with a card in %s: blocked until it is taken",
                        ", ".join(left))
        return bool(left)

    def _wait_card(self, attempt: _Attempt, progress: Progress) -> dict:
        deadline = time.monotonic() + self.config.card.insert_timeout_s
        with self._changed:
            if not self._usable():
                progress({"step": "insert_card"})
            while not self._usable():
                if attempt.cancelled.is_set():
                    raise _Cancelled()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise EmvError("card_timeout", "no card inserted")
                self._changed.wait(min(left, POLL_S * 4))
            return self._usable()[0]

    def _wait_removed(self, reader: str, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        with self._changed:
            while reader in self._cards and time.monotonic() < deadline:
                self._changed.wait(POLL_S * 4)

    def _holds_card(self, reader: str) -> bool:
        with self._lock:
            return reader in self._cards

    # -- PaymentPort -----------------------------------------------------------------
    def choose(self, stan: int, index: int) -> None:
        attempt = self._attempt
        if attempt is not None and attempt.stan == stan:
            attempt.choices.put(index)

    def cancel(self, stan: int) -> bool:
        attempt = self._attempt
        if attempt is None or attempt.stan != stan:
            return True  # no such attempt running here: nothing will leave for it
        with attempt.lock:
            if attempt.sent:
                return False
            attempt.cancelled.set()
        with self._changed:
            self._changed.notify_all()
        return True

    def reverse(self, request: AuthRequest) -> bool:
        running = self._attempt
        if running is not None and running.stan == request.stan and not running.done.wait(
                self._attempt_bound_s()):
            return False  # its request may not be journaled yet: decide once it has ended
        store = getattr(self.link, "store", None)
        if store is not None and store.get(request.idem_key) is None:
            # The link journals every request before sending it: no record under this key
            # means nothing left the kiosk (e.g. the core restarted while the card was
            # being read), so the host has nothing to undo.
            log.info("reversal of %s: no request was sent under it, nothing to undo",
                     request.idem_key)
            return True
        self.link.reverse(request.idem_key, "core_reversal")
        return self.link.drain_reversals()

    def _attempt_bound_s(self) -> float:
        """How long one attempt can take at most once its request may have left."""
        acq = self.config.acquirer
        return (acq.connect_timeout_s + acq.response_timeout_s + acq.reversal_timeout_s
                * acq.reversal_attempts_per_drain + 2 * self.config.card.session_limit_s)

    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        attempt = _Attempt(request.stan)
        with self._lock:
            self._remove_watch = None
        self._attempt = attempt
        self.timings = Timings()
        try:
            return self._run(request, attempt, progress)
        finally:
            self._attempt = None
            # the attempt is over: a card-session worker the watchdog left behind (e.g.
            # still waiting for the shopper's application choice) ends instead of polling
            attempt.cancelled.set()
            attempt.done.set()

    # -- one card attempt -----------------------------------------------------------------
    def _run(self, request: AuthRequest, attempt: _Attempt, progress: Progress) -> AuthResult:
        # pyscard (through the reader driver) loads only when a card flow runs
        from kiosk_drivers.cardreader import CardError, CardSession, UnsupportedCard, open_channel

        try:
            card = self._wait_card(attempt, progress)
        except _Cancelled:
            return _aborted("cancelled")
        except EmvError as exc:
            return _aborted(exc.reason)
        self.timings.detected = card.get("t")
        if card.get("unsupported"):
            progress({"step": "unsupported_card"})
            return _aborted("unsupported_card")
        progress({"step": "reading"})
        self.timings.reading = time.monotonic()
        reader = card["reader"]
        attempt.reader = reader
        try:
            channel = open_channel(reader, self.config.cardreader.removal_grace_s)
        except UnsupportedCard as exc:
            log.warning("card attempt %06d: %s refused: %s", request.stan, reader, exc)
            progress({"step": "unsupported_card"})
            return _aborted("unsupported_card")
        except CardError as exc:
            # the message names the reader and the ATR at most: no cardholder data
            log.warning("card attempt %06d: %s: %s (%s)", request.stan, reader,
                        _card_reason(exc), exc)
            return _aborted(_card_reason(exc))
        limit = self.config.card.session_limit_s
        cur = self.config.currency
        emv = EmvTransaction(channel, self.config.card.terminal, request.amount,
                             request.currency_numeric, cur.exponent, now=datetime.now(),
                             atc_counter=lambda: self.link.store.next("tsc"))
        sessions: list[CardSession] = []
        try:
            try:
                session = CardSession(channel, limit)
                sessions.append(session)
                session.run(lambda _ch: self._card_until_arqc(emv, attempt, progress))
            except _Cancelled:
                return _aborted("cancelled", emv)
            except EmvError as exc:
                if exc.reason == "unsupported_card":
                    progress({"step": "unsupported_card"})
                # the reason code only: an EMV error's detail may quote what the card sent
                log.warning("card attempt %06d ended before any request: %s", request.stan,
                            exc.reason)
                return _aborted(ABORT_MESSAGES.get(exc.reason, "card_declined"), emv,
                                reason=exc.reason)
            except CardError as exc:
                log.warning("card attempt %06d ended before any request: %s (%s)",
                            request.stan, _card_reason(exc), type(exc).__name__)
                return _aborted(_card_reason(exc), emv)
            self.timings.apdus_before_request = getattr(channel, "apdu_count", 0)
            answer = self._send(request, emv, attempt, progress)
            if answer is None:
                return _aborted("cancelled", emv)
            return self._complete(request, emv, answer, channel, limit, sessions)
        finally:
            self.timings.apdus = getattr(channel, "apdu_count", 0)
            self.timings.done = time.monotonic()
            if any(s.timed_out for s in sessions):
                # an APDU may still be stuck inside pcscd: close() would wait for it (for
                # as long as the dead card stays in); the watchdog's abort has already
                # arranged the disconnect for when that transmit returns
                log.warning("card session watchdog fired: card left to the abort")
            else:
                try:
                    channel.close()
                except Exception:  # the card may be gone; closing is best effort
                    log.debug("closing the card channel failed", exc_info=True)
            with self._lock:
                if reader in self._cards:
                    self._remove_watch = (reader, progress)
                    progress({"step": "remove_card"})

    def _card_until_arqc(self, emv: EmvTransaction, attempt: _Attempt,
                         progress: Progress) -> bytes:
        emv.select(lambda candidates: self._ask(candidates, attempt, progress))
        if attempt.cancelled.is_set():
            raise _Cancelled()
        emv.read_data()
        emv.analyse()
        if attempt.cancelled.is_set():
            raise _Cancelled()
        return emv.first_ac()

    def _ask(self, candidates: list[Candidate], attempt: _Attempt, progress: Progress) -> int:
        progress({"step": "choose_app", "apps": [{"label": c.label} for c in candidates]})
        while True:
            if attempt.cancelled.is_set():
                raise _Cancelled()
            if attempt.reader and not self._holds_card(attempt.reader):
                # pulled while the shopper was choosing: end now, not at the watchdog
                raise EmvError("card_removed", "card removed during application choice")
            try:
                index = attempt.choices.get(timeout=POLL_S * 4)
            except queue.Empty:
                continue
            if 0 <= index < len(candidates):
                progress({"step": "reading"})
                return index
            log.warning("application choice %d out of range (%d offered)", index,
                        len(candidates))

    def _send(self, request: AuthRequest, emv: EmvTransaction, attempt: _Attempt,
              progress: Progress) -> HostAnswer | None:
        with attempt.lock:
            if attempt.cancelled.is_set():
                return None
            attempt.sent = True  # from here a cancel means a reversal
        progress({"step": "authorizing"})
        sale = SaleRequest(txn=request.txn, idem_key=request.idem_key, amount=request.amount,
                           currency_numeric=request.currency_numeric,
                           icc_data=emv.icc_data(ICC_REQUEST_TAGS),
                           track2=emv.track2_equivalent(), pan=emv.pan(),
                           pan_masked=emv.pan_masked())
        self.timings.request_sent = time.monotonic()
        answer = self.link.authorize(sale)
        self.timings.answered = time.monotonic()
        return answer

    def _complete(self, request: AuthRequest, emv: EmvTransaction, answer: HostAnswer,
                  channel: object, limit: float, sessions: list) -> AuthResult:
        from kiosk_drivers.cardreader import CardError, CardSession  # pyscard: lazily

        approved = answer.outcome == "approved"
        if answer.outcome in ("unknown", "unavailable"):
            arc = None  # host unreachable: the card is asked for an AAC with 8A "Z3"
        else:
            arc = (answer.response_code or "05").encode("ascii")[:2].ljust(2, b"0")
        issuer = (_tlv91(answer.issuer_auth_data) + answer.scripts_71 + answer.scripts_72
                  if answer.outcome != "unknown" else None)
        session = CardSession(channel, limit)
        sessions.append(session)
        try:
            cid = session.run(lambda _ch: emv.second_ac(arc, issuer or None, approved=approved))
        except (EmvError, CardError) as exc:
            reason = exc.reason if isinstance(exc, EmvError) else _card_reason(exc)
            log.warning("second GENERATE AC failed: %s", reason)
            cid = "none"
        card = _card_facts(emv)
        if answer.outcome == "approved" and cid == "TC":
            self.link.completed(request.idem_key)
            return AuthResult("approved", auth_code=answer.auth_code, card=card,
                              rrn=answer.rrn, response_code=answer.response_code)
        if answer.outcome == "approved":
            # the host approved but the card did not take it: reverse, tell the shopper
            self.link.reverse(request.idem_key, "card_refused_approval")
            return AuthResult("unavailable", reason="card_refused_approval", card=card,
                              rrn=answer.rrn, response_code=answer.response_code,
                              message_key="card_declined")
        if answer.outcome == "declined":
            return AuthResult("declined", reason=f"host_{answer.response_code or 'declined'}",
                              card=card, rrn=answer.rrn, response_code=answer.response_code,
                              message_key=answer.message_key or "card_declined")
        if answer.outcome == "unavailable":  # nothing left the kiosk
            return AuthResult("declined", reason="host_unreachable", card=card,
                              message_key="try_later")
        return AuthResult("unavailable", reason="host_no_answer", card=card,
                          message_key="try_later")


def _cards_now(reader_pattern: str) -> set[str]:
    """The readers holding a card now, in one PC/SC status query (empty if pcscd is down)."""
    try:
        from kiosk_drivers.cardreader import CardError, reader_state
        from smartcard.System import readers

        names = [str(r) for r in readers()
                 if not reader_pattern or re.search(reader_pattern, str(r))]
        out = set()
        for name in names:
            try:
                if reader_state(name)[0]:
                    out.add(name)
            except CardError:
                continue
        return out
    except Exception:  # no pcscd, no pyscard: the observer reports what comes later
        log.debug("no card reader status at start", exc_info=True)
        return set()


def _tlv91(data: bytes | None) -> bytes:
    if not data:
        return b""
    return tlv.encode("91", data)


def _card_reason(exc: Exception) -> str:
    """The stable reason of a kiosk_drivers.cardreader error (a card found gone while connecting
    is card_removed)."""
    reason = getattr(exc, "reason", "")
    if reason == "reader_error" and "no card" in str(exc):
        return "card_removed"
    return reason if reason in CARD_ERROR_REASONS else "card_timeout"


def _card_facts(emv: EmvTransaction | None) -> dict:
    if emv is None:
        return {}
    summary = emv.summary()
    return {"brand": summary.get("brand"), "masked_pan": summary.get("pan_masked"),
            "aid": summary.get("aid"), "label": summary.get("label"), "entry": "chip",
            "tvr": summary.get("tvr"), "tsi": summary.get("tsi"), "arqc": summary.get("arqc"),
            "tc": summary.get("tc"), "aac": summary.get("aac"),
            "cvm_results": summary.get("cvm_results")}


def _aborted(key: str, emv: EmvTransaction | None = None, reason: str | None = None
             ) -> AuthResult:
    """An attempt that ended before any request left: declined, nothing to reverse."""
    return AuthResult("declined", reason=reason or key, card=_card_facts(emv),
                      message_key=ABORT_MESSAGES.get(key, key))
