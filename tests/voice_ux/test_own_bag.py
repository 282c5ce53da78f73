""""I brought a bag" by voice (the shopping screen's button, the way out of an unexpected-item
alert): a shopper puts a bag down in the bagging area without a scan, kiosk-core raises the
alert, the attendant prompt says what to say, the shopper says it (espeak-ng speech through the
English pocketsphinx recognizer, as tests/voice_ux/test_voice_purchase_en.py) and kiosk-voice
sends ``own_bag``, which the real kiosk-core takes as the shopper's bag and clears the alert,
on a lane with the simulated bagging scale (tests/bagging/lane.py)."""

from __future__ import annotations

import pytest

from tests.bagging.lane import start_lane
from tests.voice_ux.conftest import EN_SPEED, EN_VOICE

pytestmark = [pytest.mark.voice, pytest.mark.integration]


@pytest.fixture
def bagging_lane(tmp_path, broker_port, lane_env):
    # the voice fixtures listen on lane_env's lane: the bagging lane is that lane
    yield from start_lane(tmp_path / "bagging", broker_port, lane_env["KIOSK__STORE__LANE_ID"])


def test_a_bag_in_the_bagging_area_is_explained_by_voice(bagging_lane, start_voice, english,
                                                         speech) -> None:
    lane = bagging_lane
    lane.weigh(0)  # an empty bagging area, heard by kiosk-core before the sale starts
    assert lane.shopper.send("start", locale="en")["ok"]
    lane.shopper.wait_state(lambda s: s["state"] == "shopping" and s["txn"])
    voice = start_voice(recognizers=english)
    service = voice.service

    lane.sim.add(300, settle_s=0.3)  # the shopper's bag, put down before saying so
    alert = lane.shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert alert["attendant"]["reason"] == "unexpected_item"
    voice.wait_spoken("If it is your own bag, say I brought a bag.")

    service.source.push(speech("I brought a bag", EN_VOICE, EN_SPEED), state="attendant_needed")
    state = lane.shopper.wait_state(lambda s: s["state"] == "shopping", timeout=30)
    assert state["attendant"] is None and state["bagging"]["alert"] is None
    assert service.heard == ["own_bag"]
    assert [(c["type"], c["source"]) for c in service.sent] == [("own_bag", "voice")]
    cleared = lane.journal("bagging_cleared")
    assert [(e["kind"], e["how"]) for e in cleared] == [("unexpected_item", "own_bag")]
    assert not any("not possible" in t for t in voice.spoken())  # the core took it
