"""Reusable Kivy widgets of the shopper UI: text, buttons, cards, icons, PIN pad.

Every text widget carries the language it shows (``lang``) and uses that
language's font face (see :mod:`kiosk.ui.fonts`), and can shrink its font to
fit its box, so a longer translation never spills out. Tappable widgets carry
a ``tid`` (a stable name the test driver taps by).
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.graphics import (
    Color,
    Line,
    Rectangle,
    RoundedRectangle,
    SmoothEllipse,
    SmoothLine,
    SmoothRoundedRectangle,
)
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui import theme
from kiosk.ui.fonts import Resolved

FONT_PREFIX = "kiosk-"
#: the script HarfBuzz shapes a language's text as (Kivy's ``font_script_name``). Kivy's
#: default, Latn, takes the CJK font's proportional "…": dots on the baseline, where
#: Chinese and Korean set them mid-height.
SHAPING_SCRIPTS = {"zh": "Hani", "ko": "Hang"}


def register_fonts(faces: dict[str, Resolved]) -> None:
    """Register one Kivy font name per language ("kiosk-zh" → Noto Sans CJK SC)."""
    for lang, face in faces.items():
        LabelBase.register(FONT_PREFIX + lang, face.regular, None, face.bold, None)


def darker(colour: tuple, by: float = 0.82) -> tuple:
    return (colour[0] * by, colour[1] * by, colour[2] * by, colour[3])


class Text(Label):
    """A label in one language's font that wraps or shrinks to fit its box."""

    lang = StringProperty("en")
    size_key = StringProperty("m")
    fit = BooleanProperty(True)          # shrink the font until the text fits the box
    wrap = BooleanProperty(False)        # allow several lines
    auto_height = BooleanProperty(False)  # grow the box to the text (wrapping blocks)
    tid = StringProperty("")

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("color", theme.INK)
        kwargs.setdefault("halign", "left")
        super().__init__(**kwargs)
        if self.auto_height:
            self.size_hint_y = None
            self.height = 0
        self._base = theme.font(self.size_key)
        self.font_size = self._base
        self._set_font()
        self.bind(lang=self._on_lang, size_key=self._on_size_key, width=self._on_width,
                  texture_size=self._on_texture, text=self._on_text, height=self._reset)
        self._on_width()

    def _on_lang(self, *_a) -> None:
        self._set_font()
        self._reset()

    def _set_font(self) -> None:
        self.font_name = FONT_PREFIX + self.lang
        self.font_script_name = SHAPING_SCRIPTS.get(self.lang, "Latn")

    def _on_size_key(self, *_a) -> None:
        self._base = theme.font(self.size_key)
        self._reset()

    def _on_width(self, *_a) -> None:
        self.text_size = (max(1, self.width), None)
        self._reset()

    def _on_text(self, *_a) -> None:
        if self.auto_height and not self.text:
            self.height = 0
        self._reset()

    def _reset(self, *_a) -> None:
        if self.font_size != self._base:
            self.font_size = self._base

    def lines(self) -> int:
        cached = getattr(self._label, "_cached_lines", None)
        return len(cached) if cached else 1

    def overflows(self) -> bool:
        """True when the text does not fit its box (it would be clipped or overlap)."""
        if not self.text:
            return False
        if not self.wrap and self.lines() > 1:
            return True
        return self.texture_size[1] > self.height + 2

    def _on_texture(self, *_a) -> None:
        if self.auto_height:
            self.height = self.texture_size[1] if self.text else 0
            if not self.wrap and self.lines() > 1 and self.fit:
                self._shrink()
            return
        if self.fit and self.overflows():
            self._shrink()

    def _shrink(self) -> None:
        """One step down the type scale (every font size costs a font object in memory)."""
        smaller = theme.smaller(self.font_size)
        if smaller is not None and smaller >= self._base * 0.5:
            self.font_size = smaller


