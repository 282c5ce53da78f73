"""GPIO without a bus: light rules, config checks, light and buzzer on gpiozero's mock pins."""

from __future__ import annotations

import time

import pytest
from kiosk_drivers.gpio.config import BuzzerConfig, GpioConfig, KeypadConfig, LightConfig
from kiosk_drivers.gpio.devices import BuzzerPlayer, TowerLight
from pydantic import ValidationError

from kiosk.bus.light import Light, help_allowed, light_for
from kiosk.domain.vocabulary import accepts
from tests.drivers.gpio_pins import eventually, mock_factory, transitions


def _state(name: str, reason: str | None = None, faults: dict | None = None) -> dict:
    """A state message as kiosk-core publishes it (with its ``accepts`` row)."""
    return {"type": "state", "state": name, "faults": faults or {},
            "attendant": {"reason": reason} if reason else None,
            "accepts": list(accepts(name))}


@pytest.mark.parametrize("name,expected", [
    ("attract", Light("green")), ("shopping", Light("green")), ("payment", Light("green")),
    ("authorizing", Light("green")), ("approved", Light("green")), ("receipt", Light("green")),
    ("attendant_needed", Light("amber")), ("declined", Light("amber")),
    ("reversing", Light("amber")), ("payment_unavailable", Light("amber")),
    ("out_of_service", Light("red")),
])
def test_light_for_each_state(name, expected):
    assert light_for(_state(name), True, False) == expected


def test_help_blinks_amber_and_faults_win():
    assert light_for(_state("attendant_needed", "help"), True, False) == Light("amber", True)
    assert light_for(_state("attendant_needed", "age_restricted"), True, False) == Light("amber")
    assert light_for(_state("shopping", faults={"printer": "paper_out"}), True, False) == \
        Light("amber")
    assert light_for(_state("shopping", faults={"door": "open"}), True, False) == Light("red")
    assert light_for(_state("attendant_needed", "help"), False, False) == Light("red")
    assert light_for(_state("shopping"), True, True) == Light("red")  # door open, seen locally
    assert light_for(None, True, False) == Light("red")
    assert light_for(_state("shopping"), None, False) == Light("red")


def test_help_allowed_only_where_the_core_takes_it():
    assert [s for s in ("attract", "shopping", "attendant_needed", "payment", "authorizing",
                        "declined", "payment_unavailable", "receipt", "out_of_service")
            if help_allowed(_state(s))] == ["attract", "shopping", "payment", "authorizing",
                                            "declined", "payment_unavailable", "receipt"]
    assert not help_allowed(None)
    # the button follows what the core says the state accepts, not the state's name
    assert not help_allowed(dict(_state("shopping"), accepts=["scan", "checkout"]))
    assert not help_allowed({"type": "state", "state": "shopping"})
    assert help_allowed(dict(_state("attract"), accepts=["help"]))


def test_gpio_config_refuses_a_pin_used_twice():
    with pytest.raises(ValidationError, match="GPIO17 is used twice"):
        GpioConfig(help_button=17)
    with pytest.raises(ValidationError, match="GPIO5 is used twice"):
        GpioConfig(keypad=KeypadConfig(up=5, down=5))
    with pytest.raises(ValidationError):
        GpioConfig(help_button=40)
    with pytest.raises(ValidationError):
        GpioConfig(extra=1)
    assert GpioConfig(keypad=KeypadConfig(up=5, down=6)).keypad.pins() == {"up": 5, "down": 6}


def test_tower_light_drives_one_lamp_and_blinks_it():
    factory = mock_factory()
    cfg = LightConfig(blink_on_s=0.02, blink_off_s=0.02)
    tower = TowerLight(cfg, factory)
    green, amber, red = (factory.pin(p) for p in (cfg.green, cfg.amber, cfg.red))
    try:
        tower.show(Light("green"))
        assert [bool(p.state) for p in (green, amber, red)] == [True, False, False]
        tower.show(Light("red"))
        assert [bool(p.state) for p in (green, amber, red)] == [False, False, True]
        amber.clear_states()
        tower.show(Light("amber", blink=True))
        assert not red.state and not green.state
        eventually(lambda: transitions(amber) >= 4, what="amber blinking")
        assert not tower.show(Light("amber", blink=True))  # same light: the blink goes on
        tower.show(Light("green"))
        amber.clear_states()
        assert not amber.state and green.state
        time.sleep(0.2)  # five blink periods: a stopped blink stays off
        assert transitions(amber) == 0
    finally:
        tower.close()


def test_good_read_flash_winks_green_and_lights_green_over_amber():
    factory = mock_factory()
    cfg = LightConfig()
    tower = TowerLight(cfg, factory)
    green, amber = factory.pin(cfg.green), factory.pin(cfg.amber)
    try:
        tower.show(Light("green"))
        green.clear_states()
        tower.flash("green", seconds=0.05)
        eventually(lambda: transitions(green) >= 2, what="green winked off and on")
        assert [s.state for s in green.states][-2:] == [False, True]
        tower.show(Light("amber"))
        green.clear_states()
        tower.flash("green", seconds=0.05)
        eventually(lambda: transitions(green) >= 2, what="green flashed over amber")
        assert [s.state for s in green.states][-2:] == [True, False]
        assert amber.state  # the attention light stays on throughout
    finally:
        tower.close()


def test_tower_light_honours_active_low_lamps():
    factory = mock_factory()
    cfg = LightConfig(active_high=False)
    tower = TowerLight(cfg, factory)
    try:
        tower.show(Light("green"))
        assert not factory.pin(cfg.green).state  # lit = pulled low
        assert factory.pin(cfg.red).state
    finally:
        tower.close()


def test_passive_buzzer_plays_distinct_tones_and_an_alarm():
    factory = mock_factory()
    buzzer = BuzzerPlayer(BuzzerConfig(pin=18, kind="passive"), factory)
    pin = factory.pin(18)
    try:
        buzzer.play("good_read")
        eventually(lambda: 1760.0 in [round(f or 0, 1) for f in pin.frequencies],
                   what="good-read tone")
        eventually(lambda: pin.state == 0)
        pin.frequencies.clear()
        buzzer.play("bad_read")
        eventually(lambda: [round(f or 0) for f in pin.frequencies].count(440) >= 2,
                   what="two low bad-read tones")
        eventually(lambda: pin.state == 0)
        pin.frequencies.clear()
        buzzer.set_alarm(True)
        eventually(lambda: {1760, 1175} <= {round(f or 0) for f in pin.frequencies},
                   what="alarm alternating two tones")
        buzzer.set_alarm(False)
        eventually(lambda: pin.state == 0, what="silence after the alarm")
    finally:
        buzzer.close()


def test_active_buzzer_beeps_patterns():
    factory = mock_factory()
    buzzer = BuzzerPlayer(BuzzerConfig(pin=18, kind="active"), factory)
    pin = factory.pin(18)
    try:
        pin.clear_states()
        buzzer.play("good_read")
        eventually(lambda: transitions(pin) == 2, what="one beep")
        pin.clear_states()
        buzzer.play("bad_read")
        eventually(lambda: transitions(pin) == 6, what="three beeps")
        assert [s.state for s in pin.states] == [0, 1, 0, 1, 0, 1, 0]
    finally:
        buzzer.close()
