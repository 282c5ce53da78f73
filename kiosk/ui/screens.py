"""One Kivy screen per checkout state, plus the header and the idle-warning overlay.

Screens are views: :meth:`Page.render` copies a :class:`~kiosk.ui.viewmodel.View`
(texts already translated and formatted) into widgets, and taps call back into
the app as shopper intents (``actions.send("checkout")``). No screen decides
anything about the checkout.

The card screens (insert card, reading card, choose application, remove card)
follow the card port's progress step on the state; their Cancel button is shown
only while nothing has left the kiosk. The approved screen asks "print receipt /
no receipt" (the core prints by itself if the shopper does not choose), and "receipt on my
phone" shows the sale's e-receipt link as a QR code when the store has e-receipts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from kivy.clock import Clock
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.ui import theme
from kiosk.ui.i18n import Translator, endonym
from kiosk.ui.last_scanned import HEIGHT as LAST_SCANNED_H
from kiosk.ui.last_scanned import LastScannedPanel
from kiosk.ui.qr import QrCode
from kiosk.ui.rating import RatingPanel
from kiosk.ui.viewmodel import BAGGING_TEXT, Row, View
from kiosk.ui.widgets import (
    Btn,
    Card,
    Icon,
    Pill,
    PinPad,
    Text,
    danger,
    primary,
    secondary,
    spacer,
)

px = theme.px


class Actions(Protocol):
    pictures: dict[str, Path]   # product key → its picture (the catalog's), for the screens
    scale_msg: dict | None      # kiosk-scale's last produce reading (None: no produce scale)

    def send(self, kind: str, **fields: Any) -> str | None: ...
    def send_pin(self, pin: str) -> str | None: ...
    def select_language(self, locale: str) -> None: ...
    def open_picker(self) -> None: ...


class LanguageSwitch(BoxLayout):
    """English / 简体中文 / 한국어: each name in its own language's font."""

    def __init__(self, actions: Actions, prefix: str, big: bool = False, **kw) -> None:
        super().__init__(orientation="horizontal", spacing=px(16 if big else 8), **kw)
        self.actions, self.prefix, self.big = actions, prefix, big
        self.buttons: dict[str, Btn] = {}

    def render(self, locales: tuple[str, ...], current: str, on_dark: bool,
               backdrop: tuple = theme.BG) -> None:
        if tuple(self.buttons) != locales:
            self.clear_widgets()
            self.buttons = {}
            for loc in locales:
                btn = Btn(lambda loc=loc: self.actions.select_language(loc), text=endonym(loc),
                          lang="langs", size_key="l" if self.big else "m",
                          tid=f"{self.prefix}:{loc}")
                self.buttons[loc] = btn
                self.add_widget(btn)
        for loc, btn in self.buttons.items():
            selected = loc == current
            if self.big:
                btn.bg = theme.INK if selected else theme.CARD
                btn.color = theme.WHITE if selected else theme.INK
                btn.outline = theme.INK
            else:
                ink = theme.WHITE if on_dark else theme.INK
                btn.bg = ink if selected else backdrop
                btn.color = (theme.INK if on_dark else theme.WHITE) if selected else ink
                btn.outline = ink


class Header(BoxLayout):
    """Top bar in the tower light's colour: store name, help, language switch."""

    def __init__(self, actions: Actions, store_name: str, **kw) -> None:
        super().__init__(orientation="horizontal", size_hint_y=None,
                         height=theme.touch(theme.HEADER_H), padding=(px(24), px(10)),
                         spacing=px(16), **kw)
        self.actions = actions
        self._name = store_name
        self.store = Text(text=store_name, size_key="l", bold=True, lang="en")
        self.title = Text(size_key="m", halign="left")
        self.help = Btn(self._help, size_key="m", tid="help", size_hint_x=None,
                        width=px(170))
        self._called = False
        self.langs = LanguageSwitch(actions, "lang", size_hint_x=None, width=px(430))
        for w in (self.store, self.title, self.help, self.langs):
            self.add_widget(w)
        self.store.size_hint_x = 0.9
        self.title.size_hint_x = 1.1
        from kivy.graphics import Color, Rectangle

        with self.canvas.before:
            self._c = Color(*theme.LIGHT["off"][0])
            self._r = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_a) -> None:
        self._r.pos, self._r.size = self.pos, self.size

    def _help(self) -> None:
        """Help calls staff; once called (on any screen), the same button withdraws it."""
        self.actions.send("cancel_help" if self._called else "help")

    def render(self, v: View, t: Translator, title: str) -> None:
        bg, ink = theme.LIGHT[v.light]
        self._c.rgba = bg
        self.store.color = ink
        # training (kiosk.domain.training): said on every screen, where the store's name is
        self.store.text = t.tr("TRAINING MODE") if v.training else self._name
        self.store.lang = t.lang if v.training else "en"
        self.title.color = ink
        self.title.lang = t.lang
        self.title.text = title
        # the attendant screen has its own "cancel help" button, beside what it explains
        self._called = v.help_called and v.screen != "attendant"
        self.help.text = t.tr("Cancel help") if self._called else t.tr("Help")
        self.help.lang = t.lang
        self.help.bg = theme.CARD if ink == theme.WHITE else theme.INK
        self.help.color = theme.INK if ink == theme.WHITE else theme.WHITE
        show_help = v.can_help or self._called
        self.help.opacity = 1 if show_help else 0
        self.help.disabled = not show_help
        self.langs.render(v.locales, v.locale, on_dark=ink == theme.WHITE, backdrop=bg)


class Page(Screen):
    """A screen; ``render`` copies the view into its widgets."""

    title = ""

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(**kw)
        self.actions = actions

    def render(self, v: View, t: Translator) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def header_title(self, v: View, t: Translator) -> str:
        return ""


def _fill(widget: Widget, colour: tuple) -> None:
    """Paint a widget's background (a Screen draws in its own coordinates)."""
    from kivy.graphics import Color, Rectangle
    from kivy.uix.relativelayout import RelativeLayout

    relative = isinstance(widget, RelativeLayout)
    with widget.canvas.before:
        Color(*colour)
        rect = Rectangle(pos=(0, 0) if relative else widget.pos, size=widget.size)
    if not relative:
        widget.bind(pos=lambda w, p: setattr(rect, "pos", p))
    widget.bind(size=lambda w, s: setattr(rect, "size", s))


class Banner(Card):
    """A notice line (amber or red) that hides itself when empty."""

    def __init__(self, **kw) -> None:
        super().__init__(bg=theme.AMBER_PALE, outline=theme.AMBER,
                         padding=(px(20), px(10)), size_hint_y=None, **kw)
        self.label = Text(size_key="m", wrap=True, auto_height=True)
        self.add_widget(self.label)
        self.label.bind(height=self._fit)

    def _fit(self, *_a) -> None:
        self.height = self.label.height + px(20) if self.label.text else 0

    def show(self, text: str, lang: str, tone: str = "amber") -> None:
        self.bg = theme.RED_PALE if tone == "red" else theme.AMBER_PALE
        self.outline = theme.RED if tone == "red" else theme.AMBER
        self.label.lang = lang
        self.label.text = text
        self.opacity = 1 if text else 0
        self._fit()


