"""The "take your card" screen in a real Kivy window (issue 14, item 1), in every locale:
on the idle screen after a sale, and in place of "insert your card" while a payment waits
for a card of its own. The retained state is published as kiosk-core publishes it when a
card was left in the reader (``card_left``); each screen is photographed and checked for
clipped text, missing glyphs and English on a Chinese or Korean screen."""

from __future__ import annotations

import pytest

from kiosk.bus.client import BusClient
from kiosk.bus.messages import Topics, status_message
from tests.harness import bus_login
from tests.ui.driver import LIVE_LOCALES
from tests.ui.test_purchase_ui import Screens
from tests.ui.test_viewmodel import card_state, state

pytestmark = pytest.mark.ui


@pytest.mark.parametrize("locale", LIVE_LOCALES)
def test_take_card_prompt(locale, lane_env, broker_port, ui_factory, shots, ui_fonts):
    topics = Topics(lane_env["KIOSK__STORE__LANE_ID"])
    bus = BusClient(bus_login(broker_port, "kiosk-core"), f"test-core-{topics.state}")
    assert bus.start(wait_s=10)
    try:
        bus.publish(topics.core_status, status_message(True), retain=True)
        bus.publish(topics.state, {**state(state="attract", lines=[], txn=None, seq=1),
                                   "card_left": True, "locale": locale}, retain=True)
        ui = ui_factory()
        ui.wait_screen("take_card", locale=locale)
        screens = Screens(ui, shots, locale, ui_fonts())
        texts = screens.snap("take-card-idle", "take_card")
        assert any(len(text) > 10 for text in texts)
        bus.publish(topics.state, {**card_state(step="insert_card"), "seq": 2,
                                   "card_left": True, "locale": locale}, retain=True)
        ui.wait(lambda st: st["screen"] == "take_card" and st.get("seq") == 2, "seq 2")
        insert = screens.snap("take-card-insert", "take_card")
        assert insert != texts       # the payment's own wording, and its amount
        bus.publish(topics.state, {**card_state(step="insert_card"), "seq": 3,
                                   "card_left": False, "locale": locale}, retain=True)
        ui.wait_screen("card_insert", locale=locale)
    finally:
        bus.stop()
