"""kiosk-voice reads the lane's state and core status through the one bus feed
(:mod:`kiosk.bus.state_feed`): a forged or malformed one is dropped and counted under its
topic, like kiosk-gpio and the UI count theirs, and the service keeps the genuine state."""

from __future__ import annotations

import pytest

from tests.fixtures.sample_items import MILK
from tests.harness import core_forger

pytestmark = [pytest.mark.integration]



def test_malformed_state_and_status_are_dropped_and_counted_per_topic(core, shopper,
                                                                       start_voice,
                                                                       broker_port) -> None:
    shopper.wait_online()
    voice = start_voice()
    service = voice.service
    voice.wait_for(lambda: service.core_online is True)
    genuine = service.msg
    topics = service.topics
    forger = core_forger(broker_port)
    sent = [forger.publish(topics.state, b"not json"),
            forger.publish(topics.state, {"v": 1, "type": "state", "seq": "9",
                                          "state": "out_of_service"}),
            forger.publish(topics.core_status, {"v": 1, "type": "core_status", "online": 0})]
    for info in sent:
        info.wait_for_publish(5)
    forger.stop()
    voice.wait_for(lambda: service.rejects.total() == 3)
    counts = service.rejects.snapshot()
    assert sum(counts[topics.state].values()) == 2
    assert counts[topics.core_status] == {"invalid": 1}
    assert service.msg == genuine and service.core_online is True
    assert shopper.send("scan", code=MILK)["ok"]  # the next genuine state is followed
    voice.wait_for(lambda: service.msg.get("state") == "shopping" and service.msg["lines"])
    assert len(shopper.invalid_states) == 2  # the test's own subscriber saw them too
    shopper.invalid_states.clear()