# -- attract ------------------------------------------------------------------------------

class AttractPage(Page):
    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        _fill(self, theme.BG)
        box = BoxLayout(orientation="vertical", padding=(px(120), px(40)), spacing=px(16))
        self.welcome = Text(size_key="huge", bold=True, halign="center", size_hint_y=None,
                            height=px(130))
        self.prompt = Text(size_key="l", halign="center", size_hint_y=None, height=px(60),
                           color=theme.MUTED)
        self.notice = Banner()
        self.start = primary("", lambda: self.actions.send("start", locale=self._locale),
                             size_key="xl", tid="start", size_hint=(None, None),
                             width=px(560), height=theme.touch(120))
        start_row = BoxLayout(size_hint_y=None, height=self.start.height)
        start_row.add_widget(spacer())
        start_row.add_widget(self.start)
        start_row.add_widget(spacer())
        self.choose = Text(size_key="m", halign="center", size_hint_y=None, height=px(44),
                           color=theme.MUTED)
        self.langs = LanguageSwitch(actions, "attract-lang", big=True, size_hint=(None, None),
                                    width=px(960), height=theme.touch(96))
        lang_row = BoxLayout(size_hint_y=None, height=self.langs.height)
        lang_row.add_widget(spacer())
        lang_row.add_widget(self.langs)
        lang_row.add_widget(spacer())
        for w in (spacer(), self.welcome, self.prompt, spacer(size_hint_y=0.4), start_row,
                  spacer(size_hint_y=0.5), self.choose, lang_row, self.notice, spacer()):
            box.add_widget(w)
        self.add_widget(box)
        self._locale = "en"

    def header_title(self, v: View, t: Translator) -> str:
        return ""

    def render(self, v: View, t: Translator) -> None:
        self._locale = v.locale
        for w in (self.welcome, self.prompt, self.start, self.choose):
            w.lang = t.lang
        self.welcome.text = t.tr("Welcome")
        self.prompt.text = t.tr("Scan your first item or tap Start")
        self.start.text = t.tr("Start")
        self.choose.text = t.tr("Choose your language")
        self.langs.render(v.locales, v.locale, on_dark=False)
        self.notice.show(v.notice or v.voice_note, t.lang)


# -- shopping -----------------------------------------------------------------------------

class BasketRow(Card):
    """One basket line: name, detail, quantity buttons, amount, remove."""

    def __init__(self, actions: Actions, line_id: int, **kw) -> None:
        super().__init__(orientation="horizontal", size_hint_y=None,
                         padding=(px(16), px(8), px(12), px(8)), spacing=px(12),
                         bg=theme.CARD, radius=10, **kw)
        self.actions, self.line_id = actions, line_id
        self.qty = 1
        self._shape: tuple | None = None
        self.col = BoxLayout(orientation="vertical")
        self.name = Text(size_key="m", bold=True, wrap=True, auto_height=True)
        self.details = BoxLayout(orientation="horizontal", spacing=px(10), size_hint_y=None,
                                 height=px(34))
        self.detail = Text(size_key="s", color=theme.MUTED, wrap=True, auto_height=True)
        self.badge = Pill(size_hint=(None, None), width=px(190), height=px(34))
        self.name.bind(height=self._fit_height)
        self.detail.bind(height=self._fit_height)
        button = {"size_hint": (None, None), "height": theme.touch(68),
                  "pos_hint": {"center_y": 0.5}}
        self.minus = Btn(lambda: self._qty(-1), text="−", size_key="l", bg=theme.CARD,
                         color=theme.INK, outline=theme.LINE, width=theme.touch(68),
                         tid=f"qty-:{line_id}", **button)
        self.count = Text(size_key="l", bold=True, halign="center", size_hint_x=None,
                          width=px(48))
        self.plus = Btn(lambda: self._qty(+1), text="+", size_key="l", bg=theme.CARD,
                        color=theme.INK, outline=theme.LINE, width=theme.touch(68),
                        tid=f"qty+:{line_id}", **button)
        self.amount = Text(size_key="l", bold=True, halign="right", size_hint_x=None,
                           width=px(140))
        self.remove = danger("", lambda: actions.send("remove_line", line_id=line_id),
                             size_key="m", width=theme.touch(120), tid=f"remove:{line_id}",
                             **button)
        self.height = max(px(theme.ROW_H), theme.touch(68) + px(16))

    def _qty(self, delta: int) -> None:
        self.actions.send("set_quantity", line_id=self.line_id, qty=self.qty + delta)

    def _fit_height(self, *_a) -> None:
        """Long names wrap onto a second line; the row grows instead of clipping them."""
        shown = self.details.parent is not None
        badge = bool(self._shape and self._shape[2])
        self.details.height = max(self.detail.height if self.detail.text else 0,
                                  px(34) if badge else 0)
        text_h = self.name.height + (self.details.height if shown else 0)
        self.height = max(px(theme.ROW_H), theme.touch(68) + px(16), text_h + px(20))

    def _layout(self, countable: bool, detail: bool, badge: bool) -> None:
        shape = (countable, detail, badge)
        if shape == self._shape:
            return
        self._shape = shape
        self.clear_widgets()
        self.col.clear_widgets()
        self.details.clear_widgets()
        self.col.add_widget(spacer())
        self.col.add_widget(self.name)
        if detail or badge:
            if detail:
                self.details.add_widget(self.detail)
            if badge:
                self.details.add_widget(self.badge)
            if not detail:
                self.details.add_widget(spacer())
            self.col.add_widget(self.details)
        self.col.add_widget(spacer())
        self.add_widget(self.col)
        if countable:
            for w in (self.minus, self.count, self.plus):
                self.add_widget(w)
        self.add_widget(self.amount)
        self.add_widget(self.remove)
        self._fit_height()

    def update(self, r: Row, t: Translator) -> None:
        self.qty = r.qty
        self._layout(r.countable, bool(r.detail), bool(r.badge))
        for w in (self.name, self.detail, self.remove, self.count, self.amount):
            w.lang = t.lang
        self.name.text = r.name
        self.detail.text = r.detail
        self.badge.set(r.badge, t.lang, r.badge_kind)
        self.amount.text = r.amount
        self.remove.text = t.tr("Remove")
        self.minus.disabled = r.qty <= 1
        self.plus.disabled = r.qty >= 99
        self.count.text = str(r.qty)
        self.bg = theme.GREEN_PALE if r.highlight else theme.CARD
        self.outline = theme.GREEN if r.highlight else theme.LINE
        self.outline_width = 2.5 if r.highlight else 1


