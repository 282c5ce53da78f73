"""kiosk-voice (``kiosk voice run``): listens, speaks, and sends the UI's commands.

The service follows the lane's retained checkout state and core status on the
bus. Per state it sets the recognizer's grammar and speaks the state's prompt
(:mod:`kiosk.services.voice.prompts`). Recognized intents become the SAME commands the touch UI
sends (source ``voice``; ``gpio`` for those the tactile keys drove, which kiosk-core counts
as the keys channel of the basket), so kiosk-core treats a voice intent exactly like a
touch; "repeat" and "how much" are answered locally by speaking.

* Recognition is OFF while a prompt plays (and for a short echo tail after it):
  frames are dropped and the recognizer is reset, so the kiosk never hears its
  own prompts. Barge-in is by tactile key: a key stops speech at once. With a
  headset plugged in the prompts go only to the headset, so the microphone does
  not hear them: recognition stays on while speaking and a recognized command
  stops the prompt (voice barge-in, ``voice.headset_barge_in``).
* Two misses in a row (rejected results) → "sorry, please say that again"; speech that
  came close to a command but not surely one (rejected as ``low_confidence`` or
  ``ambiguous``) is asked again at once instead of guessed.
* yes / no are mapped in context: an idle warning (yes = more time), a pending
  confirmation, or the receipt question.
* Paying or calling staff heard with less than ``voice.match.sure_above`` confidence,
  and cancelling the basket always, is asked back first, saying what was understood
  ("Pay 7,810 won by card? Say yes, or press select"; :mod:`kiosk.services.voice.confirm`).
  Yes or the select key does it; no or the back key keeps things as they were.
* Accessible mode (:mod:`kiosk.services.voice.accessible`) starts on a keypad event, the help
  button, the help phrase, or a headset being plugged in.
* Never silent: when the shopper's language has no speech model, the kiosk says so (in that
  language, with the prompts' speech engine, once per session and language, with the state's
  prompt) and names the languages that have voice; the keys keep working. It publishes which
  languages have voice (retained, ``voice/status``) for the screen to say it too. "Change
  language" with no target asks which; a switch to a language without a model is confirmed
  first (yes / no).

Threads: paho's network thread only queues bus messages (the state and core status
read through their schema, :mod:`kiosk.bus.state_feed`); the frame-reader thread
only queues audio; the TTS thread only plays. The main loop owns all state,
feeds the recognizer, and pings the systemd watchdog.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from kiosk_voice.intents import ITEM_INTENT
from kiosk_voice.tts import Speaker

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import (
    MAX_STATUS_BYTES,
    MessageError,
    Topics,
    accepted,
    command,
    load_json,
    rating_phase,
)
from kiosk.bus.rejects import RejectLog
from kiosk.bus.state_feed import subscribe_state_feed
from kiosk.domain.languages import language_of
from kiosk.domain.vocabulary import CANCELLABLE, IDLE_STATES
from kiosk.services.voice.accessible import AccessibleMode, JackSource, SimulatedJack
from kiosk.services.voice.confirm import needs_confirmation
from kiosk.services.voice.prompts import TEXT, Prompts, Speech

log = logging.getLogger("kiosk.voice")
SOURCE = "voice"
KEYS_SOURCE = "gpio"  # the commands the tactile keys (kiosk-gpio's keypad) drove
RATE = 16000
FRAME_MS = 10
ECHO_TAIL_S = 0.15    # after a prompt ends, the room still rings: stay deaf this long
MISSES_BEFORE_SORRY = 2
#: rejections of speech that was nearly a command: asked again at once
DOUBTFUL = ("low_confidence", "ambiguous")
TOUCH_EVERY_S = 5.0   # key presses keep the idle timer from running out, at this rate

#: intent-name aliases to one vocabulary (recognizer names → service names)
ALIASES = {"pay_phone": "pay_qr", "call_staff": "help", "receipt_print": "receipt",
           "print_receipt": "receipt", "receipt_none": "no_receipt", "change_language": "language",
           "total": "how_much"}


class Recognizer(Protocol):
    """kiosk_voice.recognizer.Recognizer's interface, as the service uses it."""

    def set_state(self, state_name: str) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def feed(self, frames: bytes) -> Any: ...