class Rounded:
    """A filled rounded rectangle with an optional border, anti-aliased without MSAA.

    The border is an outer shape in the border colour with the fill inset on top
    (Kivy's smooth shapes blend their edges; the window has no multisampling,
    which on llvmpipe saves some 30 MB).
    """

    def __init__(self, canvas) -> None:
        with canvas:
            self._edge_c = Color(0, 0, 0, 0)
            self._edge = SmoothRoundedRectangle()
            self._fill_c = Color(0, 0, 0, 0)
            self._fill = SmoothRoundedRectangle()

    def update(self, pos, size, radius: float, fill, edge, width: float) -> None:
        x, y = pos
        w, h = size
        r = max(0.0, min(radius, w / 2, h / 2))
        has_edge = edge[3] > 0
        self._edge_c.rgba = edge if has_edge else (0, 0, 0, 0)
        self._edge.pos, self._edge.size, self._edge.radius = (x, y), (w, h), [r]
        inset = width if has_edge else 0
        self._fill_c.rgba = fill
        self._fill.pos = (x + inset, y + inset)
        self._fill.size = (max(0, w - 2 * inset), max(0, h - 2 * inset))
        self._fill.radius = [max(0.0, r - inset)]


class Card(BoxLayout):
    """A box with a filled, rounded background and an optional outline."""

    bg = ColorProperty(theme.CARD)
    outline = ColorProperty((0, 0, 0, 0))
    radius = NumericProperty(theme.RADIUS)
    outline_width = NumericProperty(1.5)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._round = Rounded(self.canvas.before)
        self.bind(pos=self._redraw, size=self._redraw, bg=self._redraw, outline=self._redraw,
                  outline_width=self._redraw)
        self._redraw()

    def _redraw(self, *_a) -> None:
        self._round.update(self.pos, self.size, theme.px(self.radius), self.bg, self.outline,
                           self.outline_width)


class Pill(Card):
    """A small rounded tag (e.g. "ID check needed"); not tappable."""

    def __init__(self, **kwargs) -> None:
        super().__init__(padding=(theme.px(10), theme.px(2)), radius=16, **kwargs)
        self.label = Text(size_key="xs", halign="center")
        self.add_widget(self.label)

    def set(self, text: str, lang: str, kind: str) -> None:
        self.label.lang = lang
        self.label.text = text
        pending = kind == "pending"
        self.bg = theme.AMBER if pending else theme.CARD
        self.outline = theme.AMBER if pending else theme.GREEN
        self.label.color = theme.INK if pending else theme.GREEN


class Btn(ButtonBehavior, Text):
    """A flat, rounded, high-contrast button; at least 9 mm in both directions."""

    bg = ColorProperty(theme.GREEN)
    outline = ColorProperty((0, 0, 0, 0))

    def __init__(self, on_tap: Callable[[], None] | None = None, **kwargs) -> None:
        kwargs.setdefault("halign", "center")
        kwargs.setdefault("color", theme.WHITE)
        kwargs.setdefault("bold", True)
        kwargs.setdefault("padding", (theme.px(14), theme.px(6)))
        super().__init__(**kwargs)
        self.valign = "middle"
        self._on_tap = on_tap
        self._round = Rounded(self.canvas.before)
        self.bind(pos=self._redraw, size=self._redraw, bg=self._redraw, state=self._redraw,
                  disabled=self._redraw, outline=self._redraw)
        self._redraw()

    def _redraw(self, *_a) -> None:
        if self.disabled:
            fill, edge = theme.DISABLED, (0, 0, 0, 0)
            self.disabled_color = theme.MUTED
        else:
            fill = darker(self.bg) if self.state == "down" else self.bg
            edge = self.outline
        self._round.update(self.pos, self.size, theme.px(theme.RADIUS), fill, edge, 2)

    def on_release(self) -> None:
        if self._on_tap is not None:
            self._on_tap()


def primary(text: str, on_tap: Callable[[], None], **kw) -> Btn:
    kw.setdefault("size_key", "l")
    kw.setdefault("bg", theme.GREEN)
    kw.setdefault("color", theme.WHITE)
    return Btn(on_tap, text=text, **kw)


def secondary(text: str, on_tap: Callable[[], None], **kw) -> Btn:
    kw.setdefault("size_key", "m")
    kw.setdefault("bg", theme.CARD)
    kw.setdefault("color", theme.INK)
    kw.setdefault("outline", theme.INK)
    return Btn(on_tap, text=text, **kw)


