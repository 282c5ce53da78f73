"""The unexpected-item screen in a real Kivy window (Xvfb), in English, Chinese and Korean,
against a real kiosk-core with the simulated bagging scale: the alert is shown in the
shopper's language (screenshots kept), and tapping "I brought a bag" clears it; on the
shopping screen the same button lets the shopper's bag in before it is put down."""

from __future__ import annotations

import json
import os

import pytest

from kiosk.ui.i18n import Translator
from tests.bagging.lane import start_lane
from tests.ui.test_purchase_ui import Screens

pytestmark = pytest.mark.ui

SETTLE = 0.3


@pytest.fixture
def ui_lane(tmp_path, broker_port):
    yield from start_lane(tmp_path, broker_port, f"BU{os.getpid()}")


def _fonts(state_dir) -> dict[str, str]:
    """Kivy font name → font file, as the UI chose them (tests/ui/conftest.py's ui_fonts, for
    this lane's state folder)."""
    faces = json.loads((state_dir / "ui" / "fonts" / "choice.json").read_text())["faces"]
    return {f"kiosk-{lang}": face["regular"] for lang, face in faces.items()} | {
        f"kiosk-{lang}#bold": face["bold"] for lang, face in faces.items()}


def test_unexpected_item_screen_and_own_bag_by_touch(ui_lane, ui_factory, shots):
    lane = ui_lane
    ui = ui_factory(**lane.env)
    ui.wait_screen("attract")
    for locale in ("en", "zh_Hans", "ko"):
        lane.feed.clear()
        lane.sim.set_weight(0)
        lane.feed.wait(lambda m: m["status"] == "stable" and m["weight_g"] == 0)
        assert lane.shopper.send("start", locale=locale)["ok"]
        state = lane.shopper.wait_state(lambda s: s["state"] == "shopping" and s["txn"])
        ui.sync(state)
        ui.wait_screen("shopping")
        screens = Screens(ui, shots, locale, _fonts(lane.state_dir))
        screens.snap(f"shopping-own-bag-{locale}", "shopping")
        seen = len(lane.journal("own_bag"))
        ui.tap("own_bag")  # "I brought a bag", then the bag is put down: no alert
        lane.feed.clear()
        lane.sim.add(60, settle_s=SETTLE)
        lane.feed.wait(lambda m: m["status"] == "stable" and m["weight_g"] > 40)
        assert len(lane.journal("own_bag")) == seen + 1
        lane.sim.add(320, settle_s=SETTLE)  # a second bag put down before saying so
        state = lane.shopper.wait_state(
            lambda s: (s["attendant"] or {}).get("reason") == "unexpected_item")
        ui.sync(state)
        ui.wait_screen("attendant")
        texts = screens.snap(f"unexpected-item-{locale}", "attendant")
        assert any(t for t in texts if "bag" in t.lower() or "袋" in t or "장바구니" in t)
        # the line above the button says what the button is for (it said "Or take it off
        # again", the body's instruction once more, and nothing of the bag)
        tr = Translator(locale).tr
        assert tr("Your own bag? Tap below. An attendant has been called.") in texts
        ui.tap("shopper:resolve")  # "I brought a bag"
        lane.shopper.wait_state(lambda s: s["state"] == "shopping" and not s["alerts"])
        ui.wait_screen("shopping")
        assert lane.shopper.send("cancel")["ok"]
        lane.shopper.wait_state(lambda s: s["state"] == "attract")
    cleared = lane.journal("bagging_cleared")
    assert [c["how"] for c in cleared] == ["own_bag"] * 3
