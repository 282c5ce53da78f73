"""Steps integration tests share: from a sent ``pay`` to the receipt screen; a command sent as
a given service, and a whole basket sold by touch and voice."""

from __future__ import annotations

import os
import threading

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import command, encode
from kiosk.security.pinseal import staff_pin_command
from tests.fixtures.sample_items import MILK
from tests.harness import Shopper, bus_login


def to_receipt(shopper: Shopper, choice: str = "print", timeout: float = 20) -> dict:
    """Wait for the approval, answer the receipt question, wait for the receipt screen."""
    shopper.wait_state(lambda s: s["state"] in ("approved", "receipt"), timeout)
    if shopper.state["state"] == "approved":
        result = shopper.send("receipt", choice=choice)
        assert result["ok"] or result["reason"] == "receipt_already_chosen", result
    return shopper.wait_state(lambda s: s["state"] == "receipt", timeout)


def send_as(who: Shopper, kind: str, source: str, **fields: object) -> dict:
    """A command as that service sends it, with its own ``source``; its result."""
    msg = command(kind, source=source, **fields)
    who.client.publish(who.command_topic, msg)
    return who.wait_result(msg["id"])


def sale(ui: Shopper, voice: Shopper | None, source: str = "voice") -> str:
    """Scan and finish on the screen; check out, pay and choose no receipt by ``voice``
    (with ``source``), or all on the screen without it. A basket already open gets the scan
    too. Returns the basket's txn."""
    ui.wait_state(lambda s: s["state"] in ("attract", "shopping"))
    assert send_as(ui, "scan", "ui", code=MILK)["ok"]
    payer = voice or ui
    how = source if voice else "ui"
    assert send_as(payer, "checkout", how)["ok"]
    assert send_as(payer, "pay", how, method="card")["ok"]
    ui.wait_state(lambda s: s["state"] in ("approved", "receipt"), 20)
    if ui.state["state"] == "approved":
        assert send_as(payer, "receipt", how, choice="none")["ok"]
    # the receipt screen itself: the screen's last state may still be the approval, and a
    # second receipt choice there is refused (not_allowed_now)
    txn = ui.wait_state(lambda s: s["state"] == "receipt", 20)["txn"]
    assert send_as(ui, "done", "ui")["ok"]
    ui.wait_state(lambda s: s["state"] == "attract")
    return txn


def wallet_code() -> str:
    """A fresh WeChat-shaped payment code (18 digits, 10-15 first): a phone shows a new one
    each time."""
    return "13" + "".join(str(b % 10) for b in os.urandom(16))


def pay_by_phone(shopper: Shopper, code: str | None = None, timeout: float = 10) -> str:
    """``pay qr``, then show a payment code to the camera when the screen asks for one
    (the scanner's ``wallet_code`` command). Returns the code shown."""
    assert shopper.send("pay", method="qr")["ok"]
    return show_code(shopper, code, timeout)


def show_code(shopper: Shopper, code: str | None = None, timeout: float = 10) -> str:
    """Show a payment code once the screen asks for one."""
    code = code or wallet_code()
    shopper.wait_state(lambda s: (s.get("payment") or {}).get("step") == "show_code", timeout)
    result = send_wallet_code(shopper, code)
    assert result["ok"], result
    return code


def send_wallet_code(shopper: Shopper, code: str, kind: str = "wechat") -> dict:
    """The scanner's command, sent with kiosk-scanner's login (only it may send one, and only
    kiosk-core may read it); the answer is read on the shopper's result topic."""
    scanner = getattr(shopper, "scanner", None)
    if scanner is None:
        scanner = BusClient(bus_login(shopper.client.port, "kiosk-scanner"),
                            f"test-scanner-{id(shopper)}-{os.getpid()}")
        assert scanner.start(wait_s=10), "the scanner could not connect"
        shopper.scanner = scanner  # type: ignore[attr-defined]
        close = shopper.close

        def close_both() -> None:
            scanner.stop()
            close()

        shopper.close = close_both  # type: ignore[method-assign]
    msg = command("wallet_code", source="scanner", code=code, kind=kind)
    scanner.publish(shopper.topics.command_from("scanner"), msg).wait_for_publish(5)
    return shopper.wait_result(msg["id"])


def fresh_seal(shopper: Shopper, used: set[str]) -> dict:
    """The core's key and a challenge not yet used (each is good for one attempt)."""
    st = shopper.wait_state(lambda s: s.get("staff_seal", {}).get("challenge") not in used)
    used.add(st["staff_seal"]["challenge"])
    return st["staff_seal"]


def send_pin(shopper: Shopper, pin: str, used: set[str]) -> tuple[dict, dict]:
    """Seal ``pin`` to the core's current key and challenge, as the PIN pad does."""
    msg = staff_pin_command(pin, fresh_seal(shopper, used), source="test")
    shopper.send_raw(encode(msg))
    return msg, shopper.wait_result(msg["id"])


class Sniffer:
    """A process that reads every message on the bus."""

    def __init__(self, port: int, login: BusLogin | None = None) -> None:
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()
        # the operator tools' login reads every topic, commands included
        self.client = BusClient(login or bus_login(port), f"test-sniffer-{os.getpid()}")
        self.client.subscribe("kiosk/#", self._seen)
        assert self.client.start(wait_s=10)

    def _seen(self, _topic: str, payload: bytes) -> None:
        with self._lock:
            self.payloads.append(payload)

    def commands(self, kind: str) -> list[bytes]:
        with self._lock:
            return [p for p in self.payloads if f'"type":"{kind}"'.encode() in p]

    def close(self) -> None:
        self.client.stop()
