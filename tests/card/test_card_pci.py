"""PCI hygiene over a whole run: purchases with several card profiles (approved with a
printed receipt, a co-badged choice, a decline, a lost answer that is reversed, a card
refusing the approval) while every bus message is recorded; then the bus capture, the
core's DEBUG log, the journal (file bytes and ``kiosk journal verify``), the host log, the
acquirer's ledger and log, and every receipt file are searched for each card's PAN, track 2
(hex, field 35 text, lower case, packed bytes) and cardholder name. A PAN may appear only
masked: first 6 / last 4 on the screen, last 4 on the receipt."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kiosk.bus.client import BusClient
from tests.harness import bus_login, kiosk_cli
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.card

# profile, what the host does, the application to choose
RUNS = [
    ("visa", "approve", None),
    ("cobadged", "approve", 1),
    ("unionpay", "decline 05", None),
    ("t0_visa", "drop", None),
    ("aac_after_approval", "approve", None),
    ("mastercard", "approve", None),
]


class BusCapture:
    """Every message on kiosk/v1/#, raw, in arrival order."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = BusClient(bus_login(port), "test-pci-capture")
        self.client.subscribe("kiosk/v1/#", self._on)
        assert self.client.start(wait_s=10)

    def _on(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.messages.append((topic, payload))

    def dump(self) -> bytes:
        with self.lock:
            return b"\n".join(t.encode() + b" " + p for t, p in self.messages)


def _forms(secret: str) -> list[bytes]:
    """The byte forms a secret could be written in."""
    forms = {secret.encode(), secret.upper().encode(), secret.lower().encode()}
    hexish = secret.upper().replace("=", "D")
    if all(c in "0123456789ABCDEF" for c in hexish):
        padded = hexish + ("F" if len(hexish) % 2 else "")
        forms.add(bytes.fromhex(padded))                    # packed (tag 5A / 57 bytes)
        forms.add(padded.encode())
    return sorted(forms, key=len)


def test_no_card_data_anywhere_after_a_whole_run(card_lane, broker_port):
    lane = card_lane
    capture = BusCapture(broker_port)
    try:
        lane.start_core(verbose=True)
        secrets: dict[str, list[str]] = {}
        last4: set[str] = set()
        for profile, host, choose in RUNS:
            lane.acq.control(host)
            lane.to_payment()
            lane.pay()
            lane.wait_step("insert_card")
            card = lane.insert(profile)
            secrets[profile] = card.secrets()
            st = lane.wait_end(choose=choose if choose is not None else 0)
            if st["state"] in ("approved", "receipt"):
                last4.add(st["payment"]["card"]["masked_pan"][-4:])
                to_receipt(lane.shopper, "print")
                assert lane.shopper.send("done")["ok"]
            elif st["state"] == "declined":
                lane.void()
            else:
                lane.wait_reversed()
                lane.void()
            lane.remove()
            lane.shopper.wait_state(lambda s: s["state"] in ("attract", "shopping"))
        lane.check_ledger()
        lane.verify_journal()
    finally:
        capture.client.stop()

    state = lane.state_dir
    verify = kiosk_cli(lane.env, "journal", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    receipts = sorted((state / "receipts").rglob("*"))
    assert any(p.suffix == ".txt" for p in receipts), "no printed receipt to check"
    sources: dict[str, bytes] = {
        "bus": capture.dump(),
        "journal verify": (verify.stdout + verify.stderr).encode(),
    }
    for core in lane.cores:
        sources[f"core log {core.log_path.name}"] = core.log_path.read_bytes()
    for path in [lane.acq.ledger, lane.tmp / "acquirer.log"]:
        sources[path.name] = path.read_bytes()
    for path in sorted(state.rglob("*")):
        if path.is_file() and not path.name.startswith("catalog"):
            sources[str(path.relative_to(state))] = path.read_bytes()
    assert {"journal.sqlite", "hostlog.sqlite"} <= set(sources), sorted(sources)

    # the run did show what it may: masked PANs on the bus, last 4 on the receipts
    bus = sources["bus"]
    assert b"kiosk/v1/" in bus and b'"masked_pan"' in bus
    printed = b"".join(v for k, v in sources.items() if k.startswith("receipts/"))
    for four in last4:
        assert f"**** {four}".encode() in printed

    leaks = []
    for profile, values in secrets.items():
        for secret in values:
            for form in _forms(secret):
                for name, data in sources.items():
                    if form in data:
                        leaks.append(f"{profile}: {secret!r} as {form!r} in {name}")
    assert not leaks, "\n".join(leaks)

    # masked PANs anywhere on the bus are first 6 / last 4 at most
    for _topic, payload in (m.split(b" ", 1) for m in bus.split(b"\n") if b" " in m):
        if b"masked_pan" not in payload:
            continue
        masked = json.loads(payload)["payment"]["card"]["masked_pan"]
        digits = [c for c in masked if c.isdigit()]
        assert len(digits) <= 10 and masked[-4:].isdigit(), masked


def test_secrets_forms_cover_the_track2_variants():
    from kiosk.sim.emvcard import make_card

    card = make_card("visa")
    pan = card.apps[0].pan
    assert pan in card.secrets() and any("=" in s for s in card.secrets())
    assert bytes.fromhex(pan + ("F" if len(pan) % 2 else "")) in _forms(pan)
    assert Path(__file__).name  # the module is importable off-device
