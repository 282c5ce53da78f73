"""Loose items by the tactile keys (accessible mode, kiosk-voice): "look up a loose item" among
the basket's actions, up/down read the items with their price, select buys the one read from
the produce scale's weight through a real kiosk-core, back returns to the basket's actions."""

from __future__ import annotations

import pytest

from kiosk.domain.pricing import weight_amount
from kiosk.services.voice.accessible import AccessibleMode, actions_for
from kiosk.services.voice.items import key_items
from kiosk.services.voice.prompts import Prompts
from tests.picker.lane import start_produce_lane
from tests.voice_ux.test_accessible import press

ITEMS = {"item:04011": ({"en": "Bananas", "ko": "바나나", "zh": "香蕉"}, 199, True),
         "item:04131": ({"en": "Fuji Apples", "ko": "부사 사과", "zh": "富士苹果"}, 439, True)}
SHOPPING = {"state": "shopping", "accepts": ["checkout", "help"], "lines": [],
            "currency": {"code": "USD", "exponent": 2}}


def test_look_up_joins_the_basket_actions_only_with_loose_items():
    assert "look_up" not in actions_for(SHOPPING)
    with_items = actions_for(SHOPPING, look_up=True)
    assert with_items.index("look_up") == with_items.index("hear_total") + 1
    assert "look_up" not in actions_for(dict(SHOPPING, state="payment"), look_up=True)


@pytest.mark.parametrize(("locale", "first", "second"), [
    ("en", "Bananas, $1.99 per kilogram.", "Fuji Apples, $4.39 per kilogram."),
    ("ko", "바나나, 1킬로그램에 US$1.99.", "부사 사과, 1킬로그램에 US$4.39."),
    ("zh_Hans", "香蕉，每千克 US$1.99。", "富士苹果，每千克 US$4.39。"),
])
def test_keys_read_the_items_and_select_buys_one(locale, first, second):
    mode, p = AccessibleMode(), Prompts(locale)
    mode.items = dict(ITEMS)
    mode.start(p)
    mode.on_state(SHOPPING)
    mode.key("down", SHOPPING, p)                       # hear the total
    out = mode.key("down", SHOPPING, p)                 # look up a loose item
    assert out.speech.texts == [p.t("Look up a loose item.")]
    out = mode.key("select", SHOPPING, p)               # the list opens on the first item
    assert out.action is None and out.speech.texts[-1] == first
    assert mode.key("down", SHOPPING, p).speech.texts == [second]
    assert mode.key("down", SHOPPING, p).speech.texts == [first]    # wraps around
    assert mode.key("up", SHOPPING, p).speech.texts == [second]
    assert mode.key("select", SHOPPING, p).action == "item:04131"
    assert not mode.picking and mode.focus == 0        # the basket's first action again
    mode.key("down", SHOPPING, p)
    mode.key("down", SHOPPING, p)
    mode.key("select", SHOPPING, p)
    assert mode.picking
    mode.key("back", SHOPPING, p)                       # back: the basket's actions again
    assert not mode.picking and mode.key("select", SHOPPING, p).action == "hear_items"


@pytest.fixture
def produce_lane(tmp_path, broker_port, lane_env):
    yield from start_produce_lane(tmp_path / "produce", broker_port,
                                  lane_env["KIOSK__STORE__LANE_ID"])


def _choose_apples(lane, voice) -> None:
    for key, heard in (("down", "Hear the total."), ("down", "Look up a loose item."),
                       ("select", "Bananas, $1.99 per kilogram."),
                       ("down", "Fuji Apples, $4.39 per kilogram.")):
        press(lane.shopper, key)
        voice.wait_spoken(heard)
    press(lane.shopper, "select")


def test_apples_bought_by_the_keys(produce_lane, start_voice):
    lane = produce_lane
    voice = start_voice()
    voice.service.accessible.items = key_items(lane.catalog)
    assert lane.shopper.send("start", locale="en")["ok"]
    lane.shopper.wait_state(lambda s: s["state"] == "shopping")
    lane.weigh(0)
    press(lane.shopper, "select")            # any key starts accessible mode
    voice.wait_for(lambda: voice.service.accessible.active)
    _choose_apples(lane, voice)              # nothing on the scale yet: refused, and said
    voice.wait_spoken("Please put the item on the scale.")
    assert lane.shopper.state["lines"] == []
    lane.weigh(856)
    _choose_apples(lane, voice)
    state = lane.shopper.wait_state(lambda s: len(s["lines"]) == 1)
    line = state["lines"][0]
    assert (line["key"], line["weight_g"]) == ("PLU04131", 856)
    assert line["amount"] == weight_amount(439, 856) == 376   # 4.39 x 0.856 = 3.758
    assert [(c["type"], c.get("plu")) for c in voice.service.sent if c["type"] != "touch"] == [
        ("add_plu", "04131"), ("add_plu", "04131")]
