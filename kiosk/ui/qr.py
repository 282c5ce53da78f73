"""A QR code on screen: a payload drawn with segno as a texture, square, on a white margin.

Each module is one texel (nearest-neighbour scaling keeps the edges sharp at any size), with
the 4-module quiet zone the QR specification asks for, so a phone camera reads it off the
screen. The e-receipt link on the receipt screen uses it.
"""

from __future__ import annotations

from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import StringProperty
from kivy.uix.widget import Widget

QUIET = 4  # modules of white around the code (ISO/IEC 18004)


def qr_texture(payload: str) -> Texture:
    """The QR code of ``payload`` (error correction M) as an RGBA texture, one texel per
    module, quiet zone included."""
    import segno  # loaded with the first code shown

    qr = segno.make_qr(payload, error="m", boost_error=False)
    rows = [[bool(m) for m in row] for row in qr.matrix]
    n = len(rows) + 2 * QUIET
    white, black = b"\xff\xff\xff\xff", b"\x00\x00\x00\xff"
    blank = white * n
    lines = [blank] * QUIET
    lines += [white * QUIET + b"".join(black if m else white for m in row) + white * QUIET
              for row in rows]
    lines += [blank] * QUIET
    tex = Texture.create(size=(n, n), colorfmt="rgba")
    tex.mag_filter = tex.min_filter = "nearest"
    tex.blit_buffer(b"".join(reversed(lines)), colorfmt="rgba", bufferfmt="ubyte")
    return tex


class QrCode(Widget):
    """``payload`` as a QR code, the largest square that fits the widget; empty: nothing."""

    payload = StringProperty("")

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._texture: Texture | None = None
        self.bind(payload=self._new_code, pos=self._draw, size=self._draw)

    def _new_code(self, *_a) -> None:
        self._texture = qr_texture(self.payload) if self.payload else None
        self._draw()

    def _draw(self, *_a) -> None:
        self.canvas.clear()
        if self._texture is None:
            return
        s = int(min(self.width, self.height))
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(texture=self._texture, size=(s, s),
                      pos=(int(self.center_x - s / 2), int(self.center_y - s / 2)))
