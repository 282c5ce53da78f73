"""The receipt screen's rating panel (issue 18): three faces, then for a low rating "what went
wrong" with the fixed reasons (kiosk/domain/feedback.py), then a thank-you.

A view like the screens: the phase comes from the state (:func:`kiosk.ui.viewmodel.
rating_phase`); a face sends ``rate`` with its rating, "Send" the reasons chosen (none:
skipped). Only which reasons are ticked lives here, until sent. Nothing waits on it: the
receipt screen's Done and its timer work as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk.domain.feedback import RATING_LABELS, RATINGS, REASON_LABELS, REASONS
from kiosk.ui import theme
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import Btn, Card, Icon, Text, primary, secondary, spacer

px = theme.px

#: rating → (icon, colour)
FACES = {1: ("face_bad", theme.RED), 2: ("face_okay", theme.AMBER),
         3: ("face_good", theme.GREEN)}


class Face(ButtonBehavior, Card):
    """One tappable face with its word under it."""

    def __init__(self, rating: int, on_tap: Callable[[int], None], **kw: Any) -> None:
        kind, colour = FACES[rating]
        super().__init__(orientation="vertical", padding=px(10), spacing=px(6),
                         bg=theme.CARD, outline=theme.LINE, outline_width=2, **kw)
        self.tid = f"rate:{rating}"
        self.rating = rating
        self._on_tap = on_tap
        fg = theme.INK if colour == theme.AMBER else theme.WHITE
        self.icon = Icon(kind=kind, bg=colour, fg=fg, size_hint_y=None, height=px(84))
        self.label = Text(size_key="m", bold=True, halign="center", size_hint_y=None,
                          height=px(40))
        self.add_widget(self.icon)
        self.add_widget(self.label)
        self.bind(state=lambda *_a: setattr(self, "bg", theme.BLUE_PALE if self.state == "down"
                                            else theme.CARD))

    def on_release(self) -> None:
        self._on_tap(self.rating)


class RatingPanel(Card):
    """Faces, reasons or thanks, as the phase says; ``send`` is the app's command sender."""

    def __init__(self, send: Callable[..., Any], **kw: Any) -> None:
        super().__init__(orientation="vertical", padding=px(20), spacing=px(14),
                         bg=theme.CARD, outline=theme.LINE, **kw)
        self.send = send
        self.phase = ""
        self.chosen: set[str] = set()
        self.question = Text(size_key="l", bold=True, halign="center", wrap=True,
                             auto_height=True)
        self.hint = Text(size_key="s", halign="center", wrap=True, auto_height=True,
                         color=theme.MUTED)
        self.faces = BoxLayout(spacing=px(14), size_hint_y=None, height=theme.touch(150))
        for rating in RATINGS:
            self.faces.add_widget(Face(rating, lambda r: self.send("rate", rating=r)))
        self.reasons = GridLayout(cols=2, spacing=px(10), size_hint_y=None)
        self.chips: dict[str, Btn] = {}
        for code in REASONS:
            chip = secondary("", lambda c=code: self._toggle(c), tid=f"reason:{code}",
                             size_key="s", size_hint_y=None, height=theme.touch(72))
            self.chips[code] = chip
            self.reasons.add_widget(chip)
        self.reasons.height = 3 * theme.touch(72) + 2 * px(10)
        self.submit = primary("", self._send_reasons, tid="rate:send", size_key="m",
                              size_hint_y=None, height=theme.touch(80))
        self._layout: str | None = None

    def _toggle(self, code: str) -> None:
        self.chosen ^= {code}
        self._paint()

    def _send_reasons(self) -> None:
        self.send("rate", reasons=[c for c in REASONS if c in self.chosen])

    def _paint(self) -> None:
        for code, chip in self.chips.items():
            on = code in self.chosen
            chip.bg = theme.BLUE if on else theme.CARD
            chip.color = theme.WHITE if on else theme.INK
            chip.outline = theme.BLUE if on else theme.INK

    def render(self, phase: str, t: Translator) -> None:
        if phase != self.phase:
            self.chosen = set()  # a new sale, or the reasons sent
            self.phase = phase
        for w in (self.question, self.hint, self.submit, *self.chips.values()):
            w.lang = t.lang
        for face in self.faces.children:
            face.label.lang = t.lang
            face.label.text = t.tr(RATING_LABELS[face.rating])
        for code, chip in self.chips.items():
            chip.text = t.tr(REASON_LABELS[code])
        self._paint()
        self.submit.text = t.tr("Send")
        if phase == "reasons":
            self.question.text = t.tr("Sorry about that. What went wrong?")
            self.hint.text = t.tr("Choose all that apply, then send.")
        elif phase == "thanks":
            self.question.text = t.tr("Thank you for your feedback.")
            self.hint.text = ""
        else:
            self.question.text = t.tr("How was your checkout today?")
            self.hint.text = t.tr("Optional: tap a face.")
        if self._layout != phase:
            self._layout = phase
            self.clear_widgets()
            shown = {"reasons": [self.question, self.hint, self.reasons, self.submit],
                     "thanks": [self.question]}.get(phase, [self.question, self.hint,
                                                         self.faces])
            for w in (spacer(), *shown, spacer()):
                self.add_widget(w)
