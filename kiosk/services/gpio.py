"""kiosk-gpio (``kiosk gpio``): the one owner of the GPIO lines, speaking MQTT.

Listens on the lane's bus for the retained checkout state and core status (the
tower light follows :func:`kiosk.bus.light.light_for`) and for scan feedback
(the buzzer beeps good / bad read). Reports the inputs:

* help button → command ``help`` (source ``gpio``), only from states that accept
  it; the core answers with a result, which is not needed here;
* door switch → command ``device`` ``{"device": "door", "ok": false, "detail":
  "open"}`` / ``ok: true, "closed"`` (the core journals it and takes the lane out of
  service); the light turns red and the alarm sounds at once, locally. The door's
  state is reported again whenever the core comes (back) online, since commands
  sent while it was down are not kept;
* keypad buttons → event ``{"v": 1, "type": "keypad", "key": "up"}`` on
  ``kiosk/v1/<lane>/event/keypad`` for the UI's focus navigation.

A card left in the reader (``card_left`` on the state) turns the light amber at once and
sounds the ``take_card`` beep after ``buzzer.take_card_after_s``, then every
``take_card_every_s``, until a state says it was taken (a timer, armed by the state).

gpiozero calls button handlers on its own threads and paho calls bus handlers on
its network thread; both only update small state under a lock, publish, or hand
a pattern to the buzzer's thread. The state and core status are read through
their one schema (:mod:`kiosk.bus.state_feed`): a message that fails it is
dropped (counted, logged rate-limited) and the light stays as it was.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk_drivers.gpio.config import GpioConfig
from kiosk_drivers.gpio.devices import BuzzerPlayer, TowerLight, make_factory

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin, login_for
from kiosk.bus.light import Light, help_allowed, light_for, take_card
from kiosk.bus.messages import (
    MAX_STATUS_BYTES,
    MessageError,
    Topics,
    command,
    load_json,
)
from kiosk.bus.rejects import RejectLog
from kiosk.bus.state_feed import subscribe_state_feed
from kiosk.config import load_config_or_exit
from kiosk.ops import sdnotify

if TYPE_CHECKING:
    from gpiozero.pins import Factory

log = logging.getLogger("kiosk.gpio")
SOURCE = "gpio"
KEYS = ("up", "down", "select", "back")
TICK_S = 0.5


def keypad_message(key: str) -> dict:
    if key not in KEYS:
        raise ValueError(f"unknown key {key!r}")
    return {"v": 1, "type": "keypad", "key": key}


def door_command(is_open: bool) -> dict:
    return command("device", source=SOURCE, device="door", ok=not is_open,
                   detail="open" if is_open else "closed")


class GpioService:
    def __init__(self, config: GpioConfig, lane: str, bus: BusLogin,
                 factory: Factory | None = None) -> None:
        self.config = config
        self.lane = lane
        self.topics = Topics(lane)
        self.factory = factory if factory is not None else make_factory(config.pin_factory)
        # our own mock pins (a demo without a Pi): nobody wires a door switch to them
        self._simulated_pins = factory is None and config.pin_factory == "mock"
        self._lock = threading.RLock()
        self.state: dict | None = None
        self.core_online: bool | None = None
        self.door_open = False
        self.light: TowerLight | None = None
        self.buzzer: BuzzerPlayer | None = None
        self._inputs: list[Any] = []
        self._door: Any = None
        self._take_card: threading.Timer | None = None  # the next "take your card" beep
        self.rejects = RejectLog(log)
        self.bus = BusClient(bus, f"kiosk-gpio-{lane}")
        self.bus.subscribe(self.topics.feedback, self._on_feedback)
        subscribe_state_feed(self.bus, self.topics, self.rejects, self._on_state,
                             self._on_core_status)
        self.bus.on_connect(self._report_door)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, wait_s: float | None = 10.0) -> bool:
        from gpiozero import Button

        cfg = self.config
        f = self.factory
        bounce = cfg.bounce_s or None
        self.light = TowerLight(cfg.light, f)
        self.buzzer = BuzzerPlayer(cfg.buzzer, f)
        if cfg.help_button is not None:
            btn = Button(cfg.help_button, pull_up=True, bounce_time=bounce, pin_factory=f)
            btn.when_pressed = self._help_pressed
            self._inputs.append(btn)
        for key, pin in cfg.keypad.pins().items():
            btn = Button(pin, pull_up=True, bounce_time=bounce, pin_factory=f)
            btn.when_pressed = lambda _dev=None, k=key: self._key(k)
            self._inputs.append(btn)
        if cfg.door_switch is not None:
            self._door = Button(cfg.door_switch, pull_up=True, bounce_time=bounce,
                                pin_factory=f)
            self._door.when_pressed = self._door_changed
            self._door.when_released = self._door_changed
            self._inputs.append(self._door)
            if self._simulated_pins:  # a shut door, as a closed reed switch would read
                pin = self.factory.pin(cfg.door_switch)
                pin.drive_low() if cfg.door_open_level == "high" else pin.drive_high()
            self.door_open = self._read_door()
            if self.door_open:
                self.buzzer.set_alarm(True)
        self._refresh()
        return self.bus.start(wait_s=wait_s)

    def stop(self) -> None:
        self.rejects.flush(force=True)
        self.bus.stop()
        self._remind_take_card(False)
        for dev in self._inputs:
            dev.close()
        if self.buzzer:
            self.buzzer.close()
        if self.light:
            self.light.close()

    def run(self, stop: threading.Event, on_ready: Callable[[], None] | None = None,
            on_tick: Callable[[], None] | None = None) -> None:
        """Until ``stop``: ``on_ready`` once the pins are claimed and the bus is connected,
        ``on_tick`` every ``TICK_S`` from this loop (systemd's watchdog ping)."""
        self.start(wait_s=None)
        log.info("kiosk-gpio up: lane %s, light %s", self.lane,
                 self.light.current if self.light else "-")
        ready = False
        try:
            while not stop.wait(TICK_S):
                if not ready and self.bus.connected.is_set():
                    ready = True
                    if on_ready:
                        on_ready()
                if on_tick:
                    on_tick()
                self.rejects.flush()
        finally:
            self.stop()

    # -- bus -------------------------------------------------------------------------------

    def _on_state(self, msg: dict) -> None:
        with self._lock:
            self.state = msg
            self._refresh()

    def _on_core_status(self, status: dict) -> None:
        online = status["online"]
        with self._lock:
            came_up = online and self.core_online is not True
            self.core_online = online
            self._refresh()
        if came_up:
            self._report_door()

    def _on_feedback(self, topic: str, payload: bytes) -> None:
        try:
            msg = load_json(payload, MAX_STATUS_BYTES)
        except MessageError as exc:
            self.rejects.reject(topic, exc.code, str(exc))
            return
        kind = msg.get("kind") if isinstance(msg, dict) else None
        if kind in ("good_read", "bad_read") and self.buzzer is not None:
            self.buzzer.play(kind)
        if kind == "good_read" and self.light is not None:
            self.light.flash("green")

    # -- inputs ------------------------------------------------------------------------------

    def _help_pressed(self, _dev: object = None) -> None:
        with self._lock:
            allowed = help_allowed(self.state)
            name = self.state.get("state") if self.state else None
        if not allowed:
            log.info("help button in state %s: not sent", name)
            return
        self.bus.publish(self.topics.command_from(SOURCE), command("help", source=SOURCE))
        log.info("help button: help requested")

    def _read_door(self) -> bool:
        pressed = bool(self._door.is_pressed)  # the pin reads low
        return pressed if self.config.door_open_level == "low" else not pressed

    def _door_changed(self, _dev: object = None) -> None:
        with self._lock:
            now_open = self._read_door()
            if now_open == self.door_open:
                return
            self.door_open = now_open
            if self.buzzer:
                self.buzzer.set_alarm(now_open)
            self._refresh()
            log.warning("cabinet door %s", "open" if now_open else "closed")
            self._report_door()

    def _report_door(self) -> None:
        # under the lock: reports leave in the order the door moved
        with self._lock:
            if self._door is None or not self.bus.connected.is_set():
                return
            self.bus.publish(self.topics.command_from(SOURCE), door_command(self.door_open))

    def _key(self, key: str) -> None:
        self.bus.publish(self.topics.keypad, keypad_message(key), qos=0)

    # -- outputs ------------------------------------------------------------------------------

    def current_light(self) -> Light:
        with self._lock:
            return light_for(self.state, self.core_online, self.door_open)

    def _refresh(self) -> None:
        with self._lock:
            light = light_for(self.state, self.core_online, self.door_open)
            if self.light is not None and self.light.show(light):
                log.info("tower light: %s", light)
            self._remind_take_card(take_card(self.state) and self.core_online is True)

    def _remind_take_card(self, on: bool, first: bool = True) -> None:
        """Arm (or cancel) the next "take your card" beep."""
        with self._lock:
            if not on:
                if self._take_card is not None:
                    self._take_card.cancel()
                    self._take_card = None
                return
            if self._take_card is not None and first:
                return  # already reminding
            cfg = self.config.buzzer
            delay = cfg.take_card_after_s if first else cfg.take_card_every_s
            self._take_card = threading.Timer(delay, self._take_card_beep)
            self._take_card.daemon = True
            self._take_card.start()

    def _take_card_beep(self) -> None:
        with self._lock:
            if self._take_card is not threading.current_thread():
                return  # taken (or re-armed) meanwhile
            if self.buzzer is not None:
                self.buzzer.play("take_card")
            self._remind_take_card(True, first=False)


def gpio_main(args: object = None) -> int:
    """``kiosk gpio``: run the GPIO service until SIGTERM / SIGINT."""
    config = load_config_or_exit()
    gpio = config.gpio
    stop = sdnotify.stop_on_signals()
    try:
        service = GpioService(gpio, config.store.lane_id,
                              login_for(config.bus, "kiosk-gpio", config.security.production))
    except Exception as exc:  # no lgpio off the Pi, no access to /dev/gpiochip*, ...
        print(f"gpio: pin factory {gpio.pin_factory!r} unavailable: {type(exc).__name__}:"
              f" {exc} (off a Pi set gpio.pin_factory = \"mock\")", file=sys.stderr)
        return 2
    watchdog = sdnotify.Watchdog()
    service.run(stop, on_ready=lambda: sdnotify.ready("pins claimed, bus connected"),
                on_tick=watchdog.tick)
    return 0
