"""A test's own subscription to one scale's messages (kiosk-scale), to wait on a reading."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics
from tests.harness import bus_login


class ScaleFeed:
    """The messages of scale ``name`` on ``lane``, as the lane's subscribers get them."""

    def __init__(self, port: int, lane: str, name: str) -> None:
        self.messages: queue.Queue[dict] = queue.Queue()
        self.client = BusClient(bus_login(port), f"test-scale-feed-{lane}-{name}")
        self.client.subscribe(Topics(lane).scale(name), self._on_message)
        assert self.client.start(wait_s=10)

    def _on_message(self, _topic: str, payload: bytes) -> None:
        try:
            self.messages.put(json.loads(payload))
        except ValueError:
            pass  # a broken message (a test forging one): not a reading

    def clear(self) -> None:
        """Forget the messages so far: the next wait sees only newer ones."""
        while not self.messages.empty():
            self.messages.get_nowait()

    def wait(self, predicate: Callable[[dict], bool], timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the scale never said that")
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if predicate(msg):
                return msg

    def close(self) -> None:
        self.client.stop()
