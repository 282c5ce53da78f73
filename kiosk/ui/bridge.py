"""The UI's side of the bus: receive state off the frame loop, hand it over, send intents.

paho's network thread receives the retained state, the core's online status,
command results and the scanner's refusals that carry a reason for the shopper;
this module decodes them on that thread and hands each update to the UI through
``post`` (the app passes Kivy's ``Clock``), so the frame loop never waits on the
network. State and status are read through their one schema
(:mod:`kiosk.bus.state_feed`); what fails it is dropped, counted and
logged rate-limited. Sending an intent only queues it with
paho (non-blocking). Nothing here imports Kivy.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import (
    MAX_STATUS_BYTES,
    MessageError,
    Topics,
    command,
    load_json,
    parse_scale,
)
from kiosk.bus.rejects import RejectLog
from kiosk.bus.state_feed import subscribe_state_feed
from kiosk.ui.viewmodel import REJECTIONS

log = logging.getLogger(__name__)
Post = Callable[[Callable[[], None]], None]


class BusBridge:
    """Bus client for the UI. Callbacks run on the UI thread (via ``post``)."""

    def __init__(self, bus: BusLogin, lane: str, post: Post,
                 on_state: Callable[[dict], None],
                 on_online: Callable[[bool | None], None],
                 on_result: Callable[[dict], None],
                 on_voice: Callable[[tuple[str, ...]], None] | None = None,
                 on_scale: Callable[[dict], None] | None = None) -> None:
        self.topics = Topics(lane)
        self._post = post
        self._on_state, self._on_online, self._on_result = on_state, on_online, on_result
        self._on_voice = on_voice
        self._on_scale = on_scale
        self._sent: dict[str, str] = {}
        self._lock = threading.Lock()
        self._hold: set[str] = set()        # test control: stop delivering after these states
        self._held: dict | None = None
        self._holding = False
        self.rejects = RejectLog(log)
        self.client = BusClient(bus, f"kiosk-ui-{lane}-{os.getpid()}")
        subscribe_state_feed(self.client, self.topics, self.rejects, self._state, self._status)
        self.client.subscribe(self.topics.result, self._result)
        self.client.subscribe(self.topics.feedback, self._feedback)
        if on_voice is not None:
            self.client.subscribe(self.topics.voice_status, self._voice)
        if on_scale is not None:  # the produce scale's live weight, for the picker
            self.client.subscribe(self.topics.scale("produce"), self._scale)

    def start(self) -> None:
        """Connect in the background (never waits); reconnects by itself."""
        self.client.start(wait_s=None)

    def stop(self) -> None:
        self.client.stop()

    @property
    def connected(self) -> bool:
        return self.client.connected.is_set()

    def send(self, kind: str, **fields: Any) -> str:
        """Queue a shopper intent for kiosk-core; returns the command id."""
        return self.send_command(command(kind, source="ui", **fields))

    def send_command(self, msg: dict) -> str:
        """Queue a command already built (a staff PIN sealed to the core)."""
        kind = msg["type"]
        with self._lock:
            self._sent[msg["id"]] = kind
            while len(self._sent) > 200:
                self._sent.pop(next(iter(self._sent)))
        self.client.publish(self.topics.command_from("ui"), msg)
        return msg["id"]

    # -- paho's thread ---------------------------------------------------------------

    def _state(self, msg: dict) -> None:
        with self._lock:
            if self._holding:
                self._held = msg
                return
            if msg.get("state") in self._hold:
                self._holding = True
        self._post(lambda: self._on_state(msg))

    def _status(self, status: dict) -> None:
        online = status["online"]
        self._post(lambda: self._on_online(online))

    def _result(self, topic: str, payload: bytes) -> None:
        try:
            msg = load_json(payload, MAX_STATUS_BYTES)
        except MessageError as exc:
            self.rejects.reject(topic, exc.code, str(exc))
            return
        if not isinstance(msg, dict):
            return
        with self._lock:
            kind = self._sent.pop(msg.get("id", ""), None)
        if kind is not None:
            msg["kind"] = kind
            self._post(lambda: self._on_result(msg))

    def _feedback(self, _topic: str, payload: bytes) -> None:
        """A read the scanner refused for a reason the shopper is told (e.g. a GS1 code
        with a net weight): shown like a rejected command."""
        try:
            msg = load_json(payload, MAX_STATUS_BYTES)
            reason = msg.get("reason") if msg.get("source") == "scanner" else None
        except (MessageError, AttributeError):
            self.rejects.reject(self.topics.feedback, "invalid", f"{len(payload)} bytes")
            return
        if msg.get("kind") == "bad_read" and reason in REJECTIONS:
            self._post(lambda: self._on_result({"ok": False, "reason": reason, "kind": "scan"}))

    def _voice(self, topic: str, payload: bytes) -> None:
        """kiosk-voice's retained list of the locales that have voice commands."""
        try:
            msg = load_json(payload, MAX_STATUS_BYTES)
            locales = tuple(str(loc) for loc in msg["locales"])
        except (MessageError, KeyError, TypeError) as exc:
            self.rejects.reject(topic, "invalid", f"{type(exc).__name__}: {exc}")
            return
        on_voice = self._on_voice
        if on_voice is not None:
            self._post(lambda: on_voice(locales))

    def _scale(self, topic: str, payload: bytes) -> None:
        """kiosk-scale's retained produce reading (its schema: :func:`parse_scale`)."""
        try:
            msg = parse_scale(payload)
        except MessageError as exc:
            self.rejects.reject(topic, exc.code, str(exc))
            return
        on_scale = self._on_scale
        if on_scale is not None:
            self._post(lambda: on_scale(msg))

    # -- test control: freeze a transient screen long enough to photograph it -----------

    def hold_after(self, states: set[str]) -> None:
        """Deliver the next state in ``states``, then keep later ones until :meth:`release`."""
        with self._lock:
            self._hold = set(states)

    def release(self) -> None:
        with self._lock:
            self._hold = set()
            self._holding = False
            held, self._held = self._held, None
        if held is not None:
            self._post(lambda: self._on_state(held))