class TotalsLine(BoxLayout):
    """A label and an amount; a long label (a promotion's name) wraps, the line grows."""

    def __init__(self, size_key: str = "m", colour: tuple = theme.INK, **kw) -> None:
        super().__init__(orientation="horizontal", size_hint_y=None, height=0,
                         spacing=px(10), **kw)
        self.pad = px(10 if size_key in ("m", "l") else 4)
        self.label = Text(size_key=size_key, color=colour, wrap=True, auto_height=True,
                          pos_hint={"top": 1})
        self.value = Text(size_key=size_key, color=colour, halign="right", size_hint_x=0.6,
                          auto_height=True, pos_hint={"top": 1})
        self.add_widget(self.label)
        self.add_widget(self.value)
        self.label.bind(height=self._fit)
        self.value.bind(height=self._fit)

    def _fit(self, *_a) -> None:
        tallest = max(self.label.height, self.value.height)
        self.height = tallest + self.pad if self.value.text else 0

    def set(self, label: str, value: str, lang: str) -> None:
        self.label.lang = self.value.lang = lang
        self.label.text, self.value.text = label, value
        self.opacity = 1 if value else 0
        self._fit()


MAX_DISCOUNT_LINES = 2  # "You save" has the sum; more promotion lines would crowd the total


class ShoppingPage(Page):
    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        _fill(self, theme.BG)
        body = BoxLayout(orientation="horizontal", padding=px(theme.PAD), spacing=px(theme.PAD))
        # the last scanned item, big, above the basket (shown once something is scanned)
        self.column = BoxLayout(orientation="vertical", spacing=px(theme.PAD))
        self.last = LastScannedPanel(actions.pictures, size_hint_y=None,
                                     height=px(LAST_SCANNED_H))
        basket = Card(orientation="vertical", padding=px(16), spacing=px(10))
        # "Look up item": the produce picker (kiosk/ui/picker.py), for items with no barcode
        self.look_up = secondary("", self.actions.open_picker, tid="look_up", size_key="m",
                                 size_hint_x=None, width=px(250))
        top = BoxLayout(size_hint_y=None, height=max(px(46), theme.touch(60)), spacing=px(12))
        self.basket_title = Text(size_key="l", bold=True)
        self.count = Text(size_key="m", color=theme.MUTED, halign="right", size_hint_x=0.6)
        top.add_widget(self.basket_title)
        top.add_widget(self.count)
        top.add_widget(self.look_up)
        basket.add_widget(top)
        self.area = FloatLayout()
        self.scroll = ScrollView(do_scroll_x=False, bar_width=px(10), scroll_type=["bars",
                                                                                   "content"],
                                 pos_hint={"x": 0, "y": 0}, size_hint=(1, 1))
        self.list = BoxLayout(orientation="vertical", size_hint_y=None, spacing=px(10))
        # rows start at the top; the list scrolls once it is taller than the view
        self.list.bind(minimum_height=self._fit_list)
        self.scroll.bind(height=self._fit_list)
        self.scroll.add_widget(self.list)
        self.empty = BoxLayout(orientation="vertical", spacing=px(14),
                               pos_hint={"x": 0, "y": 0}, size_hint=(1, 1),
                               padding=(px(40), px(60)))
        self.empty_icon = Icon(kind="barcode", fg=theme.INK, size_hint_y=None, height=px(150))
        self.empty_title = Text(size_key="xl", bold=True, halign="center", size_hint_y=None,
                                height=px(70))
        self.empty_hint = Text(size_key="l", halign="center", color=theme.MUTED, wrap=True,
                               auto_height=True)
        for w in (spacer(), self.empty_icon, self.empty_title, self.empty_hint, spacer()):
            self.empty.add_widget(w)
        self.area.add_widget(self.scroll)
        self.area.add_widget(self.empty)
        basket.add_widget(self.area)
        self.column.add_widget(basket)
        body.add_widget(self.column)

        side = Card(orientation="vertical", size_hint_x=None, width=px(430), padding=px(22),
                    spacing=px(6))
        self.subtotal = TotalsLine()
        self.savings = TotalsLine(colour=theme.GREEN)
        self.discounts = BoxLayout(orientation="vertical", size_hint_y=None, height=0)
        self.tax = TotalsLine()
        self.total_label = Text(size_key="l", bold=True, size_hint_y=None, height=px(44))
        self.total = Text(size_key="huge", bold=True, halign="right", size_hint_y=None,
                          height=px(124))
        rule = Widget(size_hint_y=None, height=px(6))
        _fill(rule, theme.CARD)
        self.pay = primary("", lambda: self.actions.send("checkout"), size_key="xl",
                           tid="checkout", size_hint_y=None, height=theme.touch(104))
        self.cancel = danger("", lambda: self.actions.send("cancel"), tid="cancel",
                             size_hint_y=None, height=theme.touch(64))
        # "I brought a bag": only on a lane with the bagging-area check (added when offered)
        self.own_bag = secondary("", lambda: self.actions.send("own_bag"), tid="own_bag",
                                 size_hint_y=None, height=theme.touch(64))
        self.own_bag_gap = Widget(size_hint_y=None, height=px(12))
        for w in (self.subtotal, self.savings, self.discounts, self.tax, rule, self.total_label,
                  self.total, spacer(), self.pay, Widget(size_hint_y=None, height=px(12)),
                  self.cancel):
            side.add_widget(w)
        self.side = side
        body.add_widget(side)
        self.add_widget(body)
        self.rows: dict[int, BasketRow] = {}
        self._order: list[int] = []
        self._last_seen: int | None = None

    def _fit_list(self, *_a) -> None:
        self.list.height = max(self.list.minimum_height, self.scroll.height)

    def _fit_discounts(self) -> None:
        self.discounts.height = sum(c.height for c in self.discounts.children)

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Scan your items")

    def render(self, v: View, t: Translator) -> None:
        lang = t.lang
        for w in (self.basket_title, self.count, self.empty_title, self.empty_hint,
                  self.total_label, self.pay, self.cancel):
            w.lang = lang
        self.basket_title.text = t.tr("Your basket")
        self.count.text = v.item_count if v.rows else ""
        self.empty_title.text = t.tr("Scan your first item")
        # fruit and vegetables are weighed only where a produce scale answers
        self.empty_hint.text = (t.tr("Hold the barcode under the scanner. Weigh fruit and"
                                     " vegetables on the scale.")
                                if self.actions.scale_msg is not None
                                else t.tr("Hold the barcode under the scanner."))
        self.empty.opacity = 0 if v.rows else 1
        self.scroll.opacity = 1 if v.rows else 0
        self.subtotal.set(t.tr("Subtotal"), v.subtotal, lang)
        self.savings.set(t.tr("You save"), v.savings, lang)
        self.discounts.clear_widgets()
        for name, amount in v.discounts[:MAX_DISCOUNT_LINES]:
            line = TotalsLine(size_key="xs", colour=theme.GREEN)
            line.set(name, amount, lang)
            line.bind(height=lambda *_a: self._fit_discounts())
            self.discounts.add_widget(line)
        self._fit_discounts()
        self.tax.set(v.tax_label, v.tax, lang)
        self.total_label.text = t.tr("Total")
        self.total.text = v.total
        self.pay.text = t.tr("Pay now")
        self.look_up.lang = lang
        self.look_up.text = t.tr("Look up item")
        self.pay.disabled = not v.can_pay
        self.cancel.text = t.tr("Cancel order")
        self.cancel.disabled = not v.rows
        self.cancel.opacity = 1 if v.rows else 0
        self.own_bag.lang = lang
        self.own_bag.text = t.tr("I brought a bag")
        if v.can_own_bag and self.own_bag.parent is None:
            at = self.side.children.index(self.cancel)  # children run bottom to top
            self.side.add_widget(self.own_bag_gap, index=at + 1)
            self.side.add_widget(self.own_bag, index=at + 2)
        elif not v.can_own_bag and self.own_bag.parent is not None:
            self.side.remove_widget(self.own_bag)
            self.side.remove_widget(self.own_bag_gap)
        self.last.show(v.last_scanned, lang)
        if v.last_scanned and self.last.parent is None:
            self.column.add_widget(self.last, index=len(self.column.children))
        elif not v.last_scanned and self.last.parent is not None:
            self.column.remove_widget(self.last)
        ids = [r.line_id for r in v.rows]
        for line_id in list(self.rows):
            if line_id not in ids:
                del self.rows[line_id]
        for r in v.rows:
            if r.line_id not in self.rows:
                self.rows[r.line_id] = BasketRow(self.actions, r.line_id)
            self.rows[r.line_id].update(r, t)
        if ids != self._order:
            self.list.clear_widgets()
            for line_id in ids:
                self.list.add_widget(self.rows[line_id])
            self.list.add_widget(spacer())  # takes the slack: rows stay at the top
            self._order = ids
        if v.last_line_id != self._last_seen and v.last_line_id in self.rows:
            self._last_seen = v.last_line_id
            row = self.rows[v.last_line_id]
            Clock.schedule_once(lambda _dt: self._reveal(row), 0)

    def _reveal(self, row: BasketRow) -> None:
        if row.parent is self.list and self.list.height > self.scroll.height:
            self.scroll.scroll_to(row, padding=px(10), animate=False)


