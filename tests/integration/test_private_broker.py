"""The private mosquitto (kiosk/bus/broker.py) on a port someone else took: tests and benches
start brokers side by side (pytest-xdist workers, other jobs on the machine), and a port
:func:`free_port` chose can be bound by another process before mosquitto binds it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kiosk.bus import broker
from kiosk.bus.broker import PortTaken, start_private_broker, start_private_broker_on_free_port
from kiosk.bus.client import BusClient

pytestmark = pytest.mark.integration


def _stop(proc) -> None:
    proc.terminate()
    proc.wait(10)


def test_a_port_another_process_listens_on_is_refused_not_taken_for_the_broker(tmp_path: Path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PortTaken):
            proc = start_private_broker(tmp_path / "broker", port)
            _stop(proc)  # only reached when the foreign listener was taken for the broker


def test_the_free_port_starter_chooses_again_when_its_port_was_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        chosen = iter([taken])
        real = broker.free_port
        monkeypatch.setattr(broker, "free_port", lambda: next(chosen, None) or real())
        port, proc = start_private_broker_on_free_port(tmp_path / "broker")
        try:
            assert port != taken
            client = BusClient(broker.private_login(tmp_path / "broker", port, "kiosk-cli"),
                               "test-free-port")
            assert client.start(wait_s=10), "no broker on the port the starter returned"
            client.stop()
        finally:
            _stop(proc)
