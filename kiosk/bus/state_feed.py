"""The lane's checkout state and core status, read the one way every subscriber reads them.

kiosk-core publishes both retained. kiosk-gpio, the UI's bus bridge and kiosk-voice subscribe
through :func:`subscribe_state_feed`: each message is read through its one schema
(:func:`kiosk.bus.messages.parse_state`, :func:`kiosk.bus.messages.parse_core_status`) on
paho's network thread, and one that fails it is dropped and counted, under its topic, in
the subscriber's :class:`kiosk.bus.rejects.RejectLog`, so the callbacks see only valid
messages. The callbacks run on paho's thread too: they update small state under a lock or
hand the message on (the UI posts it to the Kivy clock, kiosk-voice to its main loop's
queue), never block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.bus.client import BusClient
from kiosk.bus.messages import MessageError, Topics, parse_core_status, parse_state
from kiosk.bus.rejects import RejectLog

Handler = Callable[[dict[str, Any]], None]


def subscribe_state_feed(bus: BusClient, topics: Topics, rejects: RejectLog,
                         on_state: Handler, on_status: Handler) -> None:
    """Subscribe ``bus`` to ``topics``' state and then core status (so the retained state
    arrives first); ``on_state`` / ``on_status`` get each valid message, parsed."""

    def feed(parse: Callable[[bytes], dict[str, Any]], handler: Handler
             ) -> Callable[[str, bytes], None]:
        def on_message(topic: str, payload: bytes) -> None:
            try:
                msg = parse(payload)
            except MessageError as exc:
                rejects.reject(topic, exc.code, str(exc))
                return
            handler(msg)

        return on_message

    bus.subscribe(topics.state, feed(parse_state, on_state))
    bus.subscribe(topics.core_status, feed(parse_core_status, on_status))
