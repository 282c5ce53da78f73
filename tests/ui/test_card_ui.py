"""Card payment screens in a real Kivy window, driven by the simulated card port.

kiosk-core runs the simulated acquirer, which plays the card reader's steps; the
UI follows ``payment.step`` on the retained state: insert card, reading card,
choose application (a co-badged card), approved with the receipt question and
the "remove your card" prompt, declined with the translated message, cancelled
before the request left (nothing charged) and after it left (reversed, "not
charged"), and the clock refusal. Every screen is photographed and checked for
clipped text, missing glyphs and English left on a Chinese or Korean screen.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.sample_items import MILK
from tests.ui.driver import LIVE_LOCALES
from tests.ui.test_purchase_ui import Screens

pytestmark = pytest.mark.ui

LOCALES = LIVE_LOCALES


def ledger(env: dict) -> list[dict]:
    path = Path(env["KIOSK__PATHS__STATE_DIR"]) / "sim-acquirer.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def to_payment(ui, shopper, locale: str) -> None:
    shopper.wait_online()
    assert shopper.send("start", locale=locale)["ok"]
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("checkout")["ok"]
    ui.sync(shopper.wait_state(lambda s: s["state"] == "payment"))
    ui.wait_screen("payment", locale=locale)


def step_is(name: str):
    return lambda s: s["state"] == "authorizing" and (s["payment"] or {}).get("step") == name


@pytest.mark.parametrize("locale", LOCALES)
def test_cobadged_card_by_touch(locale, start_core, shopper, ui_factory, shots, ui_fonts,
                                lane_env):
    start_core(KIOSK__SIM__PAYMENT__CARD_STEP_MS="2500",
               KIOSK__SIM__PAYMENT__COBADGED_SUFFIXES='["93"]')
    ui = ui_factory()
    to_payment(ui, shopper, locale)
    screens = Screens(ui, shots, locale, ui_fonts())
    ui.tap("pay:card")
    ui.sync(shopper.wait_state(step_is("insert_card")))
    ui.wait_screen("card_insert")
    screens.snap("card-insert", "card_insert")
    ui.sync(shopper.wait_state(step_is("reading")))
    ui.wait_screen("card_reading")
    screens.snap("card-reading", "card_reading")
    ui.sync(shopper.wait_state(step_is("choose_app")))
    ui.wait_screen("choose_app")
    texts = screens.snap("choose-app", "choose_app")
    assert "VISA CREDIT" in texts and "UNIONPAY DEBIT" in texts
    ui.call("hold", states=["approved"])
    ui.tap("app:1")
    st = shopper.wait_state(lambda s: s["state"] in ("approved", "receipt"))
    assert st["payment"]["app"] == {"index": 1, "label": "UNIONPAY DEBIT"}
    ui.wait_screen("approved")
    screens.snap("approved-remove-card-receipt-question", "approved")
    ui.call("release")
    ui.sync(shopper.wait_state(lambda s: s["state"] == "approved"
                               and s["payment"].get("step") is None))
    ui.wait_screen("approved")
    ui.tap("receipt:print")
    st = shopper.wait_state(lambda s: s["state"] == "receipt")
    assert st["payment"]["receipt_choice"] == "print"
    assert "UNIONPAY DEBIT" in Path(st["receipt"]["path"]).read_text()
    ui.wait_screen("receipt")
    screens.snap("receipt", "receipt")
    assert len([e for e in ledger(lane_env) if e["kind"] == "auth"]) == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_cancel_on_the_insert_card_screen_charges_nothing(locale, start_core, shopper,
                                                         ui_factory, shots, ui_fonts,
                                                         lane_env):
    start_core(KIOSK__SIM__PAYMENT__CARD_STEP_MS="60000")   # the shopper never inserts it
    ui = ui_factory()
    to_payment(ui, shopper, locale)
    screens = Screens(ui, shots, locale, ui_fonts())
    ui.tap("pay:card")
    ui.sync(shopper.wait_state(step_is("insert_card")))
    ui.wait_screen("card_insert")
    ui.tap("card:cancel")
    st = shopper.wait_state(lambda s: s["state"] == "declined")
    ui.sync(st)
    assert st["payment"]["message"] == "cancelled" and not st["reversal_owed"]
    ui.wait_screen("declined")
    screens.snap("declined-cancelled", "declined")
    assert ledger(lane_env) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_blocked_card_is_declined_with_its_message(locale, start_core, shopper, ui_factory,
                                                   shots, ui_fonts, lane_env):
    start_core(KIOSK__SIM__PAYMENT__CARD_STEP_MS="50",
               KIOSK__SIM__PAYMENT__CARD_ABORT_SUFFIXES='{ "93" = "card_blocked" }')
    ui = ui_factory()
    to_payment(ui, shopper, locale)
    screens = Screens(ui, shots, locale, ui_fonts())
    ui.tap("pay:card")
    st = shopper.wait_state(lambda s: s["state"] == "declined")
    ui.sync(st)
    assert st["payment"]["message"] == "card_blocked"
    ui.wait_screen("declined")
    screens.snap("declined-card-blocked", "declined")
    assert ledger(lane_env) == []


@pytest.mark.slow   # the simulated host and its reversal take 5 s each
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_cancel_after_the_request_left_tells_not_charged(locale, start_core, shopper,
                                                        ui_factory, shots, ui_fonts):
    # the host (and the reversal) take 3 s: time to cancel while the request is out; the
    # reversing screen is held for its photograph, not waited out
    start_core(KIOSK__SIM__PAYMENT__CARD_STEP_MS="50", KIOSK__SIM__PAYMENT__LATENCY_MS="3000")
    ui = ui_factory()
    to_payment(ui, shopper, locale)
    screens = Screens(ui, shots, locale, ui_fonts())
    ui.tap("pay:card")
    ui.sync(shopper.wait_state(step_is("authorizing")))
    ui.wait_screen("authorizing")
    # the request has left: no free cancel on screen, but a cancel (e.g. spoken) reverses
    assert "card:cancel" not in {t["tid"] for t in ui.call("tappables")["tappables"]}
    ui.call("hold", states=["reversing"])
    assert shopper.send("cancel")["ok"]
    shopper.wait_state(lambda s: s["state"] in ("reversing", "payment"))
    ui.wait_screen("reversing")
    screens.snap("reversing-after-cancel", "reversing")
    ui.call("release")
    st = shopper.wait_state(lambda s: s["state"] == "payment" and not s["reversal_owed"],
                            timeout=30)
    ui.sync(st)
    assert st["notice"] == "not_charged"
    ui.wait_screen("payment")
    screens.snap("payment-not-charged", "payment")


def test_pay_is_refused_while_the_clock_is_not_synchronized(start_core, shopper, ui_factory,
                                                            shots, ui_fonts, tmp_path):
    start_core(KIOSK__PAYMENTS__REQUIRE_CLOCK_SYNC="true",
               KIOSK__PAYMENTS__CLOCK_SOURCE="timesyncd",
               KIOSK__PAYMENTS__CLOCK_SYNC_FLAG=str(tmp_path / "never-synchronized"))
    ui = ui_factory()
    to_payment(ui, shopper, "en")
    ui.tap("pay:card")
    ui.wait(lambda st: any("ask an attendant" in t["text"] for t in ui.texts()),
            "the clock refusal toast")
    Screens(ui, shots, "en", ui_fonts()).snap("payment-clock-not-synced", "payment")
    assert shopper.state["state"] == "payment"
