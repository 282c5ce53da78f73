"""Accessible mode: tactile-key focus navigation, spoken everything, headset routing.

Accessible mode starts when the shopper presses a tactile key (GPIO keypad events
``up/down/select/back`` on ``kiosk/v1/<lane>/event/keypad``, or the help button),
says the help phrase, or plugs in a headset. Then:

* ``up``/``down`` move a focus through the actions possible in the current state
  (:data:`ACTIONS`) and speak the focused one; ``select`` does it; ``back``
  repeats the state's prompt (ADA 707.5: repeatable);
* prompts include the totals and items; errors are read out;
* timed prompts are extended: an idle warning is answered with "more time", and
  the focus offers it first while the warning is open;
* with a headset plugged in, speech goes only to the headset (private content
  such as totals and card prompts is never on the loudspeaker then).

Headset detection is a :class:`JackSource`. :class:`SimulatedJack` is set by
code (tests, the demo, or the ``event/headset`` bus topic). :class:`AlsaJack`
reads an ALSA jack kcontrol (``iface=CARD,name='Headphone Jack'``), which USB
audio adapters with jack sensing and most HDA codecs expose; it needs
``amixer`` (alsa-utils) and returns None (unknown) where the control is missing,
e.g. on adapters without sensing: then plug detection is unavailable and
accessible mode is started by key or voice only.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Protocol

from kiosk.bus.messages import accepted, rating_phase, shopper_ways_out
from kiosk.domain.feedback import RATINGS, REASONS
from kiosk.services.voice.prompts import Prompts, Speech

KEYS = ("up", "down", "select", "back")

#: actions a shopper can reach with the keys, per checkout state (first = initial focus);
#: "help" joins them where the state accepts it (:func:`actions_for`)
ACTIONS: dict[str, tuple[str, ...]] = {
    "attract": ("repeat",),
    "shopping": ("hear_items", "hear_total", "pay_card", "pay_qr", "cancel"),
    "attendant_needed": ("repeat", "hear_total"),
    "payment": ("pay_card", "pay_qr", "hear_total", "hear_items", "back", "cancel"),
    "authorizing": ("repeat", "hear_total"),
    "approved": ("receipt_print", "receipt_none", "hear_total", "repeat"),
    "declined": ("pay_card", "pay_qr", "hear_total", "back", "cancel"),
    "reversing": ("repeat",),
    "payment_unavailable": ("repeat",),
    "receipt": ("read_receipt", "done", "repeat"),
    "out_of_service": ("repeat",),
}


def _with_help(actions: tuple[str, ...]) -> tuple[str, ...]:
    """``help`` placed before cancel (or repeat): the last things a focus reaches."""
    at = next((i for i, a in enumerate(actions) if a in ("cancel", "repeat")), len(actions))
    return (*actions[:at], "help", *actions[at:])


#: where "look up a loose item" joins the shopping actions (a lane with loose items)
LOOK_UP_AFTER = "hear_total"


def actions_for(msg: dict, look_up: bool = False) -> tuple[str, ...]:
    """The focusable actions for a state message; "more time" first during an idle warning.
    ``look_up``: the lane sells loose items, reached by key through "look_up" while shopping
    (:meth:`AccessibleMode.key` then moves through the items)."""
    actions = ACTIONS.get(msg.get("state", "attract"), ("repeat",))
    if look_up and msg.get("state") == "shopping":
        at = actions.index(LOOK_UP_AFTER) + 1
        actions = (*actions[:at], "look_up", *actions[at:])
    if accepted(msg, "help"):
        actions = _with_help(actions)
    actions = (*shopper_ways_out(msg), *actions)   # cancel help / put aside: first
    phase = rating_phase(msg)  # the optional rating after the receipt: its choices first
    if phase == "ask":
        actions = (*(f"rate:{r}" for r in reversed(RATINGS)), *actions)
    elif phase == "reasons":
        actions = (*(f"reason:{r}" for r in REASONS), "rate:skip", *actions)
    payment = msg.get("payment") or {}
    if msg.get("state") == "authorizing" and payment.get("step") == "choose_app":
        # the card's applications, by index: select sends choose_app
        return (*(f"app:{i}" for i in range(len(payment.get("apps") or []))), "repeat")
    if "methods" in msg:  # a payment method the lane does not offer is no focus item
        offered = {f"pay_{m.get('id')}" for m in msg["methods"] or ()}
        actions = tuple(a for a in actions if not a.startswith("pay_") or a in offered)
    if msg.get("idle_warning_at"):
        return ("more_time", *actions)
    return actions


@dataclass
class KeyOutcome:
    speech: Speech
    action: str | None = None   # an action to perform (select)


class AccessibleMode:
    """Focus navigation state for one shopper; reset by :meth:`end` after the session."""

    def __init__(self) -> None:
        self.active = False
        self.focus = 0
        self._state: str | None = None
        self._warned = False
        #: the lane's loose items by key: action ``item:<plu>`` → (names, price per kg or
        #: each, sold by weight); "look_up" opens their list, select buys one from the scale
        self.items: dict[str, tuple[dict[str, str], int, bool]] = {}
        self.picking = False

    def start(self, prompts: Prompts) -> Speech:
        """Turn accessible mode on; returns the announcement (empty if already on)."""
        if self.active:
            return Speech()
        self.active = True
        self.focus = 0
        return prompts.say("accessible_on")

    def end(self) -> None:
        self.active = False
        self.focus = 0
        self._state = None

    def on_state(self, msg: dict) -> None:
        """A new state message: a changed state or a new idle warning resets the focus."""
        warned = bool(msg.get("idle_warning_at"))
        if msg.get("state") != self._state or warned != self._warned:
            self.focus = 0
            self.picking = False
        self._state = msg.get("state")
        self._warned = warned

    def _item_label(self, action: str, msg: dict, prompts: Prompts) -> str:
        names, price, by_weight = self.items[action]
        return prompts.item(names, price, by_weight, msg)

    def _pick_key(self, key: str, msg: dict, prompts: Prompts) -> KeyOutcome:
        """The keys in the loose items' list: up/down read the items, select buys the one
        read (from the scale's weight), back returns to the basket's actions."""
        items = tuple(self.items)
        if key == "back":
            self.picking, self.focus = False, 0
            return KeyOutcome(prompts.state(msg))
        if key == "select":
            action = items[self.focus]
            self.picking, self.focus = False, 0
            return KeyOutcome(Speech(), action)
        self.focus = (self.focus + (1 if key == "down" else -1)) % len(items)
        return KeyOutcome(Speech([self._item_label(items[self.focus], msg, prompts)]))

    def key(self, key: str, msg: dict, prompts: Prompts) -> KeyOutcome:
        if key not in KEYS:
            raise ValueError(f"unknown key {key!r}")
        if self.picking and self.items and msg.get("state") == "shopping":
            return self._pick_key(key, msg, prompts)
        actions = actions_for(msg, look_up=bool(self.items))
        self.focus = min(self.focus, len(actions) - 1)
        if key == "back":
            return KeyOutcome(prompts.state(msg))
        if key == "select":
            action = actions[self.focus]
            if action == "look_up":  # into the list of loose items, the first one read
                self.picking, self.focus = True, 0
                first = next(iter(self.items))
                return KeyOutcome(Speech([prompts.say("look_up_list").texts[0],
                                          self._item_label(first, msg, prompts)]))
            return KeyOutcome(Speech(), action)
        step = 1 if key == "down" else -1
        self.focus = (self.focus + step) % len(actions)
        label = prompts.action(actions[self.focus], msg)
        return KeyOutcome(Speech([label]))


# -- headset jack ----------------------------------------------------------------------

class JackSource(Protocol):
    def plugged(self) -> bool | None:
        """True/False, or None when this hardware cannot tell."""
        ...


class SimulatedJack:
    def __init__(self, plugged: bool = False) -> None:
        self._plugged = plugged

    def set(self, plugged: bool) -> None:
        self._plugged = plugged

    def plugged(self) -> bool | None:
        return self._plugged


class AlsaJack:
    """An ALSA jack-detection kcontrol read with ``amixer`` (polled by the service)."""

    def __init__(self, card: str | int = 0, control: str = "Headphone Jack") -> None:
        self.card = str(card)
        self.control = control

    def plugged(self) -> bool | None:
        try:
            out = subprocess.run(
                ["amixer", "-c", self.card, "cget", f"iface=CARD,name={self.control}"],
                capture_output=True, text=True, timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.returncode != 0:
            return None
        return parse_amixer_jack(out.stdout)


def parse_amixer_jack(text: str) -> bool | None:
    """``: values=on`` → True, ``: values=off`` → False, else None."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(": values="):
            value = line.split("=", 1)[1].strip().lower()
            return {"on": True, "off": False}.get(value)
    return None
