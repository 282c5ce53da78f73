"""How a shopper drove each basket (issue 18), over the real bus: kiosk-core takes the
channel of every accepted command from its sender's topic (the UI: touch; the voice service:
voice, or keys where it says the tactile keys drove it) and journals the basket's channels
once, on its ``session_finished``; commands from the operator's tools count for none. The
channels are remembered with each command in the journal, so a kiosk-core restarted in the
middle of a basket (stopped, or killed) forgets none of them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kiosk.bus.messages import command
from kiosk.journal.store import Journal
from tests.fixtures.sample_items import MILK
from tests.harness import Shopper
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration



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
        # wait for the receipt screen itself: the screen's last state may still be the
        # approval, and a second receipt choice there is refused (not_allowed_now)
        txn = ui.wait_state(lambda s: s["state"] == "receipt")["txn"]
    else:
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


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_restart_mid_basket_keeps_the_channels_used_before_it(how, start_core, shopper,
                                                                 lane_env, broker_port):
    core = start_core()
    shopper.wait_online()
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    ui = Shopper(broker_port, lane, username="kiosk-ui")
    voice = Shopper(broker_port, lane, username="kiosk-voice")
    path = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite"
    try:
        assert _send(voice, "start", "voice")["ok"]  # the basket started by voice
        assert _send(voice, "add_plu", "voice", plu="04011", weight_g=1234)["ok"]
        before = ui.wait_state(lambda s: len(s["lines"]) == 1)
        if how == "sigkill":
            core.kill9()
        else:
            assert core.stop() == 0
        shopper.wait_online(False)
        restarted_at = time.time()
        start_core()
        after = ui.wait_state(lambda s: s["server_time"] > restarted_at)
        assert (after["state"], after["txn"]) == ("shopping", before["txn"])
        assert _sale(ui, None) == before["txn"]  # then finished on the screen
    finally:
        ui.close()
        voice.close()
    journal = Journal(path)
    try:
        finished = [e.data for e in journal.entries() if e.type == "session_finished"]
        assert [f["channels"] for f in finished] == [["touch", "voice"]]
        assert journal.verify()[1] == []
    finally:
        journal.close()
