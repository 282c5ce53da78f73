"""Keyboard-wedge backend: key events (evdev codes) to codes, device discovery.

There is no /dev/uinput in the test sandbox, so grabbing a real device is not exercised
here; the events are evdev's own InputEvent objects with evdev's key codes.
"""

from __future__ import annotations

import threading

import pytest

evdev = pytest.importorskip("evdev")
from evdev import InputEvent, ecodes  # noqa: E402
from kiosk_drivers.scanner.config import WedgeConfig  # noqa: E402
from kiosk_drivers.scanner.wedge import KeyDecoder, find_device, run_wedge  # noqa: E402

SHIFTED = {'"': "'", "~": "`", "|": "\\", "_": "-", "+": "=", "{": "[", "}": "]", ":": ";",
           "<": ",", ">": ".", "?": "/", "!": "1", "@": "2", "#": "3", "$": "4", "%": "5",
           "^": "6", "&": "7", "*": "8", "(": "9", ")": "0"}
NAMED = {"-": "MINUS", "=": "EQUAL", "[": "LEFTBRACE", "]": "RIGHTBRACE", ";": "SEMICOLON",
         "'": "APOSTROPHE", "`": "GRAVE", "\\": "BACKSLASH", ",": "COMMA", ".": "DOT",
         "/": "SLASH", " ": "SPACE"}


def typed(text: str, t0: float = 100.0, gap: float = 0.005) -> list[InputEvent]:
    """Key events a wedge scanner sends for ``text`` + Enter."""
    events, t = [], t0

    def ev(code: int, value: int) -> None:
        nonlocal t
        sec = int(t)
        events.append(InputEvent(sec, int((t - sec) * 1e6), ecodes.EV_KEY, code, value))
        t += gap

    for ch in text:
        shift = ch.isupper() or ch in SHIFTED
        base = SHIFTED.get(ch, ch.lower())
        code = getattr(ecodes, "KEY_" + NAMED.get(base, base.upper()))
        if shift:
            ev(ecodes.KEY_LEFTSHIFT, 1)
        ev(code, 1)
        ev(code, 0)
        if shift:
            ev(ecodes.KEY_LEFTSHIFT, 0)
    ev(ecodes.KEY_ENTER, 1)
    ev(ecodes.KEY_ENTER, 0)
    return events


def feed(dec: KeyDecoder, events: list[InputEvent]) -> list[str]:
    out = []
    for e in events:
        if e.type == ecodes.EV_KEY and (text := dec.feed(e.code, e.value, e.timestamp())):
            out.append(text)
    return out


@pytest.mark.parametrize("text", ["8801043444279", "STAFF:S100-7731", "COUPON:SAVE5-000173",
                                  "https://qr.alipay.com/bax08431wkl2x9ypztd9",
                                  "A-z_0 ~!@#$%^&*()+{}|:\"<>?"])
def test_typed_codes_come_back(text):
    assert feed(KeyDecoder(), typed(text)) == [text]


def test_keypad_digits_and_consecutive_codes():
    dec = KeyDecoder()
    events = []
    for d in "40045467":
        code = getattr(ecodes, f"KEY_KP{d}")
        events += [InputEvent(1, 0, ecodes.EV_KEY, code, 1), InputEvent(1, 0, ecodes.EV_KEY,
                                                                          code, 0)]
    events.append(InputEvent(1, 0, ecodes.EV_KEY, ecodes.KEY_KPENTER, 1))
    assert feed(dec, events + typed("070666928444", t0=2.0)) == ["40045467", "070666928444"]


def test_a_pause_mid_code_drops_the_partial_text():
    dec = KeyDecoder(key_timeout_s=0.25)
    first = typed("12345", t0=10.0)[:-2]  # no Enter: the scanner was unplugged mid-code
    assert feed(dec, first + typed("8801043444279", t0=11.0)) == ["8801043444279"]
    assert dec.dropped == 1


def test_an_overlong_code_is_dropped_whole():
    dec = KeyDecoder(max_len=16)
    assert feed(dec, typed("9" * 40) + typed("40045467", t0=200.0)) == ["40045467"]
    assert dec.dropped == 1


def test_key_repeat_and_key_up_do_not_type():
    dec = KeyDecoder()
    events = [InputEvent(1, 0, ecodes.EV_KEY, ecodes.KEY_7, 1),
              InputEvent(1, 0, ecodes.EV_KEY, ecodes.KEY_7, 2),
              InputEvent(1, 0, ecodes.EV_KEY, ecodes.KEY_7, 0),
              InputEvent(1, 0, ecodes.EV_KEY, ecodes.KEY_ENTER, 1)]
    assert feed(dec, events) == ["7"]


def test_no_device_configured_or_found():
    with pytest.raises(FileNotFoundError):
        find_device(WedgeConfig(name_contains="no such scanner 0000"))
    assert find_device(WedgeConfig(device="/dev/input/event7")) == "/dev/input/event7"


def test_run_wedge_retries_a_missing_device_until_stopped():
    stop = threading.Event()
    got: list[str] = []
    t = threading.Thread(target=run_wedge, args=(
        WedgeConfig(device="/nonexistent/event0"), lambda c, _t: got.append(c), stop, 0.05))
    t.start()
    stop.wait(0.3)
    stop.set()
    t.join(5)
    assert not t.is_alive() and got == []
