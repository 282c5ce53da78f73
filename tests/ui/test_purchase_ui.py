"""A whole purchase by touch, in a real Kivy window, in English, Chinese and Korean.

A real mosquitto and kiosk-core; the UI in its own process under Xvfb; taps go
through Kivy's event loop (the test-control channel). Every screen on the way
is photographed and checked (tests/ui/checks.py), and after each tap the test
asserts what the core now holds, so the UI is shown to drive the real checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.domain.money import Currency, format_money
from kiosk.ui.i18n import Translator
from tests.fixtures.sample_items import BANANAS, BUN, KIMCHI, MILK, SOJU
from tests.fixtures.sample_items import CUP_NOODLES as NOODLES
from tests.integration.flow import show_code
from tests.ui.checks import check_texts, check_touch
from tests.ui.driver import LIVE_LOCALES, UIProcess

pytestmark = pytest.mark.ui

#: milk, 3 cup noodles (one free), 850 g bananas and kimchi come to $11.30; the simulated
#: acquirer declines totals ending in these digits, so the first payment is declined
DECLINE = '["30"]'


class Screens:
    """Screenshots plus checks of every screen, numbered in the order taken."""

    def __init__(self, ui: UIProcess, folder: Path, locale: str, fonts: dict[str, str]) -> None:
        self.ui, self.folder, self.locale, self.fonts = ui, folder, locale, fonts
        self.count = 0

    def snap(self, name: str, screen: str) -> list[str]:
        self.count += 1
        shot = self.ui.screenshot(self.folder / f"{self.count:02d}-{name}.png")
        assert shot["screen"] == screen, f"{name}: UI shows {shot['screen']}, expected {screen}"
        shown = self.ui.call("texts")
        texts = shown["texts"]
        problems = check_texts(texts, self.locale, self.fonts)
        problems += check_touch(self.ui.call("tappables"))
        problems += [f"drawn past its box by {s['over']} px: {s['widget']} {s['what']!r}"
                     for s in shown["spills"]]
        assert not problems, f"{name} ({self.locale}):\n" + "\n".join(problems)
        return [t["text"] for t in texts]


def money(minor: int, locale: str) -> str:
    return format_money(minor, Currency("USD", 840, 2), locale)


def line_of(state: dict, code: str) -> dict | None:
    """The basket line of a barcode (the core keeps GTIN-14) or of a PLU key ("PLU04011")."""
    return next((ln for ln in state["lines"]
                 if ln["key"] == code or (ln.get("gtin") or "").lstrip("0") == code.lstrip("0")),
                None)


@pytest.mark.parametrize("locale", LIVE_LOCALES)
def test_whole_purchase_by_touch(locale, start_core, shopper, ui_factory, shots, ui_fonts):
    start_core(KIOSK__SIM__PAYMENT__DECLINE_SUFFIXES=DECLINE)
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    screens = Screens(ui, shots, locale, ui_fonts())

    # attract: choose the language; the core keeps it (a restarted UI shows it too)
    ui.tap(f"attract-lang:{locale}")
    shopper.wait_state(lambda s: s["locale"] == locale)
    ui.wait_screen("attract", locale=locale)
    screens.snap("attract", "attract")
    ui.tap("start")
    shopper.wait_state(lambda s: s["state"] == "shopping")
    ui.wait_screen("shopping")
    texts = screens.snap("shopping-empty", "shopping")
    # this lane has no produce scale: the hint does not send the shopper to weigh produce
    assert not ui.status()["produce_scale"]
    assert Translator(locale).tr("Hold the barcode under the scanner.") in texts

    # five items by touch: each tap is a scan (or a weighing) the core now holds
    ui.tap(f"tile:{MILK}")
    shopper.wait_state(lambda s: line_of(s, MILK) is not None)
    for n in (1, 2, 3):
        ui.tap(f"tile:{NOODLES}")
        shopper.wait_state(lambda s, n=n: (line_of(s, NOODLES) or {}).get("qty") == n)
    ui.tap(f"tile:{BANANAS}")
    st = shopper.wait_state(lambda s: line_of(s, "PLU" + BANANAS) is not None)
    assert line_of(st, "PLU" + BANANAS)["weight_g"] == 850
    ui.tap(f"tile:{KIMCHI}")
    st = shopper.wait_state(lambda s: line_of(s, KIMCHI) is not None)
    milk_id = line_of(st, MILK)["line_id"]
    ui.tap(f"qty+:{milk_id}")
    shopper.wait_state(lambda s: line_of(s, MILK)["qty"] == 2)
    ui.tap(f"qty-:{milk_id}")
    shopper.wait_state(lambda s: line_of(s, MILK)["qty"] == 1)
    ui.tap(f"tile:{BUN}")
    st = shopper.wait_state(lambda s: line_of(s, BUN) is not None)
    ui.sync(st)
    ui.tap(f"remove:{line_of(st, BUN)['line_id']}")
    st = shopper.wait_state(lambda s: line_of(s, BUN) is None and len(s["lines"]) == 4)
    assert st["totals"]["savings"] == 99 and st["totals"]["total"] == 1130
    ui.sync(st)
    texts = screens.snap("shopping", "shopping")
    ui.screenshot(shots / "window-with-demo-panel.png", part="window")
    assert money(st["totals"]["total"], locale) in texts, "the running total is shown"
    assert money(-99, locale) in texts, "the multi-buy saving is shown"

    # pay: the first attempt is declined, the shopper goes back and adds one more item
    ui.tap("checkout")
    shopper.wait_state(lambda s: s["state"] == "payment")
    ui.wait_screen("payment")
    screens.snap("payment", "payment")
    ui.call("hold", states=["authorizing"])
    ui.tap("pay:card")
    shopper.wait_state(lambda s: s["state"] in ("authorizing", "declined"))
    ui.wait_screen("authorizing")
    screens.snap("authorizing", "authorizing")
    ui.call("release")
    shopper.wait_state(lambda s: s["state"] == "declined")
    ui.wait_screen("declined")
    screens.snap("declined", "declined")
    ui.tap("back")
    shopper.wait_state(lambda s: s["state"] == "shopping")
    ui.wait_screen("shopping")

    # an age-restricted item: the attendant screen, a wrong PIN, the right one, approve
    ui.tap(f"tile:{SOJU}")
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    ui.wait_screen("attendant")
    screens.snap("attendant-age-check", "attendant")
    for key in "1111":
        ui.tap(f"pin:{key}")
    ui.tap("pin:ok")
    ui.sync(shopper.wait_state(lambda s: s["notice"] == "pin_wrong"))
    screens.snap("attendant-wrong-pin", "attendant")
    for key in "2468":
        ui.tap(f"pin:{key}")
    screens.snap("attendant-pin-typed", "attendant")
    ui.tap("pin:ok")
    ui.sync(shopper.wait_state(lambda s: s["staff"] is not None))
    screens.snap("attendant-staff-signed-in", "attendant")
    ui.tap("staff:approve")
    st = shopper.wait_state(lambda s: s["state"] == "shopping")
    assert line_of(st, SOJU)["age_status"] == "approved"
    ui.wait_screen("shopping")
    texts = screens.snap("shopping-age-approved", "shopping")
    assert money(st["totals"]["total"], locale) in texts

    # pay again: approved, receipt printed, done
    ui.tap("checkout")
    ui.wait_screen("payment")
    ui.call("hold", states=["approved"])
    ui.tap("pay:qr")
    show_code(shopper)   # the shopper's phone shows its payment code to the camera
    shopper.wait_state(lambda s: s["state"] in ("approved", "receipt"))
    ui.wait_screen("approved")
    screens.snap("approved", "approved")
    ui.call("release")
    ui.sync(shopper.wait_state(lambda s: s["state"] == "approved"))
    ui.tap("receipt:print")   # the approved screen asks; by touch (or voice) the shopper answers
    st = shopper.wait_state(lambda s: s["state"] == "receipt")
    assert st["payment"]["receipt_choice"] == "print"
    assert st["payment"]["status"] == "approved" and st["payment"]["method"] == "qr"
    assert Path(st["receipt"]["path"]).exists()
    ui.wait_screen("receipt")
    texts = screens.snap("receipt", "receipt")
    assert any(money(st["payment"]["amount"], locale) in t for t in texts)
    ui.tap("done")
    shopper.wait_state(lambda s: s["state"] == "attract" and not s["lines"])
    ui.wait_screen("attract")
    assert screens.count == 13
