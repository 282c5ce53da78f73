"""Test control channel: lets a test drive the real UI process through its own event loop.

Only active when ``KIOSK_UI_TESTCTL`` names a Unix socket path (the UI tests
set it; production never does). A thread accepts JSON-lines requests; each is
carried out on the UI thread via Kivy's Clock and answered with one JSON line.

Operations: ``status`` (screen, locale, state seq, online), ``tap`` (a widget by
its ``tid``: a real touch down/up dispatched through Kivy's event loop at the
widget's centre), ``type`` (text into a text field), ``texts`` (every visible
text with its font and whether it overflows its box), ``tappables`` (tids and
sizes), ``screenshot`` (PNG of the kiosk area or the whole window, once layout has
settled), ``hold`` / ``release`` (keep a transient screen up until photographed),
``fonts`` (font faces in use, for memory work).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kiosk.ui.shots import when_settled

log = logging.getLogger(__name__)
ENV = "KIOSK_UI_TESTCTL"


def _visible(widget) -> Iterator:
    """Widgets that are on screen: walk the tree, skipping transparent or detached parts."""
    if getattr(widget, "opacity", 1) == 0:
        return
    yield widget
    for child in reversed(widget.children):
        yield from _visible(child)


def _on_screen(widget, window) -> bool:
    x, y = widget.to_window(*widget.center)
    return 0 <= x <= window.width and 0 <= y <= window.height


class _Touch:
    """A touch for Kivy's event loop, like the ones SDL2 input creates."""

    @staticmethod
    def make(x: float, y: float, window) -> object:
        from kivy.input.motionevent import MotionEvent

        class TestTouch(MotionEvent):
            def depack(self, args) -> None:
                self.is_touch = True
                self.sx, self.sy = args
                super().depack(args)

        sx = x / max(1, window.width - 1)
        sy = y / max(1, window.height - 1)
        return TestTouch("testctl", id(object()), (sx, sy), is_touch=True, type_id="touch")


