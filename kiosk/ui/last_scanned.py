"""The "last scanned item" panel of the basket screen: the item's picture (when the catalog
has one), its name in big type and its price, as commercial lanes show it.

Fed by :attr:`kiosk.ui.viewmodel.View.last_scanned`; the pictures are the catalog's
(:func:`kiosk.catalog.picture_index`, read once when the panel is built, before the
screens run) and load in the background (``AsyncImage``), so nothing blocks the Kivy
thread. With no item scanned yet the panel is empty; an item without a picture shows
its name and price across the whole panel.
"""

from __future__ import annotations

from pathlib import Path

from kivy.uix.image import AsyncImage

from kiosk.ui import theme
from kiosk.ui.viewmodel import LastScanned
from kiosk.ui.widgets import Card, Text


class LastScannedPanel(Card):
    """Picture | name over its unit detail | price. ``pictures``: product key → picture."""

    def __init__(self, pictures: dict[str, Path], **kw) -> None:
        kw.setdefault("orientation", "horizontal")
        kw.setdefault("padding", theme.px(theme.PAD))
        kw.setdefault("spacing", theme.px(theme.PAD))
        super().__init__(**kw)
        self.pictures = pictures
        self.shown: LastScanned | None = None
        self.picture = AsyncImage(size_hint_x=None, width=0, fit_mode="contain")
        self.texts = Card(orientation="vertical", bg=(0, 0, 0, 0))
        self.name = Text(size_key="xl", bold=True, valign="bottom")
        self.detail = Text(size_key="m", color=theme.MUTED, valign="top")
        self.price = Text(size_key="xxl", bold=True, halign="right", valign="middle",
                          size_hint_x=0.4)
        self.texts.add_widget(self.name)
        self.texts.add_widget(self.detail)
        for w in (self.picture, self.texts, self.price):
            self.add_widget(w)
        self.bind(height=self._fit)

    def picture_for(self, item: LastScanned | None) -> str:
        """The picture file of ``item``, or "" when the catalog has none."""
        path = self.pictures.get(item.key) if item else None
        return str(path) if path else ""

    def show(self, item: LastScanned | None, lang: str) -> None:
        """Show ``item`` (None: nothing scanned yet) in the language ``lang`` (en, zh, ko)."""
        self.shown = item
        for w in (self.name, self.detail, self.price):
            w.lang = lang
        self.name.text = item.name if item else ""
        self.detail.text = item.detail if item else ""
        self.price.text = item.amount if item else ""
        self.picture.source = self.picture_for(item)
        self._fit()

    def _fit(self, *_a) -> None:
        """A square picture as tall as the panel; no room taken without one."""
        source = self.picture.source
        self.picture.width = max(0, self.height - 2 * theme.px(theme.PAD)) if source else 0
        self.picture.opacity = 1 if source else 0
