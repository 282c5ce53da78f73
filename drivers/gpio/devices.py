"""gpiozero devices of the kiosk: the tower light and the buzzer, over any pin factory.

:class:`TowerLight` is three LEDs of which one is lit (or blinking): it shows a
:class:`Light`.
:class:`BuzzerPlayer` plays named patterns from its own thread so bus and button
callbacks never wait: on a passive buzzer (``TonalBuzzer`` on a PWM pin) the
patterns are tones, on an active one (``Buzzer``) they are on/off beeps. The
alarm repeats until it is switched off and takes precedence over feedback beeps.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kiosk_drivers.gpio.config import BuzzerConfig, LightConfig

if TYPE_CHECKING:
    from gpiozero.pins import Factory

log = logging.getLogger(__name__)

Color = Literal["green", "amber", "red", "off"]


@dataclass(frozen=True)
class Light:
    """What the tower light shows: one colour (or none), steady or blinking."""

    color: Color
    blink: bool = False

    def __str__(self) -> str:
        return f"{self.color}{' blinking' if self.blink else ''}"


#: (frequency in Hz, or None for silence, seconds) for a passive buzzer
TONES: dict[str, list[tuple[float | None, float]]] = {
    "good_read": [(1760.0, 0.08)],
    "bad_read": [(440.0, 0.15), (None, 0.06), (440.0, 0.15)],
    "alarm": [(1760.0, 0.25), (1174.66, 0.25)],
    "take_card": [(1174.66, 0.12), (None, 0.08), (1174.66, 0.12), (None, 0.08),
                  (1760.0, 0.25)],
}
#: (on, seconds) for an active buzzer
BEEPS: dict[str, list[tuple[bool, float]]] = {
    "good_read": [(True, 0.08)],
    "bad_read": [(True, 0.08), (False, 0.06), (True, 0.08), (False, 0.06), (True, 0.08)],
    "alarm": [(True, 0.25), (False, 0.25)],
    "take_card": [(True, 0.12), (False, 0.08), (True, 0.12), (False, 0.08), (True, 0.25)],
}


def make_factory(name: str) -> Factory | None:
    """The pin factory for the configured name (None: gpiozero's own default)."""
    if name == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin)
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    if name == "native":
        from gpiozero.pins.native import NativeFactory

        return NativeFactory()
    return None


class TowerLight:
    def __init__(self, config: LightConfig, factory: Factory | None) -> None:
        from gpiozero import LED

        self.config = config
        self.leds: dict[str, Any] = {}
        for color in ("green", "amber", "red"):
            pin = getattr(config, color)
            if pin is not None:
                self.leds[color] = LED(pin, active_high=config.active_high,
                                       pin_factory=factory)
        self.current = Light("off")
        self._lock = threading.Lock()

    def show(self, light: Light) -> bool:
        """Show ``light``; returns False when it was already shown (a blink is not restarted)."""
        with self._lock:
            if light == self.current:
                return False
            for color, led in self.leds.items():
                if color != light.color:
                    led.off()
            led = self.leds.get(light.color)
            if led is not None:
                if light.blink:
                    led.blink(on_time=self.config.blink_on_s, off_time=self.config.blink_off_s,
                              background=True)
                else:
                    led.on()
            self.current = light
            return True

    def flash(self, color: str = "green", seconds: float = 0.15) -> None:
        """Flash ``color`` once (a good read), then show the current light again.

        A steady lamp of that colour winks off and on; otherwise the lamp lights for
        ``seconds`` over the current light. Runs in the background.
        """
        led = self.leds.get(color)
        if led is None:
            return
        with self._lock:
            current = self.current
            if current.blink:
                return  # a blinking light already draws the eye; leave it alone
            if current.color == color:
                led.off()
            else:
                led.on()
        timer = threading.Timer(seconds, self._restore, args=(current,))
        timer.daemon = True
        timer.start()

    def _restore(self, shown: Light) -> None:
        with self._lock:
            if self.current != shown:
                return  # the light changed meanwhile and is already right
            for color, led in self.leds.items():
                (led.on if color == shown.color else led.off)()

    def close(self) -> None:
        for led in self.leds.values():
            led.close()


class BuzzerPlayer:
    def __init__(self, config: BuzzerConfig, factory: Factory | None) -> None:
        self.config = config
        self.passive = config.kind == "passive"
        self.device: Any = None
        if config.pin is not None:
            if self.passive:
                from gpiozero import TonalBuzzer
                from gpiozero.tones import Tone

                self.device = TonalBuzzer(config.pin, mid_tone=Tone("A5"), octaves=2,
                                          pin_factory=factory)
            else:
                from gpiozero import Buzzer

                self.device = Buzzer(config.pin, active_high=config.active_high,
                                     pin_factory=factory)
        self._queue: queue.Queue[str] = queue.Queue(maxsize=4)
        self._alarm = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="buzzer", daemon=True)
        self._thread.start()

    @property
    def alarm(self) -> bool:
        return self._alarm.is_set()

    def play(self, pattern: str) -> None:
        """Queue a pattern (good_read, bad_read); dropped when the queue is full."""
        if pattern not in TONES:
            raise ValueError(f"unknown buzzer pattern {pattern!r}")
        try:
            self._queue.put_nowait(pattern)
        except queue.Full:
            log.debug("buzzer busy: %s dropped", pattern)

    def set_alarm(self, on: bool) -> None:
        if on:
            self._alarm.set()
        else:
            self._alarm.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if self.device is not None:
            self.device.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._alarm.is_set():
                self._pattern("alarm", lambda: not self._alarm.is_set())
                continue
            try:
                name = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self._pattern(name, self._alarm.is_set)

    def _pattern(self, name: str, interrupted: Any) -> None:
        if self.device is None:
            return
        steps: list[tuple[Any, float]] = (TONES[name] if self.passive  # type: ignore[assignment]
                                          else BEEPS[name])
        try:
            for value, seconds in steps:
                self._sound(value)
                if self._stop.wait(seconds) or interrupted():
                    break
        finally:
            self._sound(None if self.passive else False)

    def _sound(self, value: Any) -> None:
        if self.passive:
            if value is None:
                self.device.stop()
            else:
                from gpiozero.tones import Tone

                self.device.play(Tone.from_frequency(value))
        elif value:
            self.device.on()
        else:
            self.device.off()
