"""The merchant-presented payment QR on the shopper's screen: code, amount and countdown.

:class:`PayQr` shows an EMVCo merchant-presented payload (:mod:`kiosk.domain.emvqr`) with
the UI's one QR drawer (:class:`kiosk.ui.qr.QrImage`: whole screen pixels per module, what a
phone's camera reads best). Above it the instruction, below it the amount (formatted by the
caller) and the time left, ticked by the Kivy clock; once the deadline passes the code is
taken off the screen (a phone must not pay an order the lane is closing) and the widget says
it expired. Nothing here does I/O; making the matrix of a payload (at most 512 characters)
takes a few milliseconds on the UI thread.
"""

from __future__ import annotations

import time

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui import theme
from kiosk.ui.i18n import Translator
from kiosk.ui.qr import QrImage
from kiosk.ui.widgets import Text

TICK_S = 0.25


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