class FrameSource(Protocol):
    def read(self, timeout: float) -> bytes | None:
        """Next 10 ms frame of 16 kHz mono int16 PCM, or None if none came in ``timeout``."""
        ...

    def close(self) -> None: ...


# -- WAV input (replaces the microphone; nothing else changes) ---------------------------

class WavError(ValueError):
    """A WAV file the voice input cannot use."""


def read_wav_pcm(path: Path) -> bytes:
    """16 kHz mono 16-bit PCM from a WAV file; anything else is a clear error."""
    try:
        with wave.open(str(path), "rb") as wav:
            fmt = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
            if fmt != (RATE, 1, 2):
                raise WavError(f"{path}: need 16000 Hz mono 16-bit, got {fmt[0]} Hz, "
                               f"{fmt[1]} channel(s), {8 * fmt[2]}-bit (convert with sox)")
            return wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise WavError(f"{path}: not a WAV file ({exc})") from None


@dataclass
class _Clip:
    pcm: bytes
    state: str | None   # play only once the kiosk is in this state and listening
    name: str


class WavSource:
    """A simulated microphone: silence, with queued WAV clips played in real time.

    Like a shopper who waits for the kiosk to finish speaking, a clip starts only
    when ``listening()`` is true and (if given) the checkout state is ``state``.
    """

    def __init__(self, listening: Callable[[str | None], bool] | None = None,
                 realtime: bool = True) -> None:
        self.listening = listening or (lambda _state: True)
        self.realtime = realtime
        self._clips: queue.Queue[_Clip] = queue.Queue()
        self._current: bytes = b""
        self._next_at = time.monotonic()
        self.played: list[str] = []
        self._lock = threading.Lock()

    def push(self, path: Path | str, state: str | None = None) -> None:
        self._clips.put(_Clip(read_wav_pcm(Path(path)) + bytes(RATE // 5 * 2), state,
                              Path(path).name))

    def pending(self) -> int:
        return self._clips.qsize() + (1 if self._current else 0)

    def read(self, timeout: float) -> bytes | None:
        frame_bytes = RATE * FRAME_MS // 1000 * 2
        if self.realtime:
            wait = self._next_at - time.monotonic()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
            self._next_at = max(self._next_at, time.monotonic() - 0.1) + FRAME_MS / 1000
        with self._lock:
            if not self._current and not self._clips.empty():
                clip = self._clips.queue[0]
                if self.listening(clip.state):
                    self._clips.get()
                    self._current = clip.pcm
                    self.played.append(clip.name)
            if self._current:
                frame, self._current = self._current[:frame_bytes], self._current[frame_bytes:]
                return frame.ljust(frame_bytes, b"\0")
        return bytes(frame_bytes)

    def close(self) -> None:
        pass


class IterSource:
    """Adapts an iterator of frames (the microphone's) to :class:`FrameSource`: a reader
    thread only moves frames into a bounded queue."""

    def __init__(self, frames: Iterable[Any], on_close: Callable[[], None] | None = None) -> None:
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=200)
        self._on_close = on_close
        self._thread = threading.Thread(target=self._pump, args=(iter(frames),),
                                        name="voice-capture", daemon=True)
        self._thread.start()

    def _pump(self, frames: Any) -> None:
        for frame in frames:
            data = frame.tobytes() if hasattr(frame, "tobytes") else bytes(frame)
            try:
                self._queue.put_nowait(data)
            except queue.Full:  # the main loop is behind: drop the oldest, keep up
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                self._queue.put_nowait(data)

    def read(self, timeout: float) -> bytes | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._on_close:
            self._on_close()


# -- intents → commands ----------------------------------------------------------------

def intent_name(result: Any) -> str | None:
    """The intent's name from the recognizer's result (None for a rejection)."""
    name = getattr(result, "name", None) or getattr(result, "intent", None)
    if name is None and isinstance(result, dict):
        name = result.get("intent") or result.get("name")
    if not isinstance(name, str):
        return None
    return ALIASES.get(name, name)


def intent_arg(result: Any) -> str | None:
    for attr in ("arg", "value", "slot", "locale"):
        value = getattr(result, attr, None)
        if isinstance(value, str):
            return value
    return None