# -- attendant ----------------------------------------------------------------------------

class AttendantPage(Page):
    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        _fill(self, theme.BG)
        body = BoxLayout(orientation="horizontal", padding=px(theme.PAD), spacing=px(theme.PAD))
        left = Card(orientation="vertical", padding=px(40), spacing=px(18))
        self.icon = Icon(kind="alert", bg=theme.AMBER, fg=theme.INK, size_hint_y=None,
                         height=px(140))
        self.title = Text(size_key="xl", bold=True, halign="center", wrap=True,
                          auto_height=True)
        self.body = Text(size_key="l", halign="center", wrap=True, auto_height=True,
                         color=theme.MUTED)
        self.item = Text(size_key="xl", bold=True, halign="center", wrap=True, auto_height=True)
        self.wait = Text(size_key="m", halign="center", wrap=True, auto_height=True,
                         color=theme.MUTED)
        # what the shopper may do without staff: withdraw a help call, put an unknown item aside
        self.shopper = secondary("", self._shopper, size_key="l", tid="shopper:resolve",
                                 size_hint=(None, None), width=px(520),
                                 height=theme.touch(88))
        self.shopper_row = BoxLayout(size_hint_y=None, height=self.shopper.height)
        for w in (spacer(), self.shopper, spacer()):
            self.shopper_row.add_widget(w)
        for w in (spacer(), self.icon, self.title, self.body, self.item, self.wait,
                  self.shopper_row, spacer()):
            left.add_widget(w)
        self._shopper_cmd = ""
        body.add_widget(left)
        self.staff = Card(orientation="vertical", size_hint_x=None, width=px(460),
                          padding=px(22), spacing=px(12), bg=theme.CARD, outline=theme.LINE)
        self.staff_title = Text(size_key="m", bold=True, color=theme.MUTED, size_hint_y=None,
                                height=px(40))
        self.pin_shown = Text(size_key="xl", bold=True, halign="center", size_hint_y=None,
                              height=px(64))
        self.pin_note = Text(size_key="s", halign="center", color=theme.RED, wrap=True,
                             auto_height=True)
        self.pad = PinPad(self._digit, self._clear, self._ok)
        self.actions_box = BoxLayout(orientation="vertical", spacing=px(14))
        self.signed_in = Text(size_key="m", bold=True, size_hint_y=None, height=px(48))
        self.approve = primary("", lambda: self._staff("approve_age"), size_key="l",
                               tid="staff:approve", size_hint_y=None, height=theme.touch(88))
        self.void = danger("", lambda: self._staff("void_line"), size_key="l",
                           tid="staff:void", size_hint_y=None, height=theme.touch(80))
        self.resume = primary("", lambda: self._staff("clear"), size_key="l",
                              tid="staff:clear", size_hint_y=None, height=theme.touch(88))
        self.cancel = danger("", lambda: self._staff("cancel_basket"), size_key="m",
                             tid="staff:cancel", size_hint_y=None, height=theme.touch(72))
        # training mode in or out (kiosk.domain.training): on a help call, basket empty
        self.training = secondary("", lambda: self._staff(self._training_action), size_key="m",
                                  tid="staff:training", size_hint_y=None,
                                  height=theme.touch(72))
        self._training_action = "training_on"
        self.add_widget(body)
        body.add_widget(self.staff)
        self._pin = ""
        self._mode = ""
        self._line_id: int | None = None

    def _digit(self, d: str) -> None:
        if len(self._pin) < 12:
            self._pin += d
            self._show_pin()

    def _clear(self) -> None:
        self._pin = ""
        self._show_pin()

    def _ok(self) -> None:
        if len(self._pin) >= 4:
            self.actions.send_pin(self._pin)
        self._pin = ""
        self._show_pin()

    def _show_pin(self) -> None:
        self.pin_shown.text = " ".join("●" * len(self._pin)) if self._pin else self._prompt

    def _staff(self, action: str) -> None:
        fields: dict[str, Any] = {"action": action}
        if action == "void_line" and self._line_id:
            fields["line_id"] = self._line_id
        self.actions.send("attendant", **fields)

    def _shopper(self) -> None:
        if self._shopper_cmd:
            self.actions.send(self._shopper_cmd)

    def on_leave(self, *_a) -> None:
        self._pin = ""

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Please wait for an attendant")

    def render(self, v: View, t: Translator) -> None:
        lang = t.lang
        for w in (self.title, self.body, self.item, self.wait, self.staff_title, self.pin_note,
                  self.signed_in, self.approve, self.void, self.resume, self.cancel,
                  self.pin_shown):
            w.lang = lang
        reason = v.attendant_reason
        if reason == "age_restricted":
            self.title.text = t.tr("An attendant will check your ID")
            self.body.text = t.tr("This item is age-restricted:")
            self.item.text = v.attendant_item
        elif reason == "unknown_barcode":
            self.title.text = t.tr("Item not recognised")
            self.body.text = t.tr("This barcode is not in our system:")
            self.item.text = v.attendant_code
        elif reason == "item_expired":
            self.title.text = t.tr("This item is past its date")
            self.body.text = t.tr("It cannot be sold. An attendant will take it. Date:")
            self.item.text = v.attendant_detail
        elif reason == "item_recalled":
            self.title.text = t.tr("This item has been recalled")
            self.body.text = t.tr("It cannot be sold. An attendant will take it. Batch:")
            self.item.text = v.attendant_detail
        elif reason in BAGGING_TEXT:  # the bagging area's alerts (kiosk/domain/bagging.py)
            title, body = BAGGING_TEXT[reason]
            self.title.text, self.body.text = t.tr(title), t.tr(body)
            self.item.text = v.attendant_item if reason == "missing_item" else ""
        else:
            self.title.text = t.tr("Help is on the way")
            self.body.text = t.tr("An attendant has been called.")
            self.item.text = ""
        self.wait.text = t.tr("Please wait here. You can keep your items in the bagging area.")
        if v.help_called:
            self._shopper_cmd, label = "cancel_help", t.tr("Cancel help")
        elif v.can_put_aside:
            self._shopper_cmd, label = "put_aside", t.tr("Put the item aside")
            self.wait.text = t.tr("Or put the item aside and go on without it.")
        elif v.can_own_bag:
            self._shopper_cmd, label = "own_bag", t.tr("I brought a bag")
            self.wait.text = t.tr("Your own bag? Tap below. An attendant has been called.")
        else:
            self._shopper_cmd, label = "", ""
        self.shopper.lang = lang
        self.shopper.text = label
        self.shopper.disabled = not label
        self.shopper.opacity = 1 if label else 0
        self.shopper_row.height = self.shopper.height if label else 0
        self.staff_title.text = t.tr("Staff only")
        self._prompt = t.tr("Enter staff PIN")
        self._line_id = next((r.line_id for r in v.rows if r.name == v.attendant_item), None)
        self.pin_note.text = v.notice if v.notice else ""
        self.pad.relabel(lang, t.tr("Clear"), t.tr("OK"))
        mode = "staff" if v.staff_name else "pin"
        if mode != self._mode:
            self.staff.clear_widgets()
            self.staff.add_widget(self.staff_title)
            if mode == "pin":
                for w in (self.pin_shown, self.pin_note, spacer(), self.pad):
                    self.staff.add_widget(w)
            else:
                self.staff.add_widget(self.signed_in)
                self.actions_box.clear_widgets()
                self.staff.add_widget(self.actions_box)
            self._mode = mode
        if mode == "staff":
            self.signed_in.text = t.tr("Signed in: {name}", name=v.staff_name)
            self.approve.text = t.tr("Approve ID")
            self.void.text = t.tr("Remove item")
            self.resume.text = t.tr("Resume checkout")
            self.cancel.text = t.tr("Cancel order")
            wanted = ([self.approve, self.void] if reason == "age_restricted"
                      else [self.resume])
            if reason == "help" and not v.rows:
                self._training_action = "training_off" if v.training else "training_on"
                self.training.text = (t.tr("Leave training") if v.training
                                      else t.tr("Start training"))
                self.training.lang = t.lang
                wanted.append(self.training)
            wanted += [spacer(), self.cancel]
            self.actions_box.clear_widgets()
            for w in wanted:
                self.actions_box.add_widget(w)
        self._show_pin()