def danger(text: str, on_tap: Callable[[], None], **kw) -> Btn:
    kw.setdefault("size_key", "m")
    kw.setdefault("bg", theme.CARD)
    kw.setdefault("color", theme.RED)
    kw.setdefault("outline", theme.RED)
    return Btn(on_tap, text=text, **kw)


def spacer(**kw) -> Widget:
    return Widget(**kw)


def _stroke(points: list[float], width: float) -> None:
    """An anti-aliased polyline with round ends and joints."""
    SmoothLine(points=points, width=width)
    for i in range(0, len(points), 2):
        x, y = points[i], points[i + 1]
        SmoothEllipse(pos=(x - width, y - width), size=(2 * width, 2 * width))


class Icon(Widget):
    """Drawn pictograms (no font glyphs): check, cross, alert, card, qr, barcode, wait, bag
    (a shopping bag: a product without a picture), and the rating faces face_bad,
    face_okay, face_good."""

    kind = StringProperty("check")
    fg = ColorProperty(theme.WHITE)
    bg = ColorProperty(theme.GREEN)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._angle = 0.0
        self._spin_ev = None
        self.bind(pos=self.draw, size=self.draw, kind=self.draw, fg=self.draw, bg=self.draw)
        self.draw()

    def spin(self, on: bool) -> None:
        """Animate the waiting ring (only while shown: no idle cost otherwise)."""
        if on and self._spin_ev is None:
            self._spin_ev = Clock.schedule_interval(self._step, 1 / 30)
        elif not on and self._spin_ev is not None:
            self._spin_ev.cancel()
            self._spin_ev = None

    def _step(self, dt: float) -> None:
        self._angle = (self._angle + dt * 300) % 360
        self.draw()

    def draw(self, *_a) -> None:
        self.canvas.clear()
        s = min(self.width, self.height)
        cx, cy = self.center
        x0, y0 = cx - s / 2, cy - s / 2
        w = max(2.0, s * 0.075)
        with self.canvas:
            if self.kind in ("check", "cross", "alert", "wait") or self.kind.startswith("face_"):
                Color(*self.bg)
                SmoothEllipse(pos=(x0, y0), size=(s, s))
                Color(*self.fg)
            if self.kind == "check":
                _stroke([x0 + s * .28, cy, x0 + s * .44, y0 + s * .32, x0 + s * .74,
                         y0 + s * .68], w)
            elif self.kind == "cross":
                d = s * 0.2
                _stroke([cx - d, cy - d, cx + d, cy + d], w)
                _stroke([cx - d, cy + d, cx + d, cy - d], w)
            elif self.kind == "alert":
                _stroke([cx, cy - s * .02, cx, cy + s * .24], w)
                SmoothEllipse(pos=(cx - w, cy - s * .22 - w), size=(2 * w, 2 * w))
            elif self.kind == "wait":
                Color(*self.fg[:3], 0.25)
                SmoothLine(circle=(cx, cy, s * .3), width=w)
                Color(*self.fg)
                SmoothLine(circle=(cx, cy, s * .3, self._angle, self._angle + 100), width=w)
            elif self.kind == "card":
                Color(*self.bg)
                SmoothRoundedRectangle(pos=(x0, cy - s * .32), size=(s, s * .64),
                                       radius=[s * .07])
                Color(*self.fg)
                Rectangle(pos=(x0, cy + s * .1), size=(s, s * .1))
                RoundedRectangle(pos=(x0 + s * .1, cy - s * .2), size=(s * .18, s * .14),
                                 radius=[s * .02])
            elif self.kind == "qr":
                Color(*self.bg)
                SmoothRoundedRectangle(pos=(x0, y0), size=(s, s), radius=[s * .06])
                Color(*self.fg)
                m = s * 0.1
                q = s * 0.32
                for ox, oy in ((x0 + m, y0 + s - m - q), (x0 + s - m - q, y0 + s - m - q),
                               (x0 + m, y0 + m)):
                    Line(rectangle=(ox, oy, q, q), width=max(1.5, s * .03))
                    Rectangle(pos=(ox + q * .3, oy + q * .3), size=(q * .4, q * .4))
                cell = s * 0.08
                for i, j in ((5, 1), (6, 2), (7, 1), (5, 3), (7, 3), (6, 4), (8, 5), (5, 6)):
                    Rectangle(pos=(x0 + m + i * cell * .85, y0 + m + j * cell * .85),
                              size=(cell * .8, cell * .8))
            elif self.kind == "bag":
                Color(*self.fg)
                SmoothLine(ellipse=(cx - s * .17, y0 + s * .5, s * .34, s * .34, -90, 90),
                           width=w * .8)
                SmoothRoundedRectangle(pos=(x0 + s * .14, y0 + s * .1), size=(s * .72, s * .56),
                                       radius=[s * .08])
                Color(*self.bg)
                for ox in (-s * .17, s * .17):  # the handle's eyelets
                    SmoothEllipse(pos=(cx + ox - w * .8, y0 + s * .55), size=(w * 1.6, w * 1.6))
            elif self.kind.startswith("face_"):
                e = s * .07  # the eyes, then the mouth: frown, straight, smile
                for ex in (cx - s * .17, cx + s * .17):
                    SmoothEllipse(pos=(ex - e, cy + s * .1 - e), size=(2 * e, 2 * e))
                if self.kind == "face_good":
                    SmoothLine(ellipse=(cx - s * .24, cy - s * .3, s * .48, s * .4, 120, 240),
                               width=w)
                elif self.kind == "face_bad":
                    SmoothLine(ellipse=(cx - s * .24, cy - s * .52, s * .48, s * .4, -60, 60),
                               width=w)
                else:
                    _stroke([cx - s * .2, cy - s * .2, cx + s * .2, cy - s * .2], w)
            elif self.kind == "barcode":
                Color(*self.fg)
                bars = [3, 1, 2, 1, 1, 3, 1, 2, 2, 1, 3, 1, 1, 2, 1, 3, 2, 1, 1, 2]
                unit = s / (sum(bars) + len(bars))
                x = x0
                for i, b in enumerate(bars):
                    if i % 2 == 0:
                        Rectangle(pos=(x, y0 + s * .2), size=(b * unit, s * .6))
                    x += (b + 1) * unit


