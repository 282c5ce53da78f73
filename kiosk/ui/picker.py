"""The produce picker ("Look up item"): a picture grid of the store's loose items, a search
keypad in the shopper's language, a PLU keypad and the produce scale's live weight.

Opened from the basket screen; a view of the UI only (like the e-receipt QR), the checkout
stays in ``shopping``. A tile tap, or a PLU typed and confirmed, sends ``add_plu`` with no
weight: kiosk-core prices the item from the scale's settled weight itself
(:func:`kiosk.domain.pricing.priceable_weight`) and refuses it, with the reason the toast
shows, while the scale moves or is empty. The picker closes when an item is added (the
state's ``last_line_id`` changes: by the picker, voice, the keys or the scanner).

Search keys by language (:mod:`kiosk.domain.search`): A-Z in English and in Chinese (pinyin
initials, XJ for 香蕉), the 14 initial consonants in Korean (ㅂㄴㄴ for 바나나). Every tile
shows a picture: the store's photo or a colour emoji (:mod:`kiosk.ui.picker_art`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView

from kiosk.domain.search import CHOSEONG_KEYS, Item, search
from kiosk.ui import theme
from kiosk.ui.i18n import Translator
from kiosk.ui.picker_view import MAX_PLU, MAX_QUERY, price_line, weight_line
from kiosk.ui.screens import Page, _fill
from kiosk.ui.viewmodel import View
from kiosk.ui.widgets import Btn, Card, Icon, Text, primary, secondary, spacer

px = theme.px
LATIN_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "123456789"
BACKSPACE = "←"
COLS = 4   # tiles a row


class PickerActions(Protocol):
    loose: list[tuple[Item, int]]          # the loose items and their prices
    tile_pictures: dict[str, Path | None]  # product key → its tile's picture
    scale_msg: dict | None                 # kiosk-scale's last produce reading

    def send(self, kind: str, **fields: Any) -> str | None: ...
    def close_picker(self) -> None: ...


class ItemTile(ButtonBehavior, Card):
    """One loose item: its picture (never blank), name and price per kg."""

    def __init__(self, item: Item, picture: Path | None, on_tap, **kw) -> None:
        super().__init__(orientation="vertical", padding=px(10), spacing=px(4), bg=theme.CARD,
                         outline=theme.LINE, radius=12, size_hint_y=None,
                         height=theme.touch(214), **kw)
        self.item, self.tid, self._on_tap = item, f"pick:{item.plu}", on_tap
        if picture is not None:
            face = Image(source=str(picture), fit_mode="contain")
        else:  # no photo and no emoji font: the drawn bag of the basket screen
            face = Icon(kind="bag", fg=theme.GREY, bg=theme.CARD)
        self.face = face
        self.name = Text(size_key="s", bold=True, halign="center", valign="middle", wrap=True,
                         size_hint_y=None, height=px(68))   # two lines: long names wrap
        self.price = Text(size_key="s", halign="center", color=theme.MUTED, size_hint_y=None,
                          height=px(30))
        for w in (face, self.name, self.price):
            self.add_widget(w)
        self.bind(state=lambda *_a: setattr(self, "bg", theme.GREEN_PALE
                                            if self.state == "down" else theme.CARD))

    @property
    def blank(self) -> bool:
        """No picture drawn on this tile (a photo or emoji that did not load)."""
        return isinstance(self.face, Image) and self.face.texture is None

    def show(self, price: int, t: Translator) -> None:
        self.name.lang = self.price.lang = t.lang
        self.name.text = self.item.name(t.lang)
        self.price.text = price_line(self.item, price, t)

    def on_release(self) -> None:
        self._on_tap(self.item)


class Keypad(GridLayout):
    """Keys in a grid; rebuilt when the set of keys changes (language, mode)."""

    def __init__(self, on_key, **kw) -> None:
        super().__init__(spacing=px(8), size_hint_y=None, **kw)
        self._on_key = on_key
        self._keys: tuple[str, ...] = ()
        self.buttons: dict[str, Btn] = {}

    def set_keys(self, keys: tuple[str, ...], cols: int, lang: str, labels: dict[str, str],
                 key_h: float) -> None:
        if keys != self._keys:
            self.clear_widgets()
            self.buttons = {}
            self.cols = cols
            for key in keys:
                ok = key == "ok"
                btn = (primary if ok else Btn)(
                    text="", on_tap=lambda k=key: self._on_key(k), tid=f"key:{key}",
                    size_key="m" if ok else "l", size_hint_y=None, height=key_h,
                    **({} if ok else {"bg": theme.CARD, "color": theme.INK,
                                      "outline": theme.LINE}))
                self.buttons[key] = btn
                self.add_widget(btn)
            self._keys = keys
            rows = -(-len(keys) // cols)
            self.height = rows * key_h + (rows - 1) * self.spacing[1]
        for key, btn in self.buttons.items():
            btn.lang = lang if key in labels else ("ko" if key in CHOSEONG_KEYS else "en")
            btn.text = labels.get(key, key)


class PickerPage(Page):
    """Look up item: grid | weight, mode, keypad, back."""

    def __init__(self, actions: PickerActions, **kw) -> None:
        super().__init__(actions, **kw)
        _fill(self, theme.BG)
        self.mode = "name"
        self.query = ""
        self.tiles: dict[str, ItemTile] = {}
        self._shown: list[str] = []
        self._t: Translator | None = None
        body = BoxLayout(orientation="horizontal", padding=px(theme.PAD),
                         spacing=px(theme.PAD))
        left = Card(orientation="vertical", padding=px(16), spacing=px(10))
        top = BoxLayout(size_hint_y=None, height=theme.touch(64), spacing=px(12))
        self.query_label = Text(size_key="m", color=theme.MUTED, size_hint_x=None,
                                width=px(150))
        self.query_text = Text(size_key="xl", bold=True)
        self.clear = secondary("", self._clear, tid="picker:clear", size_hint_x=None,
                               width=px(170))
        for w in (self.query_label, self.query_text, self.clear):
            top.add_widget(w)
        left.add_widget(top)
        self.hint = Text(size_key="s", color=theme.MUTED, wrap=True, auto_height=True)
        left.add_widget(self.hint)
        self.scroll = ScrollView(do_scroll_x=False, bar_width=px(10),
                                 scroll_type=["bars", "content"])
        self.grid = GridLayout(cols=COLS, spacing=px(12), size_hint_y=None,
                               col_force_default=True)
        self.grid.bind(minimum_height=self.grid.setter("height"), width=self._fit_columns)
        self.scroll.add_widget(self.grid)
        self.none = Text(size_key="l", halign="center", color=theme.MUTED, wrap=True,
                         auto_height=True)
        left.add_widget(self.scroll)
        body.add_widget(left)

        side = BoxLayout(orientation="vertical", size_hint_x=None, width=px(400),
                         spacing=px(12))
        self.scale_card = Card(orientation="vertical", size_hint_y=None, height=px(124),
                               padding=(px(18), px(8)), bg=theme.CARD, outline=theme.LINE)
        self.scale_title = Text(size_key="s", color=theme.MUTED, size_hint_y=None,
                                height=px(30))
        self.weight = Text(size_key="xl", bold=True, halign="center", wrap=True)
        self.scale_card.add_widget(self.scale_title)
        self.scale_card.add_widget(self.weight)
        modes = BoxLayout(size_hint_y=None, height=theme.touch(64), spacing=px(10))
        tab = {"size_key": "s", "padding": (px(6), px(6))}
        self.by_name = Btn(lambda: self._mode("name"), tid="picker:by_name", **tab)
        self.by_plu = Btn(lambda: self._mode("plu"), tid="picker:by_plu", **tab)
        modes.add_widget(self.by_name)
        modes.add_widget(self.by_plu)
        self.keypad = Keypad(self._key)
        self.back = secondary("", self.actions.close_picker, tid="picker:back",
                              size_key="l", size_hint_y=None, height=theme.touch(72))
        for w in (self.scale_card, modes, self.keypad, spacer(), self.back):
            side.add_widget(w)
        body.add_widget(side)
        self.add_widget(body)

    def _fit_columns(self, *_a) -> None:
        """Tiles keep a quarter of the grid's width, one match or twenty."""
        self.grid.col_default_width = (self.grid.width - (COLS - 1) * self.grid.spacing[0]) / COLS

    # -- input ---------------------------------------------------------------------------

    def _mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode, self.query = mode, ""
            self._redraw()

    def _clear(self) -> None:
        self.query = ""
        self._redraw()

    def _key(self, key: str) -> None:
        if key == BACKSPACE:
            self.query = self.query[:-1]
        elif key == "ok":
            self._ok()
            return
        elif len(self.query) < (MAX_PLU if self.mode == "plu" else MAX_QUERY):
            self.query += key
        self._redraw()

    def _ok(self) -> None:
        """The PLU typed: sold if it is a loose item's, else the core says it is unknown."""
        if len(self.query) >= 4:
            self.actions.send("add_plu", plu=self.query)

    def _pick(self, item: Item) -> None:
        self.actions.send("add_plu", plu=item.plu)

    def reset(self) -> None:
        """A fresh picker each time it opens: by name, nothing typed."""
        self.mode, self.query = "name", ""
        self.scroll.scroll_y = 1

    def shown(self) -> dict:
        """What the grid shows (tests, ``status``): the PLUs in order, the tiles whose picture
        is not drawn (yet), the query and the mode."""
        tiles = [self.tiles[key] for key in self._shown]
        return {"plus": [tile.item.plu for tile in tiles], "mode": self.mode,
                "query": self.query, "weight": self.weight.text,
                "blank": [tile.item.plu for tile in tiles if tile.blank]}

    # -- rendering -----------------------------------------------------------------------

    def header_title(self, v: View, t: Translator) -> str:
        return t.tr("Look up item")

    def render(self, v: View, t: Translator) -> None:
        self._t = t
        self._redraw()

    def _redraw(self) -> None:
        t = self._t
        if t is None:
            return
        lang = t.lang
        for w in (self.query_label, self.clear, self.hint, self.none, self.scale_title,
                  self.weight, self.by_name, self.by_plu, self.back):
            w.lang = lang
        self.clear.text = t.tr("Clear")
        self.back.text = t.tr("Back to basket")
        self.by_name.text = t.tr("Search by name")
        self.by_plu.text = t.tr("Enter PLU code")
        for btn, mode in ((self.by_name, "name"), (self.by_plu, "plu")):
            chosen = mode == self.mode
            btn.bg = theme.INK if chosen else theme.CARD
            btn.color = theme.WHITE if chosen else theme.INK
            btn.outline = theme.INK
        self.scale_title.text = t.tr("Scale")
        line = weight_line(self.actions.scale_msg, t)
        self.weight.text = line.text
        self.weight.size_key = "xl" if line.ready else "m"
        self.weight.color = {"ok": theme.GREEN, "warn": theme.RED}.get(line.tone, theme.INK)
        self.query_text.lang = "ko" if any(c in CHOSEONG_KEYS for c in self.query) else "en"
        self.query_text.text = self.query
        self.clear.disabled = not self.query
        key_h = theme.touch(60)
        if self.mode == "plu":
            self.query_label.text = t.tr("PLU code")
            self.hint.text = t.tr("Type the 4- or 5-digit code on the item's sticker.")
            keys = (*DIGITS, BACKSPACE, "0", "ok")
            self.keypad.set_keys(keys, 3, lang, {"ok": t.tr("OK")}, theme.touch(72))
            self.keypad.buttons["ok"].disabled = len(self.query) < 4
        else:
            self.query_label.text = t.tr("Search")
            if lang == "ko":
                self.hint.text = t.tr("Tap the first consonants of the name, e.g. ㅂㄴㄴ for"
                                      " 바나나.")
                self.keypad.set_keys((*CHOSEONG_KEYS, BACKSPACE), 5, lang, {}, key_h)
            else:
                self.hint.text = (t.tr("Tap the first letters of the pinyin, e.g. XJ for 香蕉.")
                                  if lang == "zh" else t.tr("Tap the first letters of the"
                                                            " name."))
                self.keypad.set_keys((*LATIN_KEYS, BACKSPACE), 6, lang, {}, key_h)
        self._fill_grid(t)

    def _fill_grid(self, t: Translator) -> None:
        prices = {item.key: price for item, price in self.actions.loose}
        items = [item for item, _p in self.actions.loose]
        if self.mode == "plu":
            found = search(self.query, items, t.lang) if self.query else items
        else:
            found = search(self.query.lower(), items, t.lang)
        keys = [i.key for i in found]
        for item in found:
            if item.key not in self.tiles:
                self.tiles[item.key] = ItemTile(item, self.actions.tile_pictures.get(item.key),
                                                self._pick)
            self.tiles[item.key].show(prices[item.key], t)
        if keys != self._shown:
            self.grid.clear_widgets()
            for key in keys:
                self.grid.add_widget(self.tiles[key])
            self._shown = keys
        self.none.text = "" if found else t.tr("No item matches. Try other letters, or ask"
                                               " for help.")
        if not found and self.none.parent is None:
            self.grid.add_widget(self.none)
        elif found and self.none.parent is not None:
            self.grid.remove_widget(self.none)