# -- payment ------------------------------------------------------------------------------

def give_way(icon: Widget, box: BoxLayout, most: float) -> None:
    """Size ``icon`` to what vertical ``box`` has left once its padding, spacing and other
    fixed-height children are counted (the flexible spacers take nothing): at most ``most``,
    never below 48 px. How an icon gives way to long texts on a tile or a message screen."""
    fixed = sum(w.height for w in box.children if w is not icon and w.size_hint_y is None)
    gaps = box.spacing * (len(box.children) - 1)
    free = box.height - box.padding[1] - box.padding[3] - gaps - fixed
    icon.height = max(px(48), min(most, free))



class Tile(ButtonBehavior, Card):
    """A big tappable choice with a drawn icon, a title and a hint."""

    def __init__(self, icon: str, on_tap, tid: str, **kw) -> None:
        super().__init__(orientation="vertical", padding=px(28), spacing=px(12), bg=theme.CARD,
                         outline=theme.BLUE, outline_width=3, **kw)
        self.tid = tid
        self._on_tap = on_tap
        self.icon = Icon(kind=icon, bg=theme.BLUE, fg=theme.WHITE, size_hint_y=None,
                         height=px(150))
        self.title = Text(size_key="xl", bold=True, halign="center", size_hint_y=None,
                          height=px(66))
        self.hint = Text(size_key="m", halign="center", color=theme.MUTED, wrap=True,
                         auto_height=True)
        for w in (self.icon, self.title, self.hint, spacer()):
            self.add_widget(w)
        self.bind(state=lambda *_a: setattr(self, "bg", theme.BLUE_PALE if self.state == "down"
                                            else theme.CARD))
        self.bind(height=self._fit)
        self.hint.bind(height=self._fit)

    def _fit(self, *_a) -> None:
        """The icon gives way when the tile is short (a notice above the tiles, a hint on
        two lines): it is never drawn over the notice."""
        give_way(self.icon, self, px(150))

    def on_release(self) -> None:
        self._on_tap()


class PaymentPage(Page):
    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        _fill(self, theme.BG)
        box = BoxLayout(orientation="vertical", padding=(px(60), px(26)), spacing=px(18))
        top = BoxLayout(size_hint_y=None, height=px(120))
        self.question = Text(size_key="xl", bold=True, size_hint_x=1.3)
        amounts = BoxLayout(orientation="vertical")
        self.to_pay = Text(size_key="m", color=theme.MUTED, halign="right")
        self.total = Text(size_key="xxl", bold=True, halign="right")
        amounts.add_widget(self.to_pay)
        amounts.add_widget(self.total)
        top.add_widget(self.question)
        top.add_widget(amounts)
        self.accepted = Text(size_key="m", color=theme.MUTED, wrap=True, auto_height=True)
        self.notice = Banner()
        # one tile per payment method the lane offers (the state's ``methods``), in order
        self.tiles = BoxLayout(spacing=px(40))
        self.methods: dict[str, Tile] = {}
        bottom = BoxLayout(size_hint_y=None, height=theme.touch(80))
        self.back = secondary("", lambda: self.actions.send("back"), tid="back",
                              size_hint_x=None, width=px(360))
        bottom.add_widget(self.back)
        bottom.add_widget(spacer())
        for w in (top, self.accepted, self.notice, self.tiles, bottom):
            box.add_widget(w)
        self.add_widget(box)

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Payment")

    def _tiles(self, v: View) -> None:
        if list(self.methods) == [m.id for m in v.methods]:
            return
        self.tiles.clear_widgets()
        self.methods = {}
        for m in v.methods:
            tile = Tile(m.id, lambda mid=m.id: self.actions.send("pay", method=mid),
                        f"pay:{m.id}")
            self.methods[m.id] = tile
            self.tiles.add_widget(tile)

    def render(self, v: View, t: Translator) -> None:
        self._tiles(v)
        for w in (self.question, self.to_pay, self.total, self.back, self.accepted):
            w.lang = t.lang
        self.question.text = t.tr("How would you like to pay?")
        self.accepted.text = v.accepted_here
        self.to_pay.text = t.tr("Total to pay")
        self.total.text = v.total
        for m in v.methods:
            tile = self.methods[m.id]
            tile.title.lang = tile.hint.lang = t.lang
            tile.title.text, tile.hint.text = m.label, m.hint
        self.back.text = t.tr("Back to basket")
        notice = v.notice or (t.tr("Checking an earlier payment. Please wait a moment.")
                              if v.payments_resolving else "") or v.voice_note
        self.notice.show(notice, t.lang)


