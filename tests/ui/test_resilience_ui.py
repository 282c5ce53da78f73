"""The UI survives its own death and the core's: restart, out of service, recovery, idle.

Real Kivy windows under Xvfb, a real core and broker. The UI holds no checkout
state of its own, so a restarted UI must show exactly the retained state; a
core that goes away (SIGKILL: the broker publishes its last will) must turn the
screen to "out of service", and the UI must come back by itself.
"""

from __future__ import annotations

import pytest

from tests.fixtures.sample_items import CUP_NOODLES as NOODLES
from tests.fixtures.sample_items import KIMCHI, MILK
from tests.ui.checks import check_texts
from tests.ui.driver import UIProcess

pytestmark = pytest.mark.ui

LOCALES = ("en", "zh_Hans", "ko")


def basket_texts(ui: UIProcess) -> list[str]:
    """Everything the basket screen shows (header, lines, totals), in order."""
    return [t["text"] for t in ui.texts() if not t["tid"].startswith(("tile:", "barcode"))]


def test_restarted_ui_shows_the_same_basket(core, shopper, ui_factory, shots):
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    ui.tap("attract-lang:ko")
    ui.sync(shopper.wait_state(lambda s: s["locale"] == "ko"))
    for code in (MILK, NOODLES, NOODLES, KIMCHI):
        ui.tap(f"tile:{code}")
    st = shopper.wait_state(lambda s: len(s["lines"]) == 3 and s["lines"][1]["qty"] == 2)
    ui.sync(st)
    before = basket_texts(ui)
    ui.screenshot(shots / "01-before-kill.png")
    pid = ui.status()["pid"]

    ui.kill9()
    again = ui_factory()
    assert again.status()["pid"] != pid
    again.sync(st)
    assert again.wait_screen("shopping", locale="ko")["lines"] == 3
    again.screenshot(shots / "02-after-restart.png")
    assert basket_texts(again) == before
    # and it is live: the next tap reaches the core
    again.tap(f"tile:{MILK}")
    shopper.wait_state(lambda s: s["lines"][0]["qty"] == 2)


def test_core_down_shows_out_of_service_then_recovers(lane_env, start_core, shopper, ui_factory,
                                                       shots, ui_fonts):
    core = start_core()
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    ui.tap("start")
    ui.tap(f"tile:{KIMCHI}")
    ui.sync(shopper.wait_state(lambda s: len(s["lines"]) == 1))

    core.kill9()  # no goodbye: the broker publishes the core's last will
    shopper.wait_online(False)
    ui.wait_screen("out_of_service")
    fonts = ui_fonts()
    for n, locale in enumerate(LOCALES, 1):  # the language switch works while the core is down
        ui.tap(f"lang:{locale}")
        ui.wait_screen("out_of_service", locale=locale)
        ui.screenshot(shots / f"{n:02d}-out-of-service-{locale}.png")
        assert check_texts(ui.texts(), locale, fonts) == []
    ui.tap("lang:en")

    start_core()
    shopper.wait_online(True)
    st = ui.wait_screen("shopping", timeout=30)
    assert st["lines"] == 1 and st["online"]
    ui.screenshot(shots / "04-recovered.png")
    ui.tap(f"tile:{MILK}")
    shopper.wait_state(lambda s: len(s["lines"]) == 2)


def test_ui_started_while_core_is_down(lane_env, start_core, shopper, ui_factory):
    ui = ui_factory()
    ui.wait_screen("out_of_service")
    start_core()
    shopper.wait_online()
    ui.wait_screen("attract", timeout=30)


def test_idle_warning_counts_down_and_a_touch_keeps_the_order(start_core, shopper, ui_factory,
                                                             shots, ui_fonts):
    start_core(KIOSK__TIMEOUTS__IDLE_WARNING_S="2", KIOSK__TIMEOUTS__IDLE_VOID_S="60")
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    ui.tap("start")
    ui.tap(f"tile:{MILK}")
    shopper.wait_state(lambda s: len(s["lines"]) == 1)
    fonts = ui_fonts()
    for n, locale in enumerate(LOCALES, 1):
        ui.tap(f"lang:{locale}")  # a touch too: the warning starts again from zero
        shopper.wait_state(lambda s, loc=locale: s["locale"] == loc and s["idle_warning_at"])
        st = ui.wait(lambda s, loc=locale: s["idle_overlay"] and s["locale"] == loc,
                     "the idle warning")
        assert st["screen"] == "shopping"
        ui.screenshot(shots / f"{n:02d}-idle-warning-{locale}.png")
        texts = ui.texts()
        assert check_texts(texts, locale, fonts) == []
        seconds = [int(t["text"]) for t in texts if t["text"].isdigit() and int(t["text"]) > 1]
        assert seconds and max(seconds) <= 60, "a countdown in seconds is shown"
    ui.tap("still-here")
    shopper.wait_state(lambda s: s["idle_warning_at"] is None)
    ui.wait(lambda s: not s["idle_overlay"], "the warning to close")
    assert shopper.state["lines"], "the basket is kept"


def test_help_calls_an_attendant_who_resumes(core, shopper, ui_factory, shots):
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    ui.tap("start")
    ui.tap(f"tile:{MILK}")
    shopper.wait_state(lambda s: len(s["lines"]) == 1)
    ui.tap("help")
    st = shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    assert st["attendant"]["reason"] == "help"
    ui.wait_screen("attendant")
    ui.screenshot(shots / "01-help.png")
    for key in "2468":
        ui.tap(f"pin:{key}")
    ui.tap("pin:ok")
    ui.sync(shopper.wait_state(lambda s: s["staff"] is not None))
    ui.screenshot(shots / "02-staff.png")
    ui.tap("staff:clear")
    ui.sync(shopper.wait_state(lambda s: s["state"] == "shopping"))
    ui.wait_screen("shopping")


def test_rejected_scan_is_explained(core, shopper, ui_factory, shots):
    """A barcode the core refuses: the shopper reads why (a toast), in their language."""
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    ui.tap("attract-lang:zh_Hans")
    ui.sync(shopper.wait_state(lambda s: s["locale"] == "zh_Hans"))
    ui.tap("start")
    ui.type("barcode", "12345")  # a bad check digit
    ui.wait(lambda s: any("无法读取此条形码" in t["text"] for t in ui.texts()), "the toast")
    ui.screenshot(shots / "01-bad-barcode-toast.png")
