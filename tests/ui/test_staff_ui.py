"""The PIN pad under Xvfb against the real core: the PIN typed never reaches the bus."""

from __future__ import annotations

from kiosk.security.staff import hash_secret
from tests.fixtures.sample_items import MILK

PIN = "860251379"  # long: never found by chance in an id or a timestamp


def test_the_pin_pad_sends_no_pin_on_the_bus(start_core, shopper, ui_factory, sniffer):
    start_core(KIOSK__STAFF__MEMBERS=f'[{{id = "S7", name = "Night Lead",'
                                     f' pin_hash = "{hash_secret(PIN)}"}}]')
    shopper.wait_online()
    ui = ui_factory()
    ui.wait_screen("attract")
    ui.tap("start")
    ui.tap(f"tile:{MILK}")
    shopper.wait_state(lambda s: len(s["lines"]) == 1)
    ui.tap("help")
    shopper.wait_state(lambda s: s["state"] == "attendant_needed")
    ui.wait_screen("attendant")
    for key in PIN:
        ui.tap(f"pin:{key}")
    ui.tap("pin:ok")
    st = shopper.wait_state(lambda s: s["staff"] is not None)
    assert st["staff"]["id"] == "S7"
    [sent] = sniffer.commands("staff_pin")
    assert b'"source":"ui"' in sent and b'"sealed"' in sent
    assert all(PIN.encode() not in p for p in sniffer.payloads)
