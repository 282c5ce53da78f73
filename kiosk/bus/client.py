"""A small paho-mqtt client wrapper shared by every service.

paho runs its network loop in its own thread; handlers registered with
:meth:`BusClient.subscribe` are called on that thread and must only hand work
over (to a queue, or to Kivy's Clock), never block. Subscriptions are renewed on
every reconnect, and the client reconnects by itself when the broker returns.
A handler subscribed ``with_retain`` also gets the message's retain flag (a
retained message is one the broker kept from before this subscription).

A message published (QoS 1) while the client is not connected, or connected but not yet
subscribed, is held and sent right after the subscriptions: whoever reacts to it (a state
saying "ready") can count on its answer (a command) reaching this client.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import encode

log = logging.getLogger(__name__)
Handler = Callable[[str, bytes], None]


class HeldPublish:
    """A message :meth:`BusClient.publish` holds until the connection's subscriptions are
    in place; answers like paho's MQTTMessageInfo once handed to paho."""

    def __init__(self) -> None:
        self._info: mqtt.MQTTMessageInfo | None = None
        self._handed = threading.Event()

    def sent(self, info: mqtt.MQTTMessageInfo) -> None:
        self._info = info
        self._handed.set()

    def is_published(self) -> bool:
        return self._info is not None and self._info.is_published()

    def wait_for_publish(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._handed.wait(timeout) and self._info is not None:
            self._info.wait_for_publish(
                None if deadline is None else max(0.0, deadline - time.monotonic()))


class BusClient:
    """One connection to the bus as one bus user (``login``, see kiosk/bus/credentials.py)."""

    def __init__(self, login: BusLogin, client_id: str,
                 will: tuple[str, dict] | None = None) -> None:
        self.host, self.port, self.username = login.host, login.port, login.username
        self.connected = threading.Event()
        self.answered = threading.Event()  # the broker answered a connect (accepted or not)
        self.refusal = ""                  # why it last refused one ("Not authorized", ...)
        self._handlers: dict[str, Handler] = {}
        self._with_retain: set[Callable] = set()   # handlers that take the retain flag
        self._on_connect_hooks: list[Callable[[], None]] = []
        # QoS 1 messages published before this connection's subscriptions (see publish)
        self._held: list[tuple[str, bytes, bool, HeldPublish]] = []
        self._hold_lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=True)
        if login.username:
            self._client.username_pw_set(login.username, login.password)
        if login.cafile:  # the store broker: TLS, its certificate checked against our CA
            self._client.tls_set(ca_certs=login.cafile)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        if will is not None:
            self._client.will_set(will[0], encode(will[1]), qos=1, retain=True)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message

    def start(self, wait_s: float | None = 10.0) -> bool:
        """Start connecting in the background; optionally wait for the first connection."""
        self._client.connect_async(self.host, self.port, keepalive=10)
        self._client.loop_start()
        return self.connected.wait(wait_s) if wait_s else self.connected.is_set()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def on_connect(self, hook: Callable[[], None]) -> None:
        self._on_connect_hooks.append(hook)

    def subscribe(self, topic: str, handler: Handler | Callable[[str, bytes, bool], None],
                  with_retain: bool = False) -> None:
        self._handlers[topic] = handler  # type: ignore[assignment]
        if with_retain:
            self._with_retain.add(handler)
        if self.connected.is_set():
            self._client.subscribe(topic, qos=1)

    def publish(self, topic: str, message: dict | bytes, retain: bool = False,
                qos: int = 1) -> mqtt.MQTTMessageInfo | HeldPublish:
        """Send ``message``; a QoS 1 one sent before the subscriptions are in place is held
        until they are (paho counts a connection as up before its on_connect subscribes, so
        a message could otherwise overtake them)."""
        payload = message if isinstance(message, bytes) else encode(message)
        if qos > 0:
            with self._hold_lock:
                if not self.connected.is_set():
                    held = HeldPublish()
                    self._held.append((topic, payload, retain, held))
                    return held
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("bus connect refused for %s: %s", self.username, reason_code)
            self.refusal = str(reason_code)
            self.answered.set()
            return
        self.refusal = ""
        sock = client.socket()
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # small messages must not wait for Nagle / delayed ACK (~40 ms each way)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for topic in self._handlers:
            client.subscribe(topic, qos=1)
        with self._hold_lock:  # queued behind the subscriptions, in the order published
            for topic, payload, retain, held in self._held:
                held.sent(client.publish(topic, payload, qos=1, retain=retain))
            self._held.clear()
            self.connected.set()
        self.answered.set()
        for hook in self._on_connect_hooks:
            hook()

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        with self._hold_lock:
            self.connected.clear()
        if reason_code != 0:
            log.warning("bus disconnected (%s), reconnecting", reason_code)

    def _message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        handler = self._handlers.get(msg.topic)
        if handler is None:
            for pattern, candidate in self._handlers.items():
                if mqtt.topic_matches_sub(pattern, msg.topic):
                    handler = candidate
                    break
        if handler is None:
            return
        try:
            if handler in self._with_retain:
                handler(msg.topic, msg.payload, bool(msg.retain))  # type: ignore[call-arg]
            else:
                handler(msg.topic, msg.payload)
        except Exception:  # a handler bug must not kill the network thread
            log.exception("handler for %s failed", msg.topic)