class TestControl:
    def __init__(self, app, path: str) -> None:
        self.app = app
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        threading.Thread(target=self._serve, name="ui-testctl", daemon=True).start()
        log.warning("test control listening on %s (tests only)", path)

    # -- socket thread -----------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as fh:
            for line in fh:
                try:
                    req = json.loads(line)
                except ValueError:
                    continue
                reply = self._on_ui_thread(req)
                fh.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                fh.flush()

    def _on_ui_thread(self, req: dict) -> dict:
        from kivy.clock import Clock

        done = threading.Event()
        box: dict[str, Any] = {}

        def reply(value: dict) -> None:
            box["reply"] = value
            done.set()

        def run(_dt: float) -> None:
            try:
                getattr(self, "op_" + req.get("op", ""))(req, reply)
            except Exception as exc:  # report to the test instead of killing the UI
                log.exception("test control op failed")
                reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})

        Clock.schedule_once(run, 0)
        if not done.wait(30):
            return {"ok": False, "error": "UI thread did not answer in 30 s"}
        return box["reply"]

    # -- UI thread ---------------------------------------------------------------------

    def _find(self, tid: str):
        from kivy.core.window import Window

        for root in self.app.touch_roots():
            for w in _visible(root):
                if getattr(w, "tid", "") == tid:
                    return w
        # a tile scrolled out of view: it can be scrolled in, then touched
        from kivy.uix.scrollview import ScrollView

        for root in self.app.touch_roots():
            for scroller in _visible(root):
                if isinstance(scroller, ScrollView):
                    for w in scroller.walk():
                        if getattr(w, "tid", "") == tid and w.get_root_window() is Window:
                            return w
        return None

    def op_status(self, req: dict, reply: Callable[[dict], None]) -> None:
        reply({"ok": True, **self.app.status()})

    def op_tap(self, req: dict, reply: Callable[[dict], None]) -> None:
        from kivy.base import EventLoop
        from kivy.clock import Clock
        from kivy.core.window import Window
        from kivy.uix.scrollview import ScrollView

        widget = self._find(req["tid"])
        if widget is None:
            reply({"ok": False, "error": f"no visible widget {req['tid']!r}"})
            return
        if widget.disabled:
            reply({"ok": False, "error": f"{req['tid']!r} is disabled"})
            return
        parent = widget.parent
        while parent is not None and not isinstance(parent, ScrollView):
            parent = parent.parent if parent.parent is not parent else None
        if parent is not None:
            parent.scroll_to(widget, animate=False)
            parent._update_effect_bounds()

        def guarded(fn: Callable[[float], None]) -> Callable[[float], None]:
            def run(dt: float) -> None:
                try:
                    fn(dt)
                except Exception as exc:
                    log.exception("tap failed")
                    reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
            return run

        def press(_dt: float) -> None:
            x, y = widget.to_window(*widget.center)
            if not _on_screen(widget, Window):
                reply({"ok": False, "error": f"{req['tid']!r} is off screen"})
                return
            touch = _Touch.make(x, y, Window)
            EventLoop._dispatch_input("begin", touch)

            def release(_dt2: float) -> None:
                touch.move((touch.sx, touch.sy))
                EventLoop._dispatch_input("end", touch)
                Clock.schedule_once(lambda _d: reply({"ok": True}), 0)

            Clock.schedule_once(guarded(release), 0.05)

        Clock.schedule_once(guarded(press), 0)

    def op_type(self, req: dict, reply: Callable[[dict], None]) -> None:
        widget = self._find(req["tid"])
        if widget is None:
            reply({"ok": False, "error": f"no text field {req['tid']!r}"})
            return
        widget.text = ""
        widget.insert_text(req["text"])
        if req.get("enter"):
            widget.dispatch("on_text_validate")
        reply({"ok": True})

    def op_texts(self, req: dict, reply: Callable[[dict], None]) -> None:
        self._settled(lambda: self._texts(reply))

    def _texts(self, reply: Callable[[dict], None]) -> None:
        from kivy.uix.label import Label

        out = []
        for root in self.app.touch_roots():
            for w in _visible(root):
                if isinstance(w, Label) and w.text.strip():
                    out.append({"text": w.text, "font": w.font_name, "bold": w.bold,
                                "tid": getattr(w, "tid", ""),
                                "overflow": bool(getattr(w, "overflows", lambda: False)()),
                                "size": [w.width, w.height],
                                "texture": list(w.texture_size)})
        reply({"ok": True, "texts": out, "spills": self._spills()})

    def _spills(self) -> list[dict]:
        """Texts and drawn icons a box layout could not fit: drawn past their box's edge
        (over whatever is next to it), as an overfull column does. The shopper's screen
        only (not the demo's panel)."""
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.label import Label

        from kiosk.ui.widgets import Icon

        out = []
        for root in [r for r in self.app.touch_roots() if r is not self.app.demo]:
            for w in _visible(root):
                box = w.parent
                if not isinstance(w, Label | Icon) or not isinstance(box, BoxLayout):
                    continue
                if w.width <= 0 or w.height <= 0:
                    continue
                over = max(box.x - w.x, box.y - w.y, w.right - box.right, w.top - box.top)
                if over > 1:
                    out.append({"widget": type(w).__name__,
                                "what": getattr(w, "text", "") or getattr(w, "kind", ""),
                                "over": round(over)})
        return out

    def op_fonts(self, req: dict, reply: Callable[[dict], None]) -> None:
        """Distinct (font, size, bold) in use: each is one FreeType face in memory."""
        from kivy.uix.label import Label

        combos = set()
        for root in [self.app.root, *self.app.pages.values()]:
            for w in root.walk():
                if isinstance(w, Label):
                    combos.add((w.font_name, w.font_size, w.bold))
        reply({"ok": True, "fonts": sorted(combos)})

    def op_tappables(self, req: dict, reply: Callable[[dict], None]) -> None:
        from kivy.metrics import Metrics
        from kivy.uix.behaviors import ButtonBehavior

        out = []
        for root in self.app.touch_roots():
            for w in _visible(root):
                if isinstance(w, ButtonBehavior) and not w.disabled:
                    out.append({"tid": getattr(w, "tid", ""), "size": [w.width, w.height]})
        reply({"ok": True, "tappables": out, "dpi": Metrics.dpi})

    def _settled(self, then: Callable[[], None], frames: int = 60) -> None:
        """Call ``then`` once layout and text have stopped changing between two frames."""
        self.app.wake()
        when_settled(self.app.touch_roots, then, frames)

    def op_settle(self, req: dict, reply: Callable[[dict], None]) -> None:
        self._settled(lambda: reply({"ok": True}))

    def op_screenshot(self, req: dict, reply: Callable[[dict], None]) -> None:
        def shoot() -> None:
            status = self.app.status()
            target = self.app.root if req.get("part") == "window" else self.app.kiosk_area
            self.app.shots.write(Path(req["path"]), self.app.grab(target),
                                 lambda p: reply({"ok": True, "path": str(p), **status}))

        self._settled(shoot)

    def op_hold(self, req: dict, reply: Callable[[dict], None]) -> None:
        self.app.bridge.hold_after(set(req["states"]))
        reply({"ok": True})

    def op_release(self, req: dict, reply: Callable[[dict], None]) -> None:
        self.app.bridge.release()
        reply({"ok": True})


def maybe_start(app) -> TestControl | None:
    """Start the test control channel if the environment asks for it."""
    path = os.environ.get(ENV)
    if not path:
        return None
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stack dump for a stuck test
    return TestControl(app, path)