def grammar_state(msg: dict, confirming: str | None = None) -> str:
    """The dialog state whose phrases the recognizer listens for.

    Mostly the checkout state; but a yes/no question of the voice dialog (cancel
    confirmation, idle warning) listens for ``confirm``, and the receipt question
    (asked in ``approved`` until the shopper chose) for ``receipt``.
    """
    state = msg.get("state", "attract")
    if confirming or (msg.get("idle_warning_at") and state in IDLE_STATES):
        return "confirm"
    if state == "approved" and not (msg.get("payment") or {}).get("receipt_choice"):
        return "receipt"
    if state == "receipt":
        phase = rating_phase(msg)  # the optional rating (issue 18), then what went wrong
        if phase in ("ask", "reasons"):
            return "rating" if phase == "ask" else "rating_reasons"
        return "approved"  # chosen already: repeat and how much only
    return state


def is_rejection(result: Any) -> bool:
    return result is not None and intent_name(result) is None


class VoiceService:
    """One lane's voice service. ``recognizers(lang)`` gives the recognizer for a
    language (None when no model is installed for it)."""

    def __init__(self, lane: str, bus: BusLogin, speaker: Speaker,
                 recognizers: Callable[[str], Recognizer | None], source: FrameSource,
                 jack: JackSource | None = None, default_locale: str = "en",
                 locales: Iterable[str] = (), headset_barge_in: bool = True,
                 sure_above: float = 0.9) -> None:
        self.lane = lane
        self.sure_above = sure_above
        self.headset_barge_in = headset_barge_in
        self.locales = list(locales) or [default_locale]
        self.topics = Topics(lane)
        self.speaker = speaker
        self.recognizers = recognizers
        self.source = source
        self.jack = jack or SimulatedJack(False)
        self.default_locale = default_locale
        self.accessible = AccessibleMode()
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.msg: dict = {"state": "attract", "locale": default_locale}
        self.core_online = False
        self.headset = False
        self.misses = 0
        self.confirming: str | None = None     # an action waiting for yes/no
        self.sent: list[dict] = []             # commands published (for tests and logs)
        self._by_key = False                   # handling a tactile key (KEYS_SOURCE)
        self.heard: list[str] = []             # intents recognized
        self.misheard: list[str] = []          # rejected results' reasons (refused speech)
        self.fed_while_speaking = 0            # 0 unless a headset is plugged in
        self.barge_ins = 0                     # prompts stopped by a voice command
        self.dropped_frames = 0
        self._recognizer: Recognizer | None = None
        self._recognizer_lang: str | None = None
        self._reset_pending = True
        self._quiet_since = 0.0
        self._last_jack_poll = 0.0
        self._prompt_key: tuple | None = None
        self._step: str | None = None
        self._last_touch = -TOUCH_EVERY_S
        self._last_lines = 0
        self._announced: set[tuple] = set()    # (session, language) told it has no voice
        self._voice_status: list[str] | None = None  # the locales with voice, as published
        self.speaker.on_speaking = self._on_speaking
        self.bus = BusClient(bus, f"kiosk-voice-{lane}")
        self.rejects = RejectLog(log)
        # state and status arrive parsed; the rest as payloads, read on the main loop
        subscribe_state_feed(self.bus, self.topics, self.rejects,
                             lambda msg: self.inbox.put(("state", msg)),
                             lambda msg: self.inbox.put(("status", msg)))
        for topic, kind in ((self.topics.result, "result"), (self.topics.keypad, "key"),
                            (self.topics.headset, "headset")):
            self.bus.subscribe(topic, lambda _t, p, k=kind: self.inbox.put((k, p)))
        # a command the broker kept retained is never acted on (kiosk-core clears it); an
        # empty one is that clearing
        self.bus.subscribe(self.topics.command_from("gpio"),  # the help button
                           lambda _t, p, retained: None if retained or not p
                           else self.inbox.put(("cmd", p)), with_retain=True)

    # -- listening gate ---------------------------------------------------------------

    def _on_speaking(self, speaking: bool) -> None:
        if not speaking:
            self._quiet_since = time.monotonic()

    def barge_in_by_voice(self) -> bool:
        """Prompts play only in the headset: the microphone cannot hear them."""
        return self.headset_barge_in and self.headset

    def listening(self, state: str | None = None) -> bool:
        """Recognition is on: nothing playing, echo tail over, (and in ``state``); in
        headset mode also while a prompt plays."""
        speaking = self.speaker.speaking or time.monotonic() - self._quiet_since < ECHO_TAIL_S
        if speaking and not self.barge_in_by_voice():
            return False
        if self._recognizer is None:
            return False
        return state is None or self.msg.get("state") == state

    # -- lifecycle --------------------------------------------------------------------

    def run(self, stop: threading.Event, on_ready: Callable[[], None] | None = None,
            on_tick: Callable[[], Any] | None = None) -> None:
        connected = self.bus.start(wait_s=10)
        while not connected and not stop.is_set():
            connected = self.bus.connected.wait(1)
            if on_tick:
                on_tick()
        for locale in self.locales:  # load every model now, not in a shopper's session
            self.recognizers(language_of(locale))
        self._select_recognizer(self.msg.get("locale", self.default_locale))
        self._publish_voice_status()
        if on_ready and connected:
            on_ready()
        try:
            while not stop.is_set():
                if on_tick:
                    on_tick()
                self._drain()
                self.rejects.flush()
                self._poll_jack()
                frame = self.source.read(0.05)
                if frame is not None:
                    self._frame(frame)
        finally:
            self.rejects.flush(force=True)
            self.speaker.stop()
            self.source.close()
            self.bus.stop()

    def _drain(self) -> None:
        while True:
            try:
                kind, payload = self.inbox.get_nowait()
            except queue.Empty:
                return
            try:  # state and status came through their one schema, the rest is bounded
                data = (payload if kind in ("state", "status")
                        else load_json(payload, MAX_STATUS_BYTES))
                self._handle(kind, data)
            except MessageError as exc:
                self.rejects.reject(kind, exc.code, str(exc))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.rejects.reject(kind, "unusable", f"{type(exc).__name__}: {exc}")

    def _handle(self, kind: str, data: dict) -> None:
        if kind == "state":
            self._on_state(data)
        elif kind == "status":
            self.core_online = bool(data.get("online"))
        elif kind == "result":
            self._on_result(data)
        elif kind == "key":
            self.on_key(str(data["key"]))
        elif kind == "headset":
            if isinstance(self.jack, SimulatedJack):
                self.jack.set(bool(data["plugged"]))
                self._poll_jack(force=True)
        elif kind == "intent":  # injected (tests, a staff console): as if heard
            self.on_intent(str(data["name"]), data.get("arg"),
                           float(data.get("confidence", 1.0)))
        elif kind == "cmd":
            # the tactile help button (kiosk-gpio) also starts accessible mode
            if data.get("type") == "help" and data.get("source") == "gpio":
                self.start_accessible()

    # -- recognizer -------------------------------------------------------------------

    def voice_locales(self) -> list[str]:
        """The lane's locales whose language has a speech model (voice commands work)."""
        locales = self.msg.get("locales") or self.locales
        return [loc for loc in locales if self.recognizers(language_of(loc)) is not None]

    def _publish_voice_status(self) -> None:
        """Tell the screen (retained) which of the lane's locales have voice commands."""
        locales = self.voice_locales()
        if locales != self._voice_status:
            self._voice_status = locales
            self.bus.publish(self.topics.voice_status,
                             {"v": 1, "type": "voice_status", "locales": locales}, retain=True)

    def _no_voice_speech(self) -> Speech:
        """The shopper's language has no model: say so, and where voice does work."""
        p = self.prompts()
        texts = [p.t(TEXT["voice_unavailable"])]
        others = self.voice_locales()
        if others:
            texts.append(p.t(TEXT["voice_languages"], languages=p.languages(others)))
        return Speech(texts)

    def _tell_no_voice(self, speech: Speech) -> Speech:
        """``speech`` plus the no-voice notice, once per session and language, while the
        shopper's language has no model and someone is there to hear it."""
        lang = self._recognizer_lang
        key = (self.msg.get("txn"), lang)
        if self._recognizer is not None or key in self._announced:
            return speech
        if not (self.accessible.active or self.msg.get("state") not in ("attract",
                                                                         "out_of_service")):
            return speech
        self._announced.add(key)
        return Speech(speech.texts + self._no_voice_speech().texts, speech.private)

    def _select_recognizer(self, locale: str) -> None:
        lang = language_of(locale)
        if lang == self._recognizer_lang and self._recognizer is not None:
            return
        self._recognizer = self.recognizers(lang)
        self._recognizer_lang = lang
        self._reset_pending = True
        if self._recognizer is None:
            log.warning("no speech model for %s: voice commands are off in that language", lang)

    def _frame(self, frame: bytes) -> None:
        rec = self._recognizer
        if not self.listening():
            self.dropped_frames += 1
            if rec is not None and not self._reset_pending:
                rec.pause()  # drops an utterance in progress: nothing half heard survives
            self._reset_pending = True
            return
        assert rec is not None
        if self._reset_pending:
            rec.pause()
            rec.set_state(grammar_state(self.msg, self.confirming))
            rec.resume()
            self._reset_pending = False
        if self.speaker.speaking:
            self.fed_while_speaking += 1
        result = rec.feed(np.frombuffer(frame, dtype=np.int16))
        if result is None:
            return
        if getattr(result, "reason", None) == "nothing":
            log.info("a sound that decoded to nothing in %s", self.msg.get("state"))
            return  # a cough or a door: not a miss
        name = intent_name(result)
        if name is None:
            log.info("rejected (%s) %r in %s", getattr(result, "reason", "?"),
                     getattr(result, "text", ""), self.msg.get("state"))
            self.misheard.append(str(getattr(result, "reason", "?")))
            self._miss(doubtful=getattr(result, "reason", None) in DOUBTFUL)
            return
        self.misses = 0
        self.heard.append(name)
        if self.speaker.speaking:  # only in headset mode: the shopper talked over a prompt
            self.barge_ins += 1
            self.speaker.stop()
        confidence = float(getattr(result, "confidence", 1.0))
        log.info("heard %s (%.2f) in %s", name, confidence, self.msg.get("state"))
        self.on_intent(name, intent_arg(result), confidence)

    def _miss(self, doubtful: bool = False) -> None:
        self.misses += 1
        if doubtful or self.misses >= MISSES_BEFORE_SORRY:
            self.misses = 0
            self.speak(self.prompts().say("sorry"))

    # -- state ------------------------------------------------------------------------

    def prompts(self) -> Prompts:
        return Prompts(self.msg.get("locale") or self.default_locale)

    def _on_state(self, msg: dict) -> None:
        old = self.msg
        self.msg = msg
        state = msg.get("state")
        if old.get("txn") and not msg.get("txn"):
            self._session_over()
        if msg.get("locale") != old.get("locale"):
            self._select_recognizer(msg.get("locale") or self.default_locale)
        if msg.get("locales") != old.get("locales"):
            self._publish_voice_status()
        if state != old.get("state"):
            self.misses = 0
            self.confirming = None
            self._reset_pending = True
        self.accessible.on_state(msg)
        payment = msg.get("payment") or {}
        if grammar_state(msg, self.confirming) != grammar_state(old, self.confirming):
            self._reset_pending = True  # the recognizer listens for the new state's phrases
        # a new state (or language, idle warning, receipt choice) gets its whole prompt; a
        # new card step within it (insert, reading, ..., remove card) only that step's line
        key = (state, payment.get("receipt_choice"), bool(msg.get("idle_warning_at")),
               msg.get("locale"), rating_phase(msg))
        step = payment.get("step")
        lines = len(msg.get("lines") or [])
        first = self._prompt_key is None
        # a card left in the reader is said on any screen: its owner is walking away
        take_card = bool(msg.get("card_left")) and not old.get("card_left")
        if key != self._prompt_key or take_card:
            # only the rating moved on (rated, or asked what went wrong): say only that
            rating_only = self._prompt_key is not None and key[:4] == self._prompt_key[:4]
            self._prompt_key = key
            self._step = step
            if take_card or not first and self._should_speak(state):
                speech = (self.prompts().rating(msg) if rating_only and not take_card
                          else self.prompts().state(msg))
                if msg.get("idle_warning_at") and not old.get("idle_warning_at"):
                    speech = self.prompts().say("idle_warning")
                self.speak(self._tell_no_voice(speech))
        elif step != self._step:
            self._step = step
            if step and self._should_speak(state):
                self.speak(self.prompts().step(step, msg))
        elif state == "shopping" and lines > self._last_lines and self.accessible.active:
            last = (msg.get("lines") or [])[-1]
            p = self.prompts()
            self.speak(Speech([p.t(TEXT["added"], name=p.name(last["names"]),
                                   amount=p.money(last.get("amount", 0), msg))], private=True))
        self._last_lines = lines

    def _should_speak(self, state: str | None) -> bool:
        # the lane's idle screens speak only to a shopper who asked for guidance
        return self.accessible.active or state not in ("attract", "out_of_service")

    def _session_over(self) -> None:
        """A shopper has gone: volume back to the store default, accessible mode off."""
        self.speaker.reset_volume()
        self.accessible.end()
        self.misses = 0
        self.confirming = None

    def _on_result(self, data: dict) -> None:
        mine = next((c for c in self.sent if c["id"] == data.get("id")), None)
        if mine is not None and not data.get("ok") and data.get("reason"):
            self.speak(self.prompts().error(data["reason"]))

    # -- speech -----------------------------------------------------------------------

    def speak(self, speech: Speech) -> None:
        if speech:
            self._reset_pending = True
            self.speaker.say(speech.texts, self.msg.get("locale") or self.default_locale,
                             private=speech.private)

    def _poll_jack(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_jack_poll < 0.5:
            return
        self._last_jack_poll = now
        plugged = self.jack.plugged()
        if plugged is None or plugged == self.headset:
            return
        self.headset = plugged
        self.speaker.headset_plugged = plugged
        if plugged:
            self.speaker.stop()
            speech = self.prompts().say("headset_on")
            speech.texts += self.accessible.start(self.prompts()).texts
            self.speak(speech)
        else:
            self.speak(self.prompts().say("headset_off"))

    def start_accessible(self) -> None:
        announce = self.accessible.start(self.prompts())
        if announce:
            self.speak(self._tell_no_voice(Speech(
                announce.texts + self.prompts().state(self.msg).texts, private=self.headset)))

    # -- actions (shared by voice intents and tactile keys) ---------------------------

    def send(self, kind: str, **fields: Any) -> dict:
        msg = command(kind, source=KEYS_SOURCE if self._by_key else SOURCE, **fields)
        self.sent.append(msg)
        self.bus.publish(self.topics.command_from("voice"), msg)
        return msg

    def on_key(self, key: str) -> None:
        """A tactile key: barge-in (speech stops at once), then focus navigation. What it
        sends says so (source ``gpio``): how the shopper drove the basket (issue 18)."""
        self._by_key = True
        try:
            self._on_key(key)
        finally:
            self._by_key = False

    def _on_key(self, key: str) -> None:
        self.speaker.stop()
        self._keep_alive()
        if self.confirming and key in ("select", "back"):  # the question's answer
            self._yes_no(key == "select")
            return
        if not self.accessible.active:
            self.start_accessible()
            return
        outcome = self.accessible.key(key, self.msg, self.prompts())
        self.speak(outcome.speech)
        if outcome.action:
            self.do(outcome.action)

    def _keep_alive(self) -> None:
        """A shopper working the keys is active: tell the core's idle timer (a ``touch``,
        as the screen sends), at most every few seconds."""
        now = time.monotonic()
        if self.msg.get("state") in IDLE_STATES and now - self._last_touch >= TOUCH_EVERY_S:
            self._last_touch = now
            self.send("touch")

    def on_intent(self, name: str, arg: str | None = None, confidence: float = 1.0) -> None:
        """Act on an intent heard with ``confidence`` (injected ones are sure), or ask it
        back first (:func:`~kiosk.services.voice.confirm.needs_confirmation`)."""
        name = ALIASES.get(name, name)
        if name in ("yes", "no"):
            self._yes_no(name == "yes")
            return
        askable = name.startswith("pay_") or name == "help" or (
            name == "cancel" and self.msg.get("state") in CANCELLABLE)
        if askable and needs_confirmation(name, confidence, self.accessible.active,
                                          self.sure_above):
            self.confirming = name
            self._reset_pending = True  # listen for yes / no
            self.speak(self.prompts().confirm(name, self.msg))
            return
        self._act(name, arg)

    def _act(self, name: str, arg: str | None = None) -> None:
        if name == "help":  # the help phrase starts accessible mode and calls staff
            self.start_accessible()
            if accepted(self.msg, "help"):
                self.send("help")
        elif name == "language":
            self._change_language(arg)
        elif name.startswith("pay_"):  # pay_<method id>: the method's own words
            self.do(name)
        elif name == "receipt":
            self.do("receipt_print")
        elif name == "no_receipt":
            self.do("receipt_none")
        elif name == "how_much":
            self.do("hear_total")
        elif name == ITEM_INTENT and arg:  # a loose item named: the core weighs it
            self.send("add_plu", plu=arg)
        elif name == "rate" and arg:  # the slot: 1 bad .. 3 good
            self.do(f"rate:{arg}")
        elif name == "rate_reason" and arg:  # the slot: a reason code
            self.do(f"reason:{arg}")
        else:
            self.do(name)

    def _change_language(self, target: str | None) -> None:
        """Switch to ``target``'s locale; with no target, ask which; to a language with no
        speech model, only after a yes (the shopper would lose voice commands)."""
        locales = self.msg.get("locales") or self.locales
        locale = next((loc for loc in locales if target and language_of(loc) == target),
                      None)
        p = self.prompts()
        if locale is None:
            others = [loc for loc in locales if language_of(loc) != self._recognizer_lang]
            self.speak(p.say("which_language", languages=p.languages(others or locales)))
        elif language_of(locale) == language_of(self.msg.get("locale") or ""):
            self.speak(p.say("language"))
        elif self.recognizers(language_of(locale)) is None and self._recognizer is not None:
            self.confirming = f"set_language:{locale}"
            self._reset_pending = True
            self.speak(p.say("no_voice_switch", language=p.language_name(locale)))
        else:
            self.send("set_language", locale=locale)

    def _yes_no(self, yes: bool) -> None:
        state = self.msg.get("state")
        if self.confirming:
            action, self.confirming = self.confirming, None
            self._reset_pending = True
            if yes:
                self._act(action)
            elif action == "cancel":
                self.speak(self.prompts().say("kept"))
            else:  # not what the shopper meant: the state's prompt again
                self.speak(self.prompts().state(self.msg))
        elif self.msg.get("idle_warning_at"):
            if yes:
                self.do("more_time")
        elif state == "approved" and not (self.msg.get("payment") or {}).get("receipt_choice"):
            self.do("receipt_print" if yes else "receipt_none")
        elif not yes and rating_phase(self.msg) == "reasons":
            self.do("rate:skip")  # nothing to add about what went wrong

    def do(self, action: str) -> None:
        """Perform a focus/voice action: a bus command, or something spoken locally."""
        p, msg, state = self.prompts(), self.msg, self.msg.get("state")
        if action.startswith("pay_"):
            if state == "shopping":
                self.send("checkout")  # the core queues commands in order: checkout, then pay
            self.send("pay", method=action.removeprefix("pay_"))
        elif action == "checkout":
            self.send("checkout")
        elif action in ("receipt_print", "receipt_none"):
            self.send("receipt", choice="print" if action == "receipt_print" else "none")
        elif action in ("back", "cancel", "done", "help", "cancel_help", "put_aside",
                        "own_bag"):
            self.send(action)
        elif action.startswith("set_language:"):
            self.send("set_language", locale=action.removeprefix("set_language:"))
        elif action.startswith("item:"):  # a loose item chosen by key: the core weighs it
            self.send("add_plu", plu=action.removeprefix("item:"))
        elif action.startswith("app:"):
            self.send("choose_app", index=int(action[4:]))
        elif action == "rate:skip":  # a low rating without its reasons
            self.send("rate", reasons=[])
        elif action.startswith("rate:"):
            self.send("rate", rating=int(action.removeprefix("rate:")))
        elif action.startswith("reason:"):
            self.send("rate", reasons=[action.removeprefix("reason:")])
        elif action == "more_time":
            self.send("touch")
            self.speak(p.say("more_time"))
        elif action == "hear_total":
            self.speak(p.total(msg))
        elif action == "hear_items":
            self.speak(p.items(msg))
        elif action == "read_receipt":
            self.speak(p.receipt(msg))
        elif action == "repeat":
            self.speak(p.state(msg))
        else:
            log.info("no action for %r in %s", action, state)


def parse_wav_arg(text: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE@state`` (play once the checkout is in that state)."""
    path, _, state = text.partition("@")
    return Path(path), state or None
