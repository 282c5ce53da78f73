"""BusClient on the real broker: what a service publishes while it connects cannot overtake
its own subscriptions.

paho sends a message published after CONNECT but before the broker's CONNACK right away,
and the subscriptions go out only once CONNACK is in: kiosk-core restarting after a SIGKILL
published "payment, resolved" in that gap, the shopper's answer (pay) reached the broker
before the core had subscribed, and the command was lost (the SIGKILL wallet test, about 1
run in 30 under load). The test holds the broker's CONNACK back in a loopback relay so the
gap is as long as it needs to be."""

from __future__ import annotations

import queue
import socket
import threading
from dataclasses import replace

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, command
from tests.harness import bus_login

pytestmark = pytest.mark.integration

READY = {"v": 1, "type": "state", "seq": 1, "state": "attract"}


class SlowConnackRelay:
    """A TCP relay to the broker that passes the client's bytes at once and holds the
    broker's (its CONNACK first) until ``release`` is set."""

    def __init__(self, broker_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.broker_port = broker_port
        self.client_spoke = threading.Event()   # CONNECT has gone through to the broker
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        broker = socket.create_connection(("127.0.0.1", self.broker_port))
        threading.Thread(target=self._pipe, args=(client, broker, True), daemon=True).start()
        self._pipe(broker, client, False)

    def _pipe(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if not from_client:
                    self.release.wait(2)   # the test's signal; 2 s at most
                dst.sendall(data)
                if from_client:
                    self.client_spoke.set()
        except OSError:
            pass
        finally:
            dst.close()

    def close(self) -> None:
        self.listener.close()


def test_a_message_published_while_connecting_waits_for_the_subscriptions(
        broker_port: int) -> None:
    topics = Topics("GAP1")
    relay = SlowConnackRelay(broker_port)
    answered = relay.release        # the broker has the shopper's answer: let CONNACK through
    commands: queue.Queue[bytes] = queue.Queue()

    shopper = BusClient(bus_login(broker_port), "test-gap-shopper")

    def answer() -> None:
        shopper.publish(topics.command_from("cli"), command(
            "scan", source="test", code="4006381333931")).wait_for_publish(5)
        answered.set()

    # the shopper answers a "ready" state at once (a thread: wait_for_publish must not block
    # the client's own network thread)
    shopper.subscribe(topics.state, lambda _t, p: p and threading.Thread(
        target=answer, daemon=True).start())
    assert shopper.start(wait_s=10)

    core = BusClient(replace(bus_login(broker_port, "kiosk-core"), port=relay.port),
                     "test-gap-core")
    core.subscribe(topics.commands, lambda _t, p: commands.put(p))
    try:
        core.start(wait_s=None)
        assert relay.client_spoke.wait(10)
        core.publish(topics.state, READY, retain=True)  # "ready", before the CONNACK
        assert core.connected.wait(10)
        assert b'"scan"' in commands.get(timeout=10)
    finally:
        relay.release.set()
        core.publish(topics.state, b"", retain=True).wait_for_publish(5)
        core.stop()
        shopper.stop()
        relay.close()
