"""A QR code on screen, drawn crisp: the one QR drawer of the UI.

segno makes the matrix (error correction M, quiet zone of 4 modules as ISO/IEC 18004 asks);
it becomes a texture of one texel per module, scaled by a whole number with nearest-neighbour
filtering and placed on whole pixels, so every module is the same number of sharp screen
pixels: what a phone's camera reads best. The merchant-presented payment QR
(:mod:`kiosk.ui.pay_qr`) and the e-receipt link on the receipt screen use it.
"""

from __future__ import annotations

from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.widget import Widget

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)


def qr_modules(payload: str) -> list[list[bool]]:
    """The QR's modules (True = dark) with its quiet zone: segno, error correction M
    (raised when it costs no extra size), the smallest version that holds the payload."""
    import segno

    qr = segno.make_qr(payload, error="m")
    return [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=QUIET_ZONE)]


class QrImage(Widget):
    """A QR drawn crisp: whole screen pixels per module, centred on whole pixels."""

    module_px = NumericProperty(0)  # screen pixels per module, 0 when nothing is drawn

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._texture: Texture | None = None
        self._n = 0
        with self.canvas:
            self._colour = Color(1, 1, 1, 0)
            self._rect = Rectangle()
        self.bind(pos=self._layout, size=self._layout)

    def set_payload(self, payload: str) -> None:
        rows = qr_modules(payload)
        n = len(rows)
        # bottom row first: a texture's origin is its lower left corner
        buf = bytes(0 if dark else 255 for row in reversed(rows) for dark in row for _ in "rgb")
        texture = Texture.create(size=(n, n), colorfmt="rgb")
        texture.mag_filter = "nearest"
        texture.min_filter = "nearest"
        texture.blit_buffer(buf, colorfmt="rgb", bufferfmt="ubyte")
        self._texture, self._n = texture, n
        self._layout()

    def clear(self) -> None:
        self._texture, self._n = None, 0
        self._layout()

    def _layout(self, *_a) -> None:
        if self._texture is None:
            self._colour.a = 0
            self._rect.texture = None
            self.module_px = 0
            return
        scale = int(min(self.width, self.height) // self._n)
        side = scale * self._n
        self.module_px = scale
        self._colour.a = 1 if scale else 0
        self._rect.texture = self._texture
        self._rect.size = (side, side)
        self._rect.pos = (int(self.x + (self.width - side) // 2),
                          int(self.y + (self.height - side) // 2))


class QrCode(QrImage):
    """A QR bound to a ``payload`` property: set it to show that code, "" for nothing."""

    payload = StringProperty("")

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.bind(payload=self._new_payload)

    def _new_payload(self, *_a) -> None:
        if self.payload:
            self.set_payload(self.payload)
        else:
            self.clear()
