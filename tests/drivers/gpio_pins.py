"""gpiozero mock pins for the GPIO tests: MockPWMPin that also keeps its frequency history.

gpiozero's ``MockPin`` records every state change (``pin.states``); a tonal
buzzer's pitch is the PWM frequency, which ``MockPWMPin`` does not record, so
this subclass appends each frequency set to ``pin.frequencies``. Everything else
is gpiozero's own mock machinery (the ``pin_class`` hook of ``MockFactory``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gpiozero.pins.mock import MockFactory, MockPWMPin


class RecordingPWMPin(MockPWMPin):
    def __init__(self, factory, info):
        self.frequencies: list[float | None] = []
        super().__init__(factory, info)

    def _set_frequency(self, value):
        self.frequencies.append(value)
        super()._set_frequency(value)


class SwitchPin(RecordingPWMPin):
    """An input wired to a switch to ground: while the switch is closed the line reads low
    whatever the pull-up says (as on the board); opened, the pull-up takes it high."""

    def __init__(self, factory, info):
        self.switch_closed = True
        super().__init__(factory, info)

    def _set_pull(self, value):
        super()._set_pull(value)
        if self.switch_closed:
            self._change_state(False)

    def close_switch(self) -> None:
        self.switch_closed = True
        self.drive_low()

    def open_switch(self) -> None:
        self.switch_closed = False
        if self._pull == "up":
            self.drive_high()


def mock_factory() -> MockFactory:
    return MockFactory(pin_class=RecordingPWMPin)


def eventually(predicate: Callable[[], bool], timeout: float = 10.0,
               what: str = "condition") -> None:
    """Wait until ``predicate()`` holds (a generous bound, not a timing requirement)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never held within {timeout} s")
        time.sleep(0.01)


def transitions(pin) -> int:
    """How many times the pin changed state since it was last cleared."""
    return len(pin.states) - 1