# -- messages (authorizing, approved, declined, reversing, unavailable, out of service) ---

class MessagePage(Page):
    """Icon, title, body and optional detail lines and buttons, centred."""

    icon_kind, icon_bg, icon_fg = "wait", theme.BLUE, theme.WHITE
    spinning = False
    icon_size = 150

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        _fill(self, theme.BG)
        outer = BoxLayout(orientation="vertical", padding=(px(160), px(30)), spacing=px(16))
        self.outer = outer
        self.icon = Icon(kind=self.icon_kind, bg=self.icon_bg, fg=self.icon_fg,
                         size_hint_y=None, height=px(self.icon_size))
        self.title = Text(size_key="xxl", bold=True, halign="center", wrap=True,
                          auto_height=True)
        self.body = Text(size_key="l", halign="center", wrap=True, auto_height=True,
                         color=theme.MUTED)
        self.detail = Text(size_key="xl", bold=True, halign="center", wrap=True,
                           auto_height=True)
        self.small = Text(size_key="m", halign="center", wrap=True, auto_height=True,
                          color=theme.MUTED)
        self.buttons = BoxLayout(size_hint_y=None, height=0, spacing=px(24))
        for w in (spacer(), self.icon, self.title, self.body, self.detail, self.small,
                  Widget(size_hint_y=None, height=px(10)), self.buttons, spacer()):
            outer.add_widget(w)
        self.add_widget(outer)
        for w in (outer, self.title, self.body, self.detail, self.small, self.buttons):
            w.bind(height=self._fit_icon)

    def _fit_icon(self, *_a) -> None:
        """The icon gives way when the texts are long (a title on two lines, a notice): it
        is never pushed under the header or drawn over the title."""
        give_way(self.icon, self.outer, px(self.icon_size))

    def on_enter(self, *_a) -> None:
        self.icon.spin(self.spinning)

    def on_leave(self, *_a) -> None:
        self.icon.spin(False)

    def set_texts(self, t: Translator, title: str, body: str, detail: str = "",
                  small: str = "") -> None:
        for w, text in ((self.title, title), (self.body, body), (self.detail, detail),
                        (self.small, small)):
            w.lang = t.lang
            w.text = text
            w.opacity = 1 if text else 0

    def set_buttons(self, buttons: list[Btn]) -> None:
        if list(reversed(self.buttons.children)) != buttons:
            self.buttons.clear_widgets()
            for b in buttons:
                self.buttons.add_widget(b)
        self.buttons.height = theme.touch(96) if buttons else 0


class StartingPage(MessagePage):
    icon_kind, icon_bg, icon_fg, spinning = "wait", theme.BG, theme.INK, True

    def render(self, v: View, t: Translator) -> None:
        # sizes the next screens use anyway: every font size costs a face in memory
        self.title.size_key, self.body.size_key = "xl", "m"
        self.set_texts(t, t.tr("Starting…"), t.tr("One moment, please."))


class AuthorizingPage(MessagePage):
    icon_kind, icon_bg, icon_fg, spinning = "wait", theme.BLUE, theme.WHITE, True

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Payment")

    def render(self, v: View, t: Translator) -> None:
        if v.payment_method != "card":
            # no code is shown on this lane yet: promise nothing the screen does not show
            body = t.tr("This takes a moment. Please stay at the checkout.")
        else:
            body = t.tr("Follow the instructions on the card reader. Do not remove your card.")
        self.set_texts(t, t.tr("Processing payment…"), body, v.payment_amount)


class CardPage(MessagePage):
    """A card step: what to do with the card, the amount, and Cancel while it is free."""

    icon_kind, icon_bg, icon_fg = "card", theme.BLUE, theme.WHITE

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        self.cancel = danger("", lambda: self.actions.send("cancel"), tid="card:cancel",
                             size_key="l", size_hint_x=None, width=px(360))

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Payment")

    def show_cancel(self, v: View, t: Translator, others: list | None = None) -> None:
        self.cancel.lang = t.lang
        self.cancel.text = t.tr("Cancel payment")
        row = list(others or [])
        if v.can_cancel_card:
            row = [*row, spacer(), self.cancel, spacer()] if not row else [*row, self.cancel]
        self.set_buttons(row)


class CardInsertPage(CardPage):
    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Insert your chip card"),
                       t.tr("Insert your card into the reader, chip first, face up, and"
                            " leave it there."), v.payment_amount)
        self.show_cancel(v, t)


class CardReadingPage(CardPage):
    icon_kind, icon_bg, icon_fg, spinning = "wait", theme.BLUE, theme.WHITE, True

    def render(self, v: View, t: Translator) -> None:
        if v.card_step == "unsupported_card":
            self.set_texts(t, t.tr("Card not supported"),
                           t.tr("This card is not supported here. Please insert a chip card."),
                           v.payment_amount)
        else:
            self.set_texts(t, t.tr("Reading card…"), t.tr("Please do not remove your card."),
                           v.payment_amount)
        self.show_cancel(v, t)


class ChooseAppPage(CardPage):
    """A co-badged card: one big button per application label, as the card names them."""

    icon_size = 110

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        self.app_buttons: list[Btn] = []
        self._labels: tuple[str, ...] = ()
        self.cancel.width = px(240)  # the applications get the room

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Choose how to pay with this card"),
                       t.tr("Your card has more than one payment application."),
                       v.payment_amount)
        if v.apps != self._labels:
            self._labels = v.apps
            self.app_buttons = [
                primary(label, lambda i=i: self.actions.send("choose_app", index=i),
                        tid=f"app:{i}", size_key="l", bg=theme.BLUE, lang="en")
                for i, label in enumerate(v.apps)]
        self.show_cancel(v, t, self.app_buttons)


class RemoveCardPage(CardPage):
    icon_kind, icon_bg, icon_fg = "card", theme.AMBER, theme.INK

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Please remove your card"), t.tr("One moment, please."),
                       v.payment_amount)
        self.set_buttons([])


