"""Configuration of the GPIO lines (the ``[gpio]`` table): strict and frozen, checked at load.

Pins are BCM numbers (0-27); a pin left out (``None``) means that part is not
fitted. The help button, keypad buttons and door switch are wired to ground with
the Pi's internal pull-up: a pressed button reads low. The door's reed switch is
closed (low) while the door is shut, so an open door reads ``door_open_level``
(``high`` for that wiring).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Pin = int | None


def _pin(default: int | None) -> Pin:
    return Field(default=default, ge=0, le=27)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LightConfig(_Strict):
    green: Pin = _pin(17)
    amber: Pin = _pin(27)
    red: Pin = _pin(22)
    active_high: bool = True
    blink_on_s: float = Field(default=0.5, gt=0, le=5)
    blink_off_s: float = Field(default=0.5, gt=0, le=5)


class BuzzerConfig(_Strict):
    pin: Pin = _pin(18)
    kind: Literal["passive", "active"] = Field(
        default="passive", description="passive: TonalBuzzer on a PWM pin; active: on/off beeps")
    active_high: bool = True
    take_card_after_s: float = Field(
        default=5.0, gt=0, le=120, description="a card left in the reader: first reminder beep")
    take_card_every_s: float = Field(default=5.0, gt=0, le=120,
                                     description="then again this often until it is taken")


class KeypadConfig(_Strict):
    up: Pin = _pin(None)
    down: Pin = _pin(None)
    select: Pin = _pin(None)
    back: Pin = _pin(None)

    def pins(self) -> dict[str, int]:
        return {k: v for k, v in (("up", self.up), ("down", self.down),
                                  ("select", self.select), ("back", self.back)) if v is not None}


class GpioConfig(_Strict):
    pin_factory: Literal["lgpio", "rpigpio", "native", "mock", "default"] = Field(
        default="lgpio", description="default: gpiozero's choice (GPIOZERO_PIN_FACTORY)")
    help_button: Pin = _pin(23)
    door_switch: Pin = _pin(24)
    door_open_level: Literal["high", "low"] = "high"
    bounce_s: float = Field(default=0.05, ge=0, le=1)
    light: LightConfig = Field(default_factory=LightConfig)
    buzzer: BuzzerConfig = Field(default_factory=BuzzerConfig)
    keypad: KeypadConfig = Field(default_factory=KeypadConfig)

    @model_validator(mode="after")
    def _pins_unique(self) -> GpioConfig:
        used: dict[int, str] = {}
        named = [("help_button", self.help_button), ("door_switch", self.door_switch),
                 ("light.green", self.light.green), ("light.amber", self.light.amber),
                 ("light.red", self.light.red), ("buzzer.pin", self.buzzer.pin)]
        named += [(f"keypad.{k}", v) for k, v in self.keypad.pins().items()]
        for name, pin in named:
            if pin is None:
                continue
            if pin in used:
                raise ValueError(f"GPIO{pin} is used twice: {used[pin]} and {name}")
            used[pin] = name
        return self
