"""Screenshots of the UI: pixels read on the UI thread, PNG written by a worker thread.

Rendering a widget into an off-screen buffer and reading it back must happen
on the thread that owns the GL context, and takes a few milliseconds; encoding
and writing the PNG is file I/O, so it happens on a worker and never on the
frame loop. Used by the test driver and by ``kiosk ui --screenshots DIR``
(a headless demo under Xvfb).
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


class ShotWriter:
    """A worker thread that encodes and writes PNGs in order."""

    def __init__(self) -> None:
        self._q: queue.Queue[tuple[Path, int, int, bytes, Callable[[Path], None] | None]] = (
            queue.Queue())
        threading.Thread(target=self._run, name="ui-screenshots", daemon=True).start()

    def write(self, path: Path, shot: tuple[int, int, bytes],
              done: Callable[[Path], None] | None = None) -> None:
        self._q.put((path, *shot, done))

    def _run(self) -> None:
        while True:
            path, w, h, pixels, done = self._q.get()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(encode_png(w, h, pixels, top_down=True))
                os.replace(tmp, path)
            except OSError as exc:
                log.warning("screenshot %s not written: %s", path, exc)
            if done is not None:
                done(path)
