"""A small paho-mqtt client wrapper shared by every service.

paho runs its network loop in its own thread; handlers registered with
:meth:`BusClient.subscribe` are called on that thread and must only hand work
over (to a queue, or to Kivy's Clock), never block. Subscriptions are renewed on
every reconnect, and the client reconnects by itself when the broker returns.
A handler subscribed ``with_retain`` also gets the message's retain flag (a
retained message is one the broker kept from before this subscription).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import encode

log = logging.getLogger(__name__)
Handler = Callable[[str, bytes], None]


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
                qos: int = 1) -> mqtt.MQTTMessageInfo:
        payload = message if isinstance(message, bytes) else encode(message)
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
        self.connected.set()
        self.answered.set()
        for hook in self._on_connect_hooks:
            hook()

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
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
