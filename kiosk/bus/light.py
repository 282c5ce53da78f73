"""What the tower light shows and when the help button may call: pure functions of the bus.

* red: a fault: kiosk-core offline (or not heard from yet), the lane out of
  service, the cabinet door open (seen locally, before the core has answered);
* amber blinking: a shopper asked for help (``attendant.reason == "help"``);
* amber: staff attention: attendant needed, a declined or reversing payment,
  payments unavailable, a card left in the reader (``card_left``: the buzzer joins in
  after ``buzzer.take_card_after_s``), or a device fault that does not close the lane
  (printer);
* green: normal operation; blinking green in training (``training``: kiosk.domain.training),
  so staff see from afar that the lane takes no money.
"""

from __future__ import annotations

from kiosk_drivers.gpio.devices import Light  # what the tower light shows: the driver's type

from kiosk.bus.messages import accepted
from kiosk.domain.vocabulary import BLOCKING_FAULTS

NORMAL_STATES = ("attract", "shopping", "payment", "authorizing", "approved", "receipt")
ATTENTION_STATES = ("attendant_needed", "declined", "reversing", "payment_unavailable")
FAULT_STATES = ("out_of_service",)

def light_for(state: dict | None, core_online: bool | None, door_open: bool) -> Light:
    """The tower light for the last checkout state message and core status."""
    if door_open or core_online is not True or state is None:
        return Light("red")
    name = state.get("state")
    faults = state.get("faults") or {}
    if name in FAULT_STATES or any(f in faults for f in BLOCKING_FAULTS):
        return Light("red")
    attendant = state.get("attendant") or {}
    if attendant.get("reason") == "help":
        return Light("amber", blink=True)
    if name in ATTENTION_STATES or faults or name not in NORMAL_STATES or take_card(state):
        return Light("amber")
    return Light("green", blink=state.get("training") is True)


def take_card(state: dict | None) -> bool:
    """A card was left in the reader when the last session ended: ask for it to be taken."""
    return bool(state) and state.get("card_left") is True  # type: ignore[union-attr]


def help_allowed(state: dict | None) -> bool:
    """Whether a press of the help button should call for help now: the state the core
    published accepts ``help``."""
    return accepted(state, "help")
