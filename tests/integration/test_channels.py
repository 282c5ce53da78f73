"""How a shopper drove each basket (issue 18), over the real bus: kiosk-core takes the
channel of every accepted command from its sender's topic (the UI: touch; the voice service:
voice, or keys where it says the tactile keys drove it) and journals the basket's channels
once, on its ``session_finished``; commands from the operator's tools count for none."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.bus.messages import command
from kiosk.journal.store import Journal
from tests.harness import Shopper
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration

MILK = "8801115954255"


def _send(who: Shopper, kind: str, source: str, **fields: object) -> dict:
    """A command as that service sends it, with its own ``source``."""
    msg = command(kind, source=source, **fields)
    who.client.publish(who.command_topic, msg)
    return who.wait_result(msg["id"])


def _sale(ui: Shopper, voice: Shopper | None, source: str = "voice") -> str:
    """Scan and finish on the screen; check out, pay and choose the receipt by ``voice``
    (with ``source``), or all on the screen without it. Returns the basket's txn."""
    assert _send(ui, "scan", "ui", code=MILK)["ok"]
    payer = voice or ui
    how = source if voice else "ui"
    assert _send(payer, "checkout", how)["ok"]
    assert _send(payer, "pay", how, method="card")["ok"]
    ui.wait_state(lambda s: s["state"] in ("approved", "receipt"), 20)
    if ui.state["state"] == "approved":
        assert _send(payer, "receipt", how, choice="none")["ok"]
    txn = to_receipt(ui)["txn"]
    assert _send(ui, "done", "ui")["ok"]
    ui.wait_state(lambda s: s["state"] == "attract")
    return txn


def test_each_basket_journals_the_channels_the_shopper_used(core, shopper, lane_env,
                                                            broker_port):
    shopper.wait_online()
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    ui = Shopper(broker_port, lane, username="kiosk-ui")
    voice = Shopper(broker_port, lane, username="kiosk-voice")
    journal = Journal(Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite")
    try:
        assert shopper.send("set_language", locale="en")["ok"]  # the operator's: no channel
        spoken = _sale(ui, voice)
        touched = _sale(ui, None)
        keyed = _sale(ui, voice, source="gpio")  # the voice service driving the tactile keys
        finished = {e.txn: e.data for e in journal.entries() if e.type == "session_finished"}
        assert finished[spoken]["channels"] == ["touch", "voice"]
        assert finished[touched]["channels"] == ["touch"]
        assert finished[keyed]["channels"] == ["keys", "touch"]
        assert journal.verify()[1] == []  # replays with the new field
    finally:
        journal.close()
        ui.close()
        voice.close()
