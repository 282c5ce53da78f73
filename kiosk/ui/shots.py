"""Screenshots of the UI: pixels read on the UI thread, PNG written by a worker thread.

Rendering a widget into an off-screen buffer (:func:`grab`) or reading the frame about to
be shown (:func:`read_frame`) must happen on the thread that owns the GL context, and takes
a few milliseconds; encoding and writing the PNG is file I/O, so it happens on a worker and
never on the frame loop. :func:`when_settled` waits until layout and text stop changing
(wrapped text grows a box over a few frames), so a picture never catches a screen half
laid out. Used by the test driver and by ``kiosk ui --screenshots DIR`` (a headless demo
under Xvfb), which saves the window's own frame: what is on screen.
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def encode_png(width: int, height: int, rgba: bytes, top_down: bool = True) -> bytes:
    """A PNG (8-bit RGBA) of raw pixels; rows are flipped when ``top_down`` is False."""
    stride = width * 4
    rows = [rgba[y * stride:(y + 1) * stride] for y in range(height)]
    if not top_down:
        rows.reverse()
    raw = b"".join(b"\0" + row for row in rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def grab(widget) -> tuple[int, int, bytes]:
    """Render ``widget`` off-screen and read its pixels (UI thread only)."""
    from kivy.graphics import ClearBuffers, ClearColor, Fbo, Scale, Translate

    w, h = int(widget.width), int(widget.height)
    parent_canvas = widget.parent.canvas if widget.parent is not None else None
    index = parent_canvas.indexof(widget.canvas) if parent_canvas is not None else -1
    if index > -1:
        parent_canvas.remove(widget.canvas)
    fbo = Fbo(size=(w, h), with_stencilbuffer=True)
    with fbo:
        ClearColor(1, 1, 1, 1)
        ClearBuffers()
        Scale(1, -1, 1)
        Translate(-widget.x, -widget.y - h, 0)
    fbo.add(widget.canvas)
    fbo.draw()
    pixels = fbo.texture.pixels
    fbo.remove(widget.canvas)
    if index > -1:
        parent_canvas.insert(index, widget.canvas)
    return w, h, pixels


def read_frame(width: int, height: int) -> tuple[int, int, bytes]:
    """The window's frame as drawn (RGBA, bottom row first): call it from the window's
    ``on_flip`` handler, after the frame is drawn and before the buffers swap."""
    from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels

    return width, height, glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)


def layout_signature(roots: list) -> list:
    """Where every visible widget is and how big its text is: equal on two frames in a
    row when layout has settled."""
    out: list = []

    def walk(widget) -> None:
        if getattr(widget, "opacity", 1) == 0:
            return
        out.append((round(widget.x), round(widget.y), round(widget.width),
                    round(widget.height), tuple(getattr(widget, "texture_size", ()))))
        for child in reversed(widget.children):
            walk(child)

    for root in roots:
        walk(root)
    return out


def loading(roots: list) -> bool:
    """Whether a visible widget still loads something in the background (a product
    picture: a widget with a true ``loading`` attribute)."""
    def walk(widget) -> bool:
        if getattr(widget, "opacity", 1) == 0:
            return False
        return bool(getattr(widget, "loading", False)) or any(walk(c) for c in widget.children)

    return any(walk(root) for root in roots)


def when_settled(roots: Callable[[], list], then: Callable[[], None],
                 frames: int = 60) -> Callable[[], None]:
    """Call ``then`` once the layout of ``roots()`` is the same on two frames in a row and
    nothing is loading (or after ``frames`` frames); returns a function that cancels the
    wait."""
    from kivy.clock import Clock

    state: dict = {"last": None, "left": frames, "ev": None}

    def check(_dt: float) -> None:
        now = layout_signature(roots())
        state["left"] -= 1
        if (now == state["last"] and not loading(roots())) or state["left"] <= 0:
            state["ev"] = None
            then()
            return
        state["last"] = now
        state["ev"] = Clock.schedule_once(check, 0)

    def cancel() -> None:
        if state["ev"] is not None:
            state["ev"].cancel()
            state["ev"] = None

    state["ev"] = Clock.schedule_once(check, 0)
    return cancel


class ShotWriter:
    """A worker thread that encodes and writes PNGs in order."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Path, int, int, bytes, Callable[[Path], None] | None,
                                   bool]] = queue.Queue()
        threading.Thread(target=self._run, name="ui-screenshots", daemon=True).start()

    def write(self, path: Path, shot: tuple[int, int, bytes],
              done: Callable[[Path], None] | None = None, top_down: bool = True) -> None:
        """Write ``shot`` as a PNG; ``top_down`` False for a frame read from the window
        (:func:`read_frame`, bottom row first)."""
        self._q.put((path, *shot, done, top_down))

    def _run(self) -> None:
        while True:
            path, w, h, pixels, done, top_down = self._q.get()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(encode_png(w, h, pixels, top_down=top_down))
                os.replace(tmp, path)
            except OSError as exc:
                log.warning("screenshot %s not written: %s", path, exc)
            if done is not None:
                done(path)