class TakeCardPage(CardPage):
    """A card left in the reader when the last session ended: it pays for nobody, so take
    it (the previous shopper walking away, or the next one about to insert theirs)."""

    icon_kind, icon_bg, icon_fg = "card", theme.AMBER, theme.INK

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Payment") if v.card_step else ""

    def render(self, v: View, t: Translator) -> None:
        if v.card_step:  # a payment waits for a card of its own
            body = t.tr("A card from an earlier sale is still in the reader. Take it out,"
                        " then insert your card.")
        else:
            body = t.tr("A card was left in the card reader. Please take it with you.")
        self.set_texts(t, t.tr("Please take your card"), body, v.payment_amount)
        self.show_cancel(v, t)


class WalletPage(CardPage):
    """A phone-wallet step (kiosk/payments/wallet/method.py), the amount, and Cancel where
    the attempt may be stopped (a sent order is then closed by the lane)."""

    icon_kind, icon_bg, icon_fg = "qr", theme.BLUE, theme.WHITE


class WalletShowPage(WalletPage):
    """Show your payment code to the scanner, or switch to scanning the kiosk's code."""

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        self.switch = primary("", lambda: self.actions.send("choose_app", index=1),
                              tid="wallet:scan_instead", size_key="l", bg=theme.BLUE)

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Show your payment code to the scanner"),
                       t.tr("Open the payment app on your phone and hold its payment code"
                            " under the scanner."), v.payment_amount, v.wallet_notice)
        self.switch.lang = t.lang
        self.switch.text = t.tr("Scan a code with my phone instead")
        self.show_cancel(v, t, [self.switch])


class WalletCheckingPage(WalletPage):
    icon_kind, icon_bg, icon_fg, spinning = "wait", theme.BLUE, theme.WHITE, True

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Checking the payment…"), t.tr("One moment, please."),
                       v.payment_amount)
        self.set_buttons([])


class WalletConfirmPage(WalletPage):
    icon_kind, icon_bg, icon_fg = "qr", theme.AMBER, theme.INK

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Confirm the payment on your phone"),
                       t.tr("Your payment app asks you to confirm this payment."),
                       v.payment_amount)
        self.show_cancel(v, t)


class WalletScanPage(WalletPage):
    """The kiosk's own QR code (EMVCo merchant-presented, or the gateway's) with the amount
    and a countdown: kiosk.ui.pay_qr.PayQr draws all three; Cancel below it."""

    def __init__(self, actions: Actions, **kw) -> None:
        from kiosk.ui.pay_qr import PayQr

        super().__init__(actions, **kw)
        # the page is the widget (instruction, QR, amount, countdown) and Cancel below it
        self.outer.clear_widgets()
        self.outer.padding = (px(160), px(16))
        self.qr = PayQr()
        self.outer.add_widget(self.qr)
        self.outer.add_widget(self.buttons)
        self._shown = ""

    def on_leave(self, *_a) -> None:
        super().on_leave()
        self.qr.hide()
        self._shown = ""

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, "", "")
        if v.wallet_qr and v.wallet_qr != self._shown:
            self._shown = v.wallet_qr
            self.qr.show(v.wallet_qr, v.payment_amount, v.wallet_deadline or time.monotonic(), t)
        self.show_cancel(v, t)


class ApprovedPage(MessagePage):
    icon_kind, icon_bg, icon_fg = "check", theme.GREEN, theme.WHITE
    icon_size = 96  # room for the receipt question and its buttons

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        self.print = primary("", lambda: self.actions.send("receipt", choice="print"),
                             tid="receipt:print", size_key="l")
        self.none = secondary("", lambda: self.actions.send("receipt", choice="none"),
                              tid="receipt:none", size_key="l")
        # "receipt on my phone": the sale's e-receipt link as a QR code, on this screen only
        # (a local view: the shopper may still print, or choose none to finish)
        self.phone = secondary("", self._show_qr, tid="receipt:phone", size_key="l")
        self.qr = QrCode(size_hint_y=None, height=px(240))  # in the icon's place when shown
        self._last: tuple[View, Translator] | None = None

    def _show_qr(self) -> None:
        self.qr.payload = self._last[0].e_receipt_url if self._last else ""
        if self._last:
            self.render(*self._last)

    def on_leave(self, *_a) -> None:
        super().on_leave()
        self.qr.payload = ""

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Payment")

    def render(self, v: View, t: Translator) -> None:
        small = [t.tr("Approval code {code}", code=v.auth_code)] if v.auth_code else []
        if v.payment_method == "card" and v.card:
            small.insert(0, v.card)   # brand and masked number only, as on the receipt
        self._last = (v, t)
        if not v.e_receipt_url:
            self.qr.payload = ""
        showing = bool(self.qr.payload)
        if v.receipt_choice:
            body = t.tr("Printing your receipt…")
            buttons: list[Btn] = []
        else:
            body = t.tr("Would you like a receipt?")
            small.append(t.tr("If you do not choose, a receipt is printed."))
            for b in (self.print, self.none, self.phone):
                b.lang = t.lang
            self.print.text = t.tr("Print receipt")
            self.none.text = t.tr("Done") if showing else t.tr("No receipt")
            self.phone.text = t.tr("Receipt on my phone")
            buttons = [self.print, self.none]
            if v.e_receipt_url and not showing:
                buttons.append(self.phone)
        if showing and not v.receipt_choice:
            body = t.tr("Scan this code with your phone to open your receipt.")
            small = []
        if v.remove_card:
            body = t.tr("Please remove your card.") + "\n" + body
        shown = self.qr if showing else self.icon
        if shown.parent is None:
            hidden = self.icon if showing else self.qr
            self.outer.add_widget(shown, index=self.outer.children.index(hidden))
            self.outer.remove_widget(hidden)
            self.outer.do_layout()
        self.outer.spacing = px(10 if showing else 16)  # room for the code on one screen
        self.set_texts(t, t.tr("Payment approved"), body, v.payment_amount, "\n".join(small))
        self.set_buttons(buttons)


class DeclinedPage(MessagePage):
    icon_kind, icon_bg, icon_fg = "cross", theme.RED, theme.WHITE

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        self.card = primary("", lambda: self.actions.send("pay", method="card"),
                            tid="retry:card", size_key="l")
        self.qr = primary("", lambda: self.actions.send("pay", method="qr"), tid="retry:qr",
                          size_key="l", bg=theme.BLUE)
        self.back = secondary("", lambda: self.actions.send("back"), tid="back", size_key="l")

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Payment")

    def render(self, v: View, t: Translator) -> None:
        title = v.decline_title
        body = v.decline_message if v.decline_message != title else ""
        if v.remove_card:
            body = t.tr("Please remove your card.") + ("\n" + body if body else "")
        self.set_texts(t, title, body, v.total,
                       t.tr("You have not been charged. Try again or choose another way"
                            " to pay."))
        for b in (self.card, self.qr, self.back):
            b.lang = t.lang
        self.card.text = t.tr("Pay by card")
        self.qr.text = t.tr("Pay by mobile QR")
        if v.decline_key in ("code_used", "code_expired", "code_invalid", "code_timeout",
                             "qr_expired", "wallet_insufficient_funds", "wallet_declined",
                             "wallet_cancelled", "wallet_amount_limit"):
            self.qr.text = t.tr("Show another code")
        self.back.text = t.tr("Back to basket")
        offered = {m.id for m in v.methods}  # a method not offered gets no retry button
        self.set_buttons([b for b, mid in ((self.card, "card"), (self.qr, "qr"))
                          if mid in offered] + [self.back])


