"""Keyboard-wedge backend: a USB HID barcode scanner read through evdev.

The scanner types each code as key presses ending in Enter. The device is *grabbed*
(EVIOCGRAB), so those keystrokes reach only this service, never the UI or a console.
:class:`KeyDecoder` turns key events into texts (US layout, Shift, keypad digits; a
pause longer than ``key_timeout_s`` mid-code or an over-long code drops the partial
text); :func:`run_wedge` finds and grabs the device, reconnects after an unplug, and
calls back with each code. HID scanners check the symbology's checksum themselves and
have their own same-code delay, so wedge reads skip the camera's confirmation and
de-duplication, but are classified and published the same way.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable

from kiosk_drivers.scanner.config import WedgeConfig

log = logging.getLogger(__name__)

_PLAIN = "1234567890-=qwertyuiop[]asdfghjkl;'`\\zxcvbnm,./ "
_SHIFT = "!@#$%^&*()_+QWERTYUIOP{}ASDFGHJKL:\"~|ZXCVBNM<>? "
_KEYS = ["KEY_1", "KEY_2", "KEY_3", "KEY_4", "KEY_5", "KEY_6", "KEY_7", "KEY_8", "KEY_9",
         "KEY_0", "KEY_MINUS", "KEY_EQUAL", "KEY_Q", "KEY_W", "KEY_E", "KEY_R", "KEY_T",
         "KEY_Y", "KEY_U", "KEY_I", "KEY_O", "KEY_P", "KEY_LEFTBRACE", "KEY_RIGHTBRACE",
         "KEY_A", "KEY_S", "KEY_D", "KEY_F", "KEY_G", "KEY_H", "KEY_J", "KEY_K", "KEY_L",
         "KEY_SEMICOLON", "KEY_APOSTROPHE", "KEY_GRAVE", "KEY_BACKSLASH", "KEY_Z", "KEY_X",
         "KEY_C", "KEY_V", "KEY_B", "KEY_N", "KEY_M", "KEY_COMMA", "KEY_DOT", "KEY_SLASH",
         "KEY_SPACE"]
_KEYPAD = {"KEY_KP0": "0", "KEY_KP1": "1", "KEY_KP2": "2", "KEY_KP3": "3", "KEY_KP4": "4",
           "KEY_KP5": "5", "KEY_KP6": "6", "KEY_KP7": "7", "KEY_KP8": "8", "KEY_KP9": "9",
           "KEY_KPMINUS": "-", "KEY_KPPLUS": "+", "KEY_KPDOT": ".", "KEY_KPSLASH": "/",
           "KEY_KPASTERISK": "*"}


class KeyDecoder:
    """Key events (code, value: 1 down / 0 up / 2 repeat, time) → complete codes."""

    def __init__(self, max_len: int = 64, key_timeout_s: float = 0.25) -> None:
        from evdev import ecodes

        self.max_len, self.key_timeout_s = max_len, key_timeout_s
        self._plain = {getattr(ecodes, k): c for k, c in zip(_KEYS, _PLAIN, strict=True)}
        self._shift = {getattr(ecodes, k): c for k, c in zip(_KEYS, _SHIFT, strict=True)}
        self._plain.update({getattr(ecodes, k): c for k, c in _KEYPAD.items()})
        self._shift_keys = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
        self._enter = {ecodes.KEY_ENTER, ecodes.KEY_KPENTER, ecodes.KEY_TAB}
        self._buf: list[str] = []
        self._shifted = 0
        self._last_t = 0.0
        self._overflow = False
        self.dropped = 0  # partial or over-long codes thrown away

    def feed(self, code: int, value: int, t: float) -> str | None:
        """Feed one EV_KEY event; returns a complete code on Enter, else None."""
        if code in self._shift_keys:
            self._shifted = max(0, self._shifted + (1 if value == 1 else -1 if value == 0 else 0))
            return None
        if value != 1:  # key up, autorepeat
            return None
        if self._buf and t - self._last_t > self.key_timeout_s:
            self._drop()
        self._last_t = t
        if code in self._enter:
            text, overflow = "".join(self._buf), self._overflow
            self._buf, self._overflow = [], False
            if overflow:
                self.dropped += 1
                return None
            return text or None
        ch = (self._shift if self._shifted else self._plain).get(code)
        if ch is None:
            return None
        if len(self._buf) >= self.max_len:
            self._overflow = True
            return None
        self._buf.append(ch)
        return None

    def _drop(self) -> None:
        self._buf, self._overflow = [], False
        self.dropped += 1


def find_device(cfg: WedgeConfig) -> str:
    """The input device path: ``device`` if set, else the first whose name matches."""
    if cfg.device:
        return cfg.device
    import evdev

    for path in evdev.list_devices():
        try:
            dev = evdev.InputDevice(path)
        except OSError:
            continue
        name = dev.name
        dev.close()
        if cfg.name_contains and cfg.name_contains.lower() in name.lower():
            return path
    raise FileNotFoundError(
        f"no input device named like {cfg.name_contains!r}" if cfg.name_contains
        else "no wedge device configured ([scanner.wedge] device or name_contains)")


def run_wedge(cfg: WedgeConfig, on_code: Callable[[str, float], None],
              stop: threading.Event, reopen_s: float = 2.0,
              on_device: Callable[[str | None], None] | None = None,
              on_tick: Callable[[], None] | None = None, tick_s: float = 0.2) -> KeyDecoder:
    """Read codes from the grabbed device until ``stop``; reconnects after an unplug.

    ``on_device(path)`` once the device is open (and grabbed), ``on_device(None)`` when it
    is lost; ``on_tick()`` at least every ``tick_s`` from this loop, waits included (the
    caller's watchdog ping).
    """
    import evdev
    from evdev import ecodes

    tick = on_tick or (lambda: None)

    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            stop.wait(min(left, tick_s))
            tick()

    decoder = KeyDecoder(cfg.max_len, cfg.key_timeout_s)
    while not stop.is_set():
        tick()
        try:
            path = find_device(cfg)
            dev = evdev.InputDevice(path)
        except (OSError, FileNotFoundError) as exc:
            log.warning("wedge scanner: %s; retrying in %.0f s", exc, reopen_s)
            wait(reopen_s)
            continue
        log.info("wedge scanner: %s (%s)%s", path, dev.name, ", grabbed" if cfg.grab else "")
        try:
            if cfg.grab:
                dev.grab()
            if on_device:
                on_device(path)
            while not stop.is_set():
                tick()
                ready, _, _ = select.select([dev.fd], [], [], min(0.2, tick_s))
                if not ready:
                    continue
                for event in dev.read():
                    if event.type != ecodes.EV_KEY:
                        continue
                    text = decoder.feed(event.code, event.value, event.timestamp())
                    if text:
                        on_code(text, time.perf_counter())
        except OSError as exc:
            log.warning("wedge scanner %s lost: %s", path, exc)
        finally:
            try:
                if cfg.grab:
                    dev.ungrab()
            except OSError:
                pass
            dev.close()
            if on_device:
                on_device(None)
        wait(reopen_s)
    return decoder
