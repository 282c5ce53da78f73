"""The merchant-presented payment QR on the shopper's screen: code, amount and countdown.

:class:`PayQr` draws an EMVCo merchant-presented payload (:mod:`kiosk.domain.emvqr`)
made by segno as a texture of one pixel per module, quiet zone of 4 modules included,
scaled by a whole number with nearest-neighbour filtering and placed on whole pixels: every
module is the same number of sharp screen pixels, which is what a phone's camera reads
best. Above it the instruction, below it the amount (formatted by the caller) and the time
left, ticked by the Kivy clock; once the deadline passes the code is taken off the screen
(a phone must not pay an order the lane is closing) and the widget says it expired.
Nothing here does I/O; making the matrix of a payload (at most 512 characters) takes a
few milliseconds on the UI thread.
"""

from __future__ import annotations

import time

from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.ui import theme
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import Text

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)
TICK_S = 0.25


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


class PayQr(BoxLayout):
    """Instruction, QR, amount and countdown; :meth:`show` and :meth:`hide`."""

    expired = BooleanProperty(False)
    seconds_left = NumericProperty(0)

    def __init__(self, **kw) -> None:
        kw.setdefault("orientation", "vertical")
        kw.setdefault("spacing", theme.px(12))
        super().__init__(**kw)
        self.title = Text(size_key="l", bold=True, halign="center", size_hint_y=None,
                          height=theme.px(48), tid="pay-qr-title")
        self.qr = QrImage()
        self.amount = Text(size_key="xxl", bold=True, halign="center", size_hint_y=None,
                           height=theme.px(72), tid="pay-qr-amount")
        self.countdown = Text(size_key="m", halign="center", size_hint_y=None,
                              height=theme.px(40), color=theme.MUTED, tid="pay-qr-countdown")
        for w in (self.title, self.qr, self.amount, self.countdown):
            self.add_widget(w)
        self.deadline: float | None = None
        self._t = Translator("en")
        self._ev = None

    def show(self, payload: str, amount_text: str, deadline_monotonic: float,
             t: Translator | None = None) -> None:
        """Show ``payload`` as a QR with ``amount_text`` until ``deadline_monotonic``
        (``time.monotonic()``), texts in ``t``'s language (English if not given)."""
        self._t = t or self._t
        for w in (self.title, self.amount, self.countdown):
            w.lang = self._t.lang
        self.title.text = self._t.tr("Scan this code with your payment app")
        self.amount.text = amount_text
        self.deadline = deadline_monotonic
        self.expired = False
        self.qr.set_payload(payload)
        self._tick()
        if self._ev is None:
            self._ev = Clock.schedule_interval(lambda _dt: self._tick(), TICK_S)

    def hide(self) -> None:
        """Take the code off the screen and stop the countdown."""
        if self._ev is not None:
            self._ev.cancel()
            self._ev = None
        self.deadline = None
        self.qr.clear()
        for w in (self.title, self.amount, self.countdown):
            w.text = ""

    def _tick(self) -> None:
        if self.deadline is None:
            return
        left = max(0, int(self.deadline - time.monotonic() + 0.999))
        self.seconds_left = left
        if left > 0:
            self.countdown.text = self._t.ntr("This code expires in {n} second.",
                                              "This code expires in {n} seconds.", left)
            return
        self.qr.clear()
        self.title.text = ""  # nothing to scan any more
        self.countdown.text = self._t.tr("This code has expired.")
        if self._ev is not None:
            self._ev.cancel()
            self._ev = None
        self.expired = True