class ReversingPage(MessagePage):
    icon_kind, icon_bg, icon_fg, spinning = "wait", theme.AMBER, theme.INK, True

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Cancelling the payment…"),
                       t.tr("The payment did not go through. Please wait: you will not be"
                            " charged."))


class UnavailablePage(MessagePage):
    icon_kind, icon_bg, icon_fg = "alert", theme.RED, theme.WHITE

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Payment is unavailable"),
                       t.tr("You have not been charged. Please wait a moment, or tap Help"
                            " for an attendant."))


class OutOfServicePage(MessagePage):
    icon_kind, icon_bg, icon_fg = "cross", theme.RED, theme.WHITE

    def render(self, v: View, t: Translator) -> None:
        self.set_texts(t, t.tr("Out of service"),
                       t.tr("This checkout is not available right now. Please use another"
                            " checkout."), "", t.tr("It will be back shortly."))


class ReceiptPage(MessagePage):
    """Thank you, the receipt's fate, Done; beside it the optional rating (kiosk/ui/rating.py)."""

    icon_kind, icon_bg, icon_fg = "check", theme.GREEN, theme.WHITE
    icon_size = 110

    def __init__(self, actions: Actions, **kw) -> None:
        super().__init__(actions, **kw)
        self.done = primary("", lambda: self.actions.send("done"), tid="done", size_key="xl",
                            size_hint_x=None, width=px(420))
        # the message on the left, the rating panel on the right while a rating is taken
        self.remove_widget(self.outer)
        self.row = BoxLayout(spacing=px(10))
        self.row.add_widget(self.outer)
        self.add_widget(self.row)
        self.rating = RatingPanel(self.actions.send, size_hint_x=None, width=px(540))

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Receipt")

    def render(self, v: View, t: Translator) -> None:
        if v.receipt_paper == "none":
            body = t.tr("No receipt was printed, as you chose.")
        elif v.receipt_paper == "failed":
            body = t.tr("Your receipt could not be printed. Please ask an attendant.")
        else:
            body = t.tr("Please take your receipt.")
        detail = t.tr("Paid {amount}", amount=v.payment_amount or v.total)
        lines = []
        if v.savings:
            lines.append(t.tr("You saved {amount}", amount=v.savings))
        lines.append(v.when)
        lines.append(t.tr("Transaction {txn}", txn=v.txn))
        self.set_texts(t, t.tr("Thank you!"), body, detail, "\n".join(lines))
        rating = bool(v.rating)
        if rating != (self.rating.parent is not None):
            if rating:
                self.row.add_widget(self.rating)
            else:
                self.row.remove_widget(self.rating)
            self.outer.padding = (px(40), px(6)) if rating else (px(160), px(30))
            self.row.padding = (0, px(24), px(40), px(24)) if rating else (0, 0, 0, 0)
        if rating:
            self.rating.render(v.rating, t)
        self.done.lang = t.lang
        self.done.text = t.tr("Done")
        if self.done.parent is None:
            self.buttons.clear_widgets()
            self.buttons.add_widget(spacer())
            self.buttons.add_widget(self.done)
            self.buttons.add_widget(spacer())
        self.buttons.height = theme.touch(96)


class IdleOverlay(FloatLayout):
    """'Are you still there?' with a countdown; any touch on it keeps the order."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        _fill(self, theme.SCRIM)
        self.card = Card(orientation="vertical", size_hint=(None, None), width=px(760),
                         height=px(440), pos_hint={"center_x": 0.5, "center_y": 0.5},
                         padding=px(36), spacing=px(14), bg=theme.CARD, outline=theme.AMBER,
                         outline_width=4)
        self.title = Text(size_key="xl", bold=True, halign="center", size_hint_y=None,
                          height=px(66))
        self.seconds = Text(size_key="huge", bold=True, halign="center", size_hint_y=None,
                            height=px(120), color=theme.RED)
        self.body = Text(size_key="l", halign="center", wrap=True, auto_height=True)
        self.button = primary("", lambda: None, size_key="xl", tid="still-here",
                              size_hint_y=None, height=theme.touch(100))
        for w in (self.title, self.seconds, self.body, spacer(), self.button):
            self.card.add_widget(w)
        self.add_widget(self.card)
        self.deadline: float | None = None
        self._t: Translator | None = None
        self._ev = None

    def on_touch_down(self, touch) -> bool:
        if not self.collide_point(*touch.pos):
            return False  # the header (language, help) stays usable
        super().on_touch_down(touch)
        return True  # a touch anywhere on the warning keeps the order (the app sent "touch")

    def show(self, deadline: float, t: Translator) -> None:
        self.deadline, self._t = deadline, t
        for w in (self.title, self.body, self.button, self.seconds):
            w.lang = t.lang
        self.title.text = t.tr("Are you still there?")
        self.button.text = t.tr("I'm still here")
        self._tick()
        if self._ev is None:
            self._ev = Clock.schedule_interval(lambda _dt: self._tick(), 0.5)

    def hide(self) -> None:
        if self._ev is not None:
            self._ev.cancel()
            self._ev = None
        self.deadline = None

    def _tick(self) -> None:
        if self.deadline is None or self._t is None:
            return
        left = max(0, int(self.deadline - time.monotonic() + 0.999))
        self.seconds.text = str(left)
        self.body.text = self._t.ntr("Your order will be cancelled in {n} second.",
                                     "Your order will be cancelled in {n} seconds.", left)


PAGES: dict[str, type[Page]] = {
    "starting": StartingPage, "attract": AttractPage, "shopping": ShoppingPage,
    "attendant": AttendantPage, "payment": PaymentPage, "authorizing": AuthorizingPage,
    "card_insert": CardInsertPage, "card_reading": CardReadingPage,
    "choose_app": ChooseAppPage, "remove_card": RemoveCardPage, "take_card": TakeCardPage,
    "wallet_show": WalletShowPage, "wallet_checking": WalletCheckingPage,
    "wallet_confirm": WalletConfirmPage, "wallet_scan": WalletScanPage,
    "approved": ApprovedPage, "declined": DeclinedPage, "receipt": ReceiptPage,
    "reversing": ReversingPage, "payment_unavailable": UnavailablePage,
    "out_of_service": OutOfServicePage,
}
