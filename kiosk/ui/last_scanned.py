"""The "last scanned item" panel of the basket screen: the item's picture (when the catalog
has one), its name in big type, its quantity or weight under it and its price, as
commercial lanes show it.

Fed by :attr:`kiosk.ui.viewmodel.View.last_scanned`; the pictures are the catalog's
(:func:`kiosk.catalog.picture_index`, read once when the app is built, before the
screens run) and load in the background (``AsyncImage``), so nothing blocks the Kivy
thread. An item without a picture shows a drawn shopping bag in the picture's place
(never an empty tile); with no item scanned yet the basket screen hides the panel.
"""

from __future__ import annotations

from pathlib import Path

from kivy.uix.image import AsyncImage

from kiosk.ui import theme
from kiosk.ui.viewmodel import LastScanned
from kiosk.ui.widgets import Card, Icon, Text

#: the panel's height on the basket screen (design px): picture, name and detail
HEIGHT = 150


class LastScannedPanel(Card):
    """Picture (or placeholder) | name over its unit detail | price.
    ``pictures``: product key → picture file."""

    def __init__(self, pictures: dict[str, Path], **kw) -> None:
        kw.setdefault("orientation", "horizontal")
        kw.setdefault("padding", theme.px(14))
        kw.setdefault("spacing", theme.px(theme.PAD))
        kw.setdefault("outline", theme.GREEN)
        kw.setdefault("outline_width", 2.5)
        super().__init__(**kw)
        self.pictures = pictures
        self.shown: LastScanned | None = None
        self.tile = Card(bg=theme.BG, size_hint_x=None, width=0, padding=theme.px(6),
                         radius=10)
        self.picture = AsyncImage(fit_mode="contain")
        self._failed = ""
        self.picture.bind(on_error=self._error)
        self.placeholder = Icon(kind="bag", fg=theme.GREY, bg=theme.BG)
        self.texts = Card(orientation="vertical", bg=(0, 0, 0, 0))
        self.name = Text(size_key="xl", bold=True, valign="bottom")
        self.detail = Text(size_key="m", color=theme.MUTED, valign="top")
        self.price = Text(size_key="xxl", bold=True, halign="right", valign="middle",
                          size_hint_x=0.42)
        self.texts.add_widget(self.name)
        self.texts.add_widget(self.detail)
        for w in (self.tile, self.texts, self.price):
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
        # a name alone is centred; with a detail (quantity, weight) it sits above it
        has_detail = bool(self.detail.text)
        self.name.valign = "bottom" if has_detail else "middle"
        if has_detail and self.detail.parent is None:
            self.texts.add_widget(self.detail)
        elif not has_detail and self.detail.parent is not None:
            self.texts.remove_widget(self.detail)
        source = self.picture_for(item)
        self.picture.source = source
        face = self.picture if source else self.placeholder
        if face.parent is not self.tile:
            self.tile.clear_widgets()
            self.tile.add_widget(face)
        self._fit()

    @property
    def placeholder_shown(self) -> bool:
        return self.placeholder.parent is self.tile

    @property
    def loading(self) -> bool:
        """The picture is still being read in the background (screenshots wait for it)."""
        if not self.picture.source or self.picture.source == self._failed:
            return False
        return not getattr(self.picture._coreimage, "loaded", False)

    def _error(self, *_a) -> None:
        self._failed = self.picture.source   # a broken file: shown without, not waited for

    def _fit(self, *_a) -> None:
        """A square tile as tall as the panel's inside."""
        self.tile.width = max(0, self.height - 2 * theme.px(14))
