"""The Kivy app: wires the bus bridge, the screens, the header and the overlays.

It keeps only view state: the last state message, whether the core is online,
the language chosen while the core is down, and the PIN digits being typed.
Every update arrives from the bus thread through Kivy's Clock; each one
rebuilds the view model and hands it to the header, the current screen and the
overlays. Screens are built the first time they are needed.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.metrics import Metrics
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.bus.credentials import BusLogin
from kiosk.catalog import picture_index, pictures_dir
from kiosk.domain.search import prepare
from kiosk.ops import sdnotify
from kiosk.security.pinseal import staff_pin_command
from kiosk.ui import theme
from kiosk.ui.bridge import BusBridge
from kiosk.ui.fonts import Resolved
from kiosk.ui.i18n import Translator
from kiosk.ui.picker import PickerPage
from kiosk.ui.picker_art import tile_pictures
from kiosk.ui.picker_view import loose_items
from kiosk.ui.screens import PAGES, Header, IdleOverlay, Page
from kiosk.ui.shots import ShotWriter, grab, read_frame, when_settled
from kiosk.ui.viewmodel import IDLE_STATES, View, build_view, currency_of, rejection_text
from kiosk.ui.widgets import Toast, register_fonts

log = logging.getLogger(__name__)
#: touches closer together than this send one "touch" (idle reset) command
TOUCH_EVERY_S = 5.0
#: with no word from the bus for this long after start, show "out of service"
CONNECT_GRACE_S = 3.0
#: frame rate while nothing moves, and after a touch or a state change
IDLE_FPS, ACTIVE_FPS, ACTIVE_FOR_S = 12.0, 60.0, 2.0


@dataclass(frozen=True)
class UISettings:
    bus: BusLogin
    lane: str
    store_name: str
    catalog_path: Path
    fonts: dict[str, Resolved]
    demo: bool
    kiosk_size: tuple[int, int]
    screenshots: Path | None = None
    default_locale: str = "en"
    locales: tuple[str, ...] = ("en",)
    # given by the composition root (kiosk.cli), so the UI never imports kiosk.sim:
    # the demo's sample-item panel, and hooks started with the app (the test control channel)
    demo_panel: Callable[..., Any] | None = None
    on_start: tuple[Callable[[Any], Any], ...] = ()
    art_dir: Path | None = None   # the picker's emoji drawn to PNG (in the UI's state folder)


def _trim_heap() -> None:
    """Give freed heap pages back to the system (glibc keeps them otherwise)."""

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class KioskApp(App):
    title = "Self-checkout"

    def __init__(self, settings: UISettings, started_at: float, **kw: Any) -> None:
        super().__init__(**kw)
        self.settings = settings
        self.started_at = started_at
        self.msg: dict | None = None
        self.received_at = time.monotonic()
        self.online: bool | None = None
        self.local_locale: str | None = None
        self.view: View | None = None
        self.voice_locales: tuple[str, ...] | None = None  # kiosk-voice's, once it said
        self.pages: dict[str, Page] = {}
        self.pictures: dict[str, Path] = {}
        # the produce picker (kiosk/ui/picker.py): a view of the UI's own over "shopping"
        self.picking = False
        self._picker_line: int | None = None   # the last line when the picker opened
        self.loose: list = []                        # (Item, price) of the loose items
        self.tile_pictures: dict[str, Path | None] = {}
        # read on a thread once the first shopper starts (not at every start: most starts
        # never open the picker before a shopper does); None: not asked for yet
        self._picker_data: threading.Thread | None = None
        self._picker_ready = False
        self._picker_wanted = False   # "Look up item" tapped before its items were read
        self.scale_msg: dict | None = None           # kiosk-scale's last produce reading
        self.shots = ShotWriter()
        self.first_frame_at: float | None = None
        self._last_touch_sent = 0.0
        self._active_until = 0.0
        self._shot_wait: Callable[[], None] | None = None   # cancels the wait to settle
        self._shot_due: str | None = None    # the step whose frame the next flip saves
        self._shot_last: tuple | None = None
        self._shot_count = 0
        self._sleep_trigger = Clock.create_trigger(self._maybe_sleep, ACTIVE_FOR_S)

    # -- building ------------------------------------------------------------------------

    def build(self) -> BoxLayout:
        w, h = self.settings.kiosk_size
        theme.configure(w, h, Metrics.dpi)
        register_fonts(self.settings.fonts)
        # the products' pictures, read once here (the basket screen's last-scanned panel)
        self.pictures = picture_index(pictures_dir(self.settings.catalog_path))
        root = BoxLayout(orientation="vertical")
        self.kiosk_area = FloatLayout(size_hint=(1, None), height=h)
        column = BoxLayout(orientation="vertical", pos_hint={"x": 0, "y": 0})
        self.header = Header(self, self.settings.store_name)
        self.sm = ScreenManager(transition=NoTransition())
        column.add_widget(self.header)
        column.add_widget(self.sm)
        self.kiosk_area.add_widget(column)
        # the idle warning covers the screen below the header: language and help stay usable
        self.idle = IdleOverlay(pos_hint={"x": 0, "y": 0}, size_hint=(1, None),
                                height=h - self.header.height)
        self.toast = Toast(pos_hint={"center_x": 0.5, "y": 0.04})
        self.toast.width = theme.px(900)
        self.kiosk_area.add_widget(self.toast)
        root.add_widget(self.kiosk_area)
        self.demo = None
        if self.settings.demo and self.settings.demo_panel is not None:
            self.demo = self.settings.demo_panel(self.send, self.settings.catalog_path, self.post)
            root.add_widget(self.demo)
        self.bridge = BusBridge(self.settings.bus, self.settings.lane, self.post, self._on_state,
                                self._on_online, self._on_result,
                                on_voice=self._on_voice, on_scale=self._on_scale)
        Window.bind(on_touch_down=self._on_any_touch, on_flip=self._on_flip)
        Window.clearcolor = theme.BG
        self.refresh()
        return root

    def on_start(self) -> None:
        threading.Thread(target=self._warm_up, name="ui-warm-up", daemon=True).start()
        self.bridge.start()
        Clock.schedule_once(self._grace, CONNECT_GRACE_S)
        Clock.schedule_interval(self._watch, 1.0)

        # systemd's watchdog is fed from the Kivy Clock, i.e. only while frames are drawn
        self._watchdog = sdnotify.Watchdog()
        if self._watchdog.enabled:
            Clock.schedule_interval(self._feed_watchdog,
                                    min(1.0, (self._watchdog.interval_s or 2.0) / 2))
        self.extras = [start(self) for start in self.settings.on_start]

    def _feed_watchdog(self, _dt: float) -> None:
        # returns None on purpose: a Kivy interval whose callback returns False is
        # unscheduled, and tick() is False whenever a ping is not due yet
        self._watchdog.tick()

    def _warm_up(self) -> None:
        """Read every language's catalog and Babel locale data now, off the frame loop,
        so a language switch later does no file I/O on the UI thread."""
        try:
            for locale in self.settings.locales:
                t = Translator(locale)
                t.money(0), t.kg(1), t.datetime(time.time())
        except Exception:
            log.exception("warming up the translations failed")

    def _read_picker_data(self) -> None:
        """Start reading the picker's items and their tiles' pictures on a thread (once)."""
        if self._picker_data is None:
            self._picker_data = threading.Thread(target=self._picker_data_now,
                                                 name="ui-picker-data", daemon=True)
            self._picker_data.start()

    def _picker_data_now(self) -> None:
        """The loose items, their pinyin read (not on a key press) and their tiles' pictures
        (emoji drawn to PNG once into the UI's state folder): blocking I/O, off the frame loop."""
        loose: list = []
        art: dict[str, Path | None] = {}
        try:
            loose = loose_items(self.settings.catalog_path)
            prepare([item for item, _price in loose])
            folder = self.settings.art_dir or Path(tempfile.gettempdir()) / "kiosk-picker"
            art = tile_pictures([(i.key, i.names) for i, _p in loose], self.pictures, folder)
        except Exception:
            log.exception("reading the loose items for the picker failed")
        self.post(lambda: self._on_loose(loose, art))

    def on_stop(self) -> None:
        self.bridge.stop()

    def post(self, fn) -> None:
        """Run ``fn`` on the UI thread (callable from any thread)."""
        Clock.schedule_once(lambda _dt: fn(), 0)

    def _on_flip(self, *_a) -> None:
        if self._shot_due is not None:
            self._save_frame(self._shot_due)
            self._shot_due = None
        if self.first_frame_at is None:
            self.first_frame_at = time.time()
            log.info("first frame %.3f s after process start", self.first_frame_at -
                     self.started_at)
            self._bench_note("first_frame_at", self.first_frame_at)

            sdnotify.ready("first frame drawn")  # kiosk-ui.service is Type=notify

    # -- bus updates (UI thread) --------------------------------------------------------

    def _bench_note(self, key: str, value: float) -> None:
        """``kiosk bench ui`` reads start-up times from a file it names (off the UI thread)."""
        path = os.environ.get("KIOSK_UI_BENCH_FILE")
        if path:
            def write() -> None:
                with open(path, "a") as fh:
                    fh.write(f"{key} {value!r}\n")

            threading.Thread(target=write, daemon=True).start()

    def _on_state(self, msg: dict) -> None:
        if self.msg is None:
            Clock.schedule_once(lambda _dt: self._bench_note("first_state_frame_at",
                                                             time.time()), 0)
        self.msg = msg
        self.received_at = time.monotonic()
        if self.online is None:
            self.online = True  # a retained state with no status yet: the status follows
        self.refresh()

    def _on_loose(self, loose: list, art: dict) -> None:
        self.loose, self.tile_pictures = loose, art
        self._picker_ready = True
        # the last-scanned panel shows a loose item's emoji too, where it has no photo
        for key, picture in art.items():
            if picture is not None:
                self.pictures.setdefault(key, picture)
        if self._picker_wanted:
            self._picker_wanted = False
            self.open_picker()

    def _on_scale(self, msg: dict) -> None:
        first = self.scale_msg is None   # the lane has a produce scale: the hints say so
        self.scale_msg = msg
        if self.picking or first:
            self.refresh()

    def open_picker(self) -> None:
        """Look up item: the picker over the basket (only while shopping). Its items are
        read off the frame loop; tapped before they are, it opens when they are (the
        basket stays meanwhile: the picker never shows a tile without its picture)."""
        if not self._picker_ready:
            self._picker_wanted = True
            self._read_picker_data()
            return
        if self.view is not None and self.view.screen == "shopping":
            self.picking = True
            self._picker_line = (self.msg or {}).get("last_line_id")
            if "picker" in self.pages:
                self.pages["picker"].reset()
            self.refresh()

    def close_picker(self) -> None:
        if self.picking:
            self.picking = False
            self.refresh()

    def _on_voice(self, locales: tuple[str, ...]) -> None:
        self.voice_locales = locales
        self.refresh()

    def _on_online(self, online: bool) -> None:
        self.online = online
        if online:
            self.local_locale = None
        self.refresh()

    def _on_result(self, result: dict) -> None:
        if result.get("ok") or result.get("kind") == "touch":
            return
        text = rejection_text(result.get("reason", ""), self.translator())
        if not text:
            return
        self.toast.show(text, self.translator().lang)
        self.wake()

    def _grace(self, _dt: float) -> None:
        if self.online is None:
            self.online = False
            self.refresh()

    def _watch(self, _dt: float) -> None:
        """Bus connection lost (broker down) → out of service until it returns."""
        connected = self.bridge.connected
        if not connected and self.online:
            self.online = False
            self.refresh()

    # -- intents -------------------------------------------------------------------------

    def send(self, kind: str, **fields: Any) -> str | None:
        if not self.online:
            return None
        self.wake()
        return self.bridge.send(kind, **fields)

    def send_pin(self, pin: str) -> str | None:
        """Seal a typed staff PIN to kiosk-core's key and send it: the PIN never goes on
        the bus (kiosk/security/pinseal.py). Sealing is a few microseconds of CPU, no I/O."""

        seal = (self.msg or {}).get("staff_seal")
        if not self.online or not isinstance(seal, dict):
            return None
        try:
            msg = staff_pin_command(pin, seal, source="ui")
        except (ValueError, KeyError, TypeError):
            log.warning("the core's staff_seal is unusable: PIN not sent")
            return None
        self.wake()
        return self.bridge.send_command(msg)

    def select_language(self, locale: str) -> None:
        if self.online and self.msg is not None:
            self.send("set_language", locale=locale)
        else:
            self.local_locale = locale
            self.refresh()

    def _on_any_touch(self, _window, _touch) -> None:
        self.wake()
        v = self.view
        if v is None or not v.online or (self.msg or {}).get("state") not in IDLE_STATES:
            return
        now = time.monotonic()
        if v.idle_deadline is not None or now - self._last_touch_sent >= TOUCH_EVERY_S:
            self._last_touch_sent = now
            self.bridge.send("touch")

    # -- rendering -----------------------------------------------------------------------

    def translator(self) -> Translator:
        locale = self.view.locale if self.view else self.settings.default_locale
        return Translator(locale, currency_of(self.msg or {}))

    def page(self, name: str) -> Page:
        if name not in self.pages:
            page = (PickerPage if name == "picker" else PAGES[name])(self, name=name)
            self.pages[name] = page
            self.sm.add_widget(page)
        return self.pages[name]

    def _drop_pages(self, keep: set[str]) -> None:
        """Free screens not shown now (their widgets and textures); rebuilt when needed.

        The basket screen stays: it is the one a shopper returns to most.
        """
        for name in [n for n in self.pages if n not in keep]:
            self.sm.remove_widget(self.pages.pop(name))

    def refresh(self) -> None:
        """Show the current view; a rendering bug shows "out of service", never a crash."""
        try:
            self._refresh()
        except Exception:
            log.exception("rendering the checkout state failed")
            if self.view is None or self.view.screen != "out_of_service":
                self.view = build_view(self.msg, False, None, self.received_at)
                t = Translator(self.view.locale, currency_of(self.msg or {}))
                page = self.page("out_of_service")
                page.render(self.view, t)
                self.sm.current = "out_of_service"

    def _refresh(self) -> None:
        local = self.local_locale if not self.online else None
        if self.online is None and self.msg is None:
            local = self.settings.default_locale
        v = build_view(self.msg, self.online, local, self.received_at, self.voice_locales)
        if v.screen != "shopping" or v.last_line_id != self._picker_line:
            # paying, an alert, the basket gone, or an item added (by a tile, the PLU keypad,
            # voice, the keys or the scanner): the picker closes, the basket shows it
            self.picking = False
        elif self.picking:
            v = replace(v, screen="picker")
        if v.screen == "shopping":
            self._read_picker_data()   # a shopper started: the picker may open soon
        self.view = v
        t = Translator(v.locale, currency_of(self.msg or {}))
        page = self.page(v.screen)
        page.render(v, t)
        if self.sm.current != v.screen:
            self.sm.current = v.screen
            self._drop_pages(keep={v.screen, "shopping"})
        self.header.render(v, t, page.header_title(v, t))
        if v.idle_deadline is not None and (v.screen in IDLE_STATES or v.screen == "picker"):
            if self.idle.parent is None:
                self.kiosk_area.add_widget(self.idle, index=1)
            self.idle.show(v.idle_deadline, t)
        elif self.idle.parent is not None:
            self.idle.hide()
            self.kiosk_area.remove_widget(self.idle)
        if self.demo is not None:
            self.demo.render(t)
        self.wake()
        if self.settings.screenshots is not None:
            self._schedule_shot()

    def wake(self) -> None:
        """Full frame rate for a moment (touch feedback, new state); low when idle."""
        Clock._max_fps = ACTIVE_FPS
        self._active_until = time.monotonic() + ACTIVE_FOR_S
        self._sleep_trigger()

    def _maybe_sleep(self, _dt: float) -> None:
        spinning = any(p.icon._spin_ev is not None for p in self.pages.values()
                       if hasattr(p, "icon"))
        if time.monotonic() < self._active_until or spinning:
            self._sleep_trigger()
        else:
            Clock._max_fps = IDLE_FPS
            _trim_heap()

    # -- screenshots and test support ----------------------------------------------------

    def grab(self, widget) -> tuple[int, int, bytes]:
        return grab(widget)

    def _schedule_shot(self) -> None:
        """``--screenshots DIR``: once the new view has settled, save the frame the window
        shows, one numbered file per step (``003-payment.png``) and ``current.png``. The
        "starting" placeholder before the first state is no step of the checkout."""
        v = self.view
        if v is None or v.screen == "starting":
            return
        step = (v.seq, v.screen, v.locale, v.online)
        if step == self._shot_last:
            return
        if self._shot_wait is not None:
            self._shot_wait()   # a newer step replaces one that never settled on screen
        self._shot_due = None

        def settled() -> None:
            self._shot_wait = None
            self._shot_last = step
            self._shot_count += 1
            self._shot_due = f"{self._shot_count:03d}-{v.screen}.png"
            Window.canvas.ask_update()   # draw a frame, so the flip saves it
            self.wake()

        self._shot_wait = when_settled(self.touch_roots, settled)

    def _save_frame(self, name: str) -> None:
        folder = self.settings.screenshots
        if folder is None:
            return
        frame = read_frame(*Window.size)
        self.shots.write(folder / name, frame, top_down=False)
        self.shots.write(folder / "current.png", frame, top_down=False)

    def touch_roots(self) -> list:
        """Widgets a shopper can see, topmost first (overlays before the screen)."""
        roots: list = [self.toast]
        if self.idle.parent is not None:
            roots += [self.idle, self.header]
        else:
            roots += [self.header, self.sm.current_screen]
        if self.demo is not None:
            roots.append(self.demo)
        return roots

    def status(self) -> dict:
        v = self.view
        return {
            "screen": v.screen if v else None,
            "locale": v.locale if v else None,
            "online": v.online if v else None,
            "seq": (self.msg or {}).get("seq"),
            "state": (self.msg or {}).get("state"),
            "idle_overlay": self.idle.parent is not None,
            "lines": len((self.msg or {}).get("lines", [])),
            "first_frame_s": (self.first_frame_at - self.started_at
                              if self.first_frame_at else None),
            "pid": __import__("os").getpid(),
            "picker": self.pages["picker"].shown() if "picker" in self.pages else None,
            "picker_data": ("read" if self._picker_ready else "not asked"
                            if self._picker_data is None else "reading"),
            "produce_scale": self.scale_msg is not None,
        }
