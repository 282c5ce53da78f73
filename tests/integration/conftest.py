"""Fixtures of the integration tests beyond tests/conftest.py's."""

from __future__ import annotations

import pytest

from tests.harness import Shopper


@pytest.fixture
def ui_and_voice(lane_env, broker_port):
    """The lane's UI and voice service, each with its own bus login (a basket's touch and
    voice channels): (ui, voice)."""
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    ui = Shopper(broker_port, lane, username="kiosk-ui")
    voice = Shopper(broker_port, lane, username="kiosk-voice")
    yield ui, voice
    ui.close()
    voice.close()
