"""Demo helpers for simulated devices: sample items to tap and a barcode field.

Shown under the kiosk screen when the scanner is simulated, so ``kiosk run`` is
a whole checkout on a desktop. A tile "scans" its barcode (a ``scan`` command,
as the simulated scanner would send) or, for produce, puts a sample weight on
the "scale" (``add_plu`` with that weight). Names and prices are read from the
catalog on a worker thread at start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.textinput import TextInput

from kiosk.catalog import Catalog
from kiosk.domain.gtin import GtinError, validate_gtin
from kiosk.ui import theme
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import Btn, Card, Text

log = logging.getLogger(__name__)
px = theme.px

#: (barcode or PLU, sample weight in grams for produce)
SAMPLES: tuple[tuple[str, int | None], ...] = (
    ("8801115954255", None),   # whole milk
    ("070666928444", None),    # cup noodles: 3 for 2
    ("8801094804527", None),   # cola 1.5 L: 2 for $4
    ("04011", 850),            # bananas, weighed
    ("8801052240329", None),   # kimchi
    ("8801043444279", None),   # instant noodles 5-pack
    ("8801114070130", None),   # tofu: mix and match
    ("04131", 640),            # apples, weighed
    ("8801048052745", None),   # soju: age-restricted
    ("8801068992137", None),   # red bean bun
)


@dataclass(frozen=True)
class DemoItem:
    code: str
    plu: bool
    weight_g: int | None
    names: dict[str, str]
    price_minor: int
    by_weight: bool


def load_items(catalog_path: Path) -> list[DemoItem]:
    """The sample items found in the catalog (worker thread: this reads SQLite)."""

    if not catalog_path.exists():
        return []
    catalog = Catalog(catalog_path)
    items = []
    try:
        for code, weight in SAMPLES:
            if weight is not None:
                product = catalog.by_plu(code)
            else:
                try:
                    product = catalog.by_gtin(validate_gtin(code))
                except GtinError:
                    product = None
            if product is not None:
                items.append(DemoItem(code, weight is not None, weight, product.names,
                                      product.price_minor, product.sold_by_weight))
    finally:
        catalog.close()
    return items


class DemoPanel(Card):
    """The simulated scanner and scale, below the kiosk screen."""

    def __init__(self, send: Callable[..., Any], catalog_path: Path,
                 post: Callable[[Callable[[], None]], None], **kw) -> None:
        super().__init__(orientation="horizontal", bg=theme.DEMO_BG, radius=0,
                         padding=(px(16), px(12)), spacing=px(14), size_hint_y=None,
                         height=px(theme.DEMO_H), **kw)
        self.send = send
        self.items: list[DemoItem] = []
        self.t: Translator | None = None
        left = BoxLayout(orientation="vertical", spacing=px(6))
        self.caption = Text(size_key="s", color=theme.AMBER, size_hint_y=None,
                            height=px(30))
        self.scroll = ScrollView(do_scroll_y=False, bar_width=px(6))
        self.row = BoxLayout(orientation="horizontal", size_hint_x=None, spacing=px(10))
        self.row.bind(minimum_width=self.row.setter("width"))
        self.scroll.add_widget(self.row)
        left.add_widget(self.caption)
        left.add_widget(self.scroll)
        right = BoxLayout(orientation="vertical", size_hint_x=None, width=px(300),
                          spacing=px(8))
        self.code_caption = Text(size_key="s", color=theme.AMBER, size_hint_y=None,
                                 height=px(30))
        self.entry = TextInput(multiline=False, font_size=theme.font("m"),
                               size_hint_y=None, height=theme.touch(56),
                               background_normal="", background_active="",
                               background_color=theme.CARD, foreground_color=theme.INK,
                               cursor_color=theme.INK, padding=(px(12), px(10)),
                               input_filter=lambda s, _undo: "".join(
                                   c for c in s if c.isprintable() and not c.isspace()))
        self.entry.tid = "barcode"
        self.entry.bind(on_text_validate=lambda *_a: self._scan_entry())
        self.scan = Btn(self._scan_entry, size_key="m", tid="barcode:scan", bg=theme.AMBER,
                        color=theme.INK, size_hint_y=None, height=theme.touch(56))
        for w in (self.code_caption, self.entry, self.scan):
            right.add_widget(w)
        self.add_widget(left)
        self.add_widget(right)

        def work() -> None:
            try:
                items = load_items(catalog_path)
            except Exception:
                log.exception("demo items could not be read from the catalog")
                items = []
            post(lambda: self._loaded(items))

        threading.Thread(target=work, name="demo-items", daemon=True).start()

    def _loaded(self, items: list[DemoItem]) -> None:
        self.items = items
        self.row.clear_widgets()
        for item in items:
            tile = Btn(lambda item=item: self._tap(item), size_key="xs", bg=theme.DEMO_TILE,
                       color=theme.WHITE, bold=False, halign="center", wrap=True,
                       size_hint_x=None, width=px(220), tid=f"tile:{item.code}")
            tile.item = item
            self.row.add_widget(tile)
        if self.t is not None:
            self.render(self.t)

    def _tap(self, item: DemoItem) -> None:
        if item.plu:
            self.send("add_plu", plu=item.code, weight_g=item.weight_g)
        else:
            self.send("scan", code=item.code)

    def _scan_entry(self) -> None:
        code = self.entry.text.strip()
        self.entry.text = ""
        if code:
            self.send("scan", code=code)

    def render(self, t: Translator) -> None:
        self.t = t
        self.caption.lang = self.code_caption.lang = self.scan.lang = t.lang
        self.caption.text = t.tr("Demo: tap an item to scan it")
        self.code_caption.text = t.tr("Demo: type a barcode")
        self.scan.text = t.tr("Scan")
        self.entry.font_name = "kiosk-" + t.lang
        for tile in self.row.children:
            item: DemoItem = tile.item
            tile.lang = t.lang
            price = t.money(item.price_minor)
            if item.by_weight and item.weight_g:
                price = t.tr("{weight} kg × {price}/kg", weight=t.kg(item.weight_g),
                             price=price)
            tile.text = f"{t.name(item.names, item.code)}\n{price}"
