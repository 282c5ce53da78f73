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

from kiosk.journal.store import Journal
from tests.integration.flow import sale, send_as

pytestmark = pytest.mark.integration


def test_each_basket_journals_the_channels_the_shopper_used(core, shopper, lane_env,
                                                            ui_and_voice):
    shopper.wait_online()
    ui, voice = ui_and_voice
    journal = Journal(Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite")
    try:
        assert shopper.send("set_language", locale="en")["ok"]  # the operator's: no channel
        spoken = sale(ui, voice)
        touched = sale(ui, None)
        keyed = sale(ui, voice, source="gpio")  # the voice service driving the tactile keys
        finished = {e.txn: e.data for e in journal.entries() if e.type == "session_finished"}
        assert finished[spoken]["channels"] == ["touch", "voice"]
        assert finished[touched]["channels"] == ["touch"]
        assert finished[keyed]["channels"] == ["keys", "touch"]
        assert journal.verify()[1] == []  # replays with the new field
    finally:
        journal.close()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_restart_mid_basket_keeps_the_channels_used_before_it(how, start_core, shopper,
                                                                 lane_env, ui_and_voice):
    core = start_core()
    shopper.wait_online()
    ui, voice = ui_and_voice
    path = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite"
    assert send_as(voice, "start", "voice")["ok"]  # the basket started by voice
    assert send_as(voice, "add_plu", "voice", plu="04011", weight_g=1234)["ok"]
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
    assert sale(ui, None) == before["txn"]  # then finished on the screen
    journal = Journal(path)
    try:
        finished = [e.data for e in journal.entries() if e.type == "session_finished"]
        assert [f["channels"] for f in finished] == [["touch", "voice"]]
        assert journal.verify()[1] == []
    finally:
        journal.close()
