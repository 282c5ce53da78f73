"""Shopper UI (``kiosk ui``): a Kivy view of the checkout state on the bus.

The package is split so that only what draws imports Kivy:

* :mod:`kiosk.ui.bridge`    bus client: state in (off the frame loop), intents out
* :mod:`kiosk.ui.viewmodel` state message → translated, formatted view (pure)
* :mod:`kiosk.ui.i18n`      gettext catalogs, endonyms, Babel formatting
* :mod:`kiosk.ui.fonts`     font candidates, measured coverage, per-locale faces
* :mod:`kiosk.ui.theme`     colours and sizes
* :mod:`kiosk.ui.picker` (Kivy), :mod:`kiosk.ui.picker_view`, :mod:`kiosk.ui.picker_art`
                            the produce picker ("Look up item"), its texts, its tiles' pictures
* :mod:`kiosk.ui.widgets`, :mod:`kiosk.ui.screens`,
  :mod:`kiosk.ui.app`       the Kivy side
* the demo's sample-item panel and the test-only control channel live in :mod:`kiosk.sim`
  (``ui_demo_panel``, ``ui_testctl``) and are handed in by :mod:`kiosk.cli`

:func:`run_ui` prepares the environment Kivy reads at import (a writable
``KIVY_HOME`` in the state folder, no argument parsing, Python logging, the
interruptible clock), chooses the fonts, configures the window, then runs.
"""

from __future__ import annotations

import logging
import os
import time
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import KioskConfig
    from kiosk.ui.fonts import Resolved

log = logging.getLogger(__name__)


def ui_state_dir(state_dir: Path) -> Path:
    """A writable folder for the UI (Kivy's home, font cache): in the state dir if possible."""
    from kiosk.config import writable_dir

    found = writable_dir(state_dir / "ui", Path.home() / ".local" / "state" / "kiosk" / "ui")
    if found is not None:
        return found
    raise SystemExit(f"no writable folder for the UI under {state_dir} or ~/.local/state")


def keep_one_input_provider(config) -> None:
    """Leave exactly one Kivy input provider: SDL's mouse events, single touch.

    SDL (X11 or KMS/DRM) already turns a touchscreen's touches into mouse events; Kivy's
    Linux default adds ``%(name)s = probesysfs``, which opens the same touchscreen again
    through mtdev, and every tap then counts twice."""
    for option in config.options("input"):
        config.remove_option("input", option)
    config.set("input", "mouse", "mouse,disable_multitouch")


def resolve_fonts(config: KioskConfig, cache: Path) -> dict[str, Resolved]:
    """The UI's face per language, chosen once and remembered in ``cache``
    (:func:`kiosk.ui.fonts.resolve`, keyed by the locales, the currency and the gettext
    catalogs the shopper's strings come from)."""
    from kiosk.i18n import catalog_path
    from kiosk.ui import fonts
    from kiosk.ui.fontcheck import font_texts

    inputs = [*config.store.locales, config.currency.code]
    for locale in config.store.locales:
        path = catalog_path(locale)
        if path.exists():
            st = path.stat()
            inputs.append(f"{path}:{st.st_size}:{st.st_mtime}")
    return fonts.resolve(lambda: font_texts(config.store.locales, config.currency.code),
                         inputs, cache)


def run_ui(args: Namespace, demo_panel: Callable[..., Any] | None = None,
           on_start: tuple[Callable[[Any], Any], ...] = ()) -> int:
    """Start the shopper UI (blocks until the window closes).

    ``demo_panel`` and ``on_start`` come from the composition root (kiosk.cli): the demo's
    sample-item panel and the test control channel live in kiosk.sim."""
    started = float(os.environ.get("KIOSK_UI_T0", time.time()))
    from kiosk.bus.credentials import login_for
    from kiosk.config import load_config

    config = load_config()
    bus = login_for(config.bus, "kiosk-ui", config.security.production)
    home = ui_state_dir(config.paths.state_dir)
    os.environ["KIVY_HOME"] = str(home / "kivy")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONFIG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_CLOCK", "interrupt")
    # pick the SDL2 providers directly: no probing (the xclip/xsel probes spawn processes)
    for option in ("WINDOW", "TEXT", "CLIPBOARD", "IMAGE"):
        os.environ.setdefault(f"KIVY_{option}", "sdl2")

    faces = resolve_fonts(config, home / "fonts")
    width, height = (int(v) for v in args.size.lower().split("x"))
    demo = (config.devices.scanner == "sim") if args.demo is None else args.demo
    from kiosk.ui.theme import DEMO_H, DESIGN_H

    demo_h = round(DEMO_H * height / DESIGN_H) if demo else 0

    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("kivy", "window_icon", "")
    keep_one_input_provider(Config)
    Config.set("graphics", "maxfps", "60")
    Config.set("graphics", "multisamples", "0")  # smooth shapes instead; ~30 MB less
    Config.set("graphics", "resizable", "0")
    if args.windowed:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", "0")
        Config.set("graphics", "top", "0")
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height + demo_h))
    else:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "1" if demo else "0")

    from kivy.core.window import Window

    from kiosk.ui.app import KioskApp, UISettings

    if not args.windowed:
        width, height = Window.width, Window.height - demo_h
    settings = UISettings(
        bus=bus, lane=config.store.lane_id,
        store_name=config.store.name, catalog_path=config.catalog_path, fonts=faces,
        demo=demo, kiosk_size=(width, height),
        screenshots=Path(args.screenshots) if args.screenshots else None,
        default_locale=config.store.default_locale, locales=tuple(config.store.locales),
        demo_panel=demo_panel, on_start=on_start, art_dir=home / "picker")
    KioskApp(settings, started).run()
    return 0