class PinPad(GridLayout):
    """Staff PIN entry: digits stay in the UI until OK, shown masked, never logged."""

    def __init__(self, on_digit: Callable[[str], None], on_clear: Callable[[], None],
                 on_ok: Callable[[], None], **kwargs) -> None:
        super().__init__(cols=3, spacing=theme.px(10), **kwargs)
        self.keys: dict[str, Btn] = {}
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "ok"):
            if key == "clear":
                btn = secondary("", on_clear, size_key="m", tid="pin:clear")
            elif key == "ok":
                btn = primary("", on_ok, size_key="m", tid="pin:ok")
            else:
                btn = Btn(lambda k=key: on_digit(k), text=key, tid=f"pin:{key}", size_key="xl",
                          bg=theme.CARD, color=theme.INK, outline=theme.LINE)
            btn.size_hint_y = None
            btn.height = theme.touch(76)
            self.keys[key] = btn
            self.add_widget(btn)
        self.size_hint_y = None
        self.height = 4 * theme.touch(76) + 3 * theme.px(10)

    def relabel(self, lang: str, clear: str, ok: str) -> None:
        for btn in self.keys.values():
            btn.lang = lang
        self.keys["clear"].text = clear
        self.keys["ok"].text = ok


class Toast(Card):
    """A short message at the bottom of the screen (a rejected scan, a wrong key)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(bg=theme.INK, padding=(theme.px(24), theme.px(12)), **kwargs)
        self.label = Text(color=theme.WHITE, size_key="m", halign="center", wrap=True,
                          auto_height=True)
        self.add_widget(self.label)
        self.size_hint = (None, None)
        self.opacity = 0
        self._ev = None
        self.label.bind(height=lambda *_a: setattr(self, "height",
                                                   self.label.height + theme.px(24)))

    def show(self, text: str, lang: str, seconds: float = 4.0) -> None:
        self.label.lang = lang
        self.label.text = text
        self.opacity = 1
        if self._ev is not None:
            self._ev.cancel()
        self._ev = Clock.schedule_once(lambda _dt: self.hide(), seconds)

    def hide(self) -> None:
        self.opacity = 0
        self.label.text = ""
