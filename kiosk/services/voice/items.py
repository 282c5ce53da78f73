"""The loose items kiosk-voice hears by name: "bananas", "바나나", "香蕉" while shopping.

The catalog's items with a PLU (the produce picker's, :func:`kiosk.ui.picker_view.loose_items`
lists the same) are handed to the voice library's grammar as the ``add_item`` intent, its
slot the PLU (:func:`kiosk_voice.intents.set_item_intents`); hearing one sends ``add_plu``
with no weight, and kiosk-core prices it from the produce scale's settled weight, exactly as
a tap on the picker's tile does. The library knows nothing of kiosk: the names are handed
to it here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk_voice.intents import set_item_intents

from kiosk.catalog import Catalog
from kiosk.config import KioskConfig
from kiosk.domain.catalog import Product
from kiosk.domain.languages import language_of

log = logging.getLogger(__name__)


def _loose(catalog_path: Path) -> list[Product]:
    catalog = Catalog(catalog_path)
    try:
        return [p for p in catalog.products() if p.plu]
    finally:
        catalog.close()


def key_items(catalog_path: Path) -> dict[str, tuple[dict[str, str], int, bool]]:
    """The loose items as the tactile keys reach them (accessible mode's "look up"):
    action ``item:<plu>`` → (names, price per kg or each, sold by weight)."""
    return {f"item:{p.plu}": (dict(p.names), p.price_minor, p.sold_by_weight)
            for p in _loose(catalog_path)}


def item_names(catalog_path: Path) -> dict[str, dict[str, list[str]]]:
    """Language → PLU → what a shopper says for it: the item's name in that language (in
    English also without a plural "s": "banana")."""
    out: dict[str, dict[str, list[str]]] = {}
    for product in _loose(catalog_path):
        for locale, name in product.names.items():
            said = [name]
            if language_of(locale) == "en" and name.lower().endswith("s"):
                said.append(name[:-1])
            out.setdefault(language_of(locale), {})[product.plu or ""] = said
    return out


def listen_for_items(config: KioskConfig) -> None:
    """Set the voice grammar's loose items to the catalog's (once, before recognizers)."""
    try:
        names = item_names(config.catalog_path)
    except Exception:  # a catalog that cannot be read: voice works, without item names
        log.exception("loose items not read from %s: not heard by name", config.catalog_path)
        return
    set_item_intents(names)
