"""The produce picker's texts, derived from the catalog's loose items and the produce
scale's live reading: pure, no Kivy (the Kivy screen is :mod:`kiosk.ui.picker`).

The loose items are the catalog's products with a PLU (:func:`loose_items`, read off the
frame loop once). The live weight is kiosk-scale's retained ``scale/produce`` message
(:func:`weight_line`): a stable weight in kg, or what stops the scale from pricing, in the
same words the core's refusal gives (:data:`kiosk.domain.pricing.WEIGHT_REFUSALS` →
:data:`kiosk.ui.viewmodel.REJECTIONS`), so the screen and the toast never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.domain.pricing import WEIGHT_REFUSALS
from kiosk.domain.search import Item
from kiosk.ui.i18n import Translator
from kiosk.ui.viewmodel import REJECTIONS

#: the longest PLU (kiosk.bus.messages.AddPlu) and search text the keypads take
MAX_PLU, MAX_QUERY = 5, 12


def loose_items(catalog_path: Path) -> list[tuple[Item, int]]:
    """The catalog's items with a PLU, in the catalog's order, with their price (minor
    units, per kg when sold by weight). Opens the catalog: call off the frame loop."""
    from kiosk.catalog import Catalog

    catalog = Catalog(catalog_path)
    try:
        return [(Item(p.key, p.plu, dict(p.names), p.sold_by_weight), p.price_minor)
                for p in catalog.products() if p.plu]
    finally:
        catalog.close()


@dataclass(frozen=True)
class WeightLine:
    """The live weight as shown: the text, and whether it may price an item now."""

    text: str
    ready: bool
    tone: str = "muted"   # muted | ok | warn


def weight_line(msg: dict | None, t: Translator) -> WeightLine:
    """What the picker says of the produce scale's last message (None: the lane has no
    produce scale, or it has not spoken yet)."""
    if msg is None:
        return WeightLine(t.tr("No scale on this checkout"), False)
    status = msg.get("status", "no_response") if msg.get("online", True) else "no_response"
    if status == "stable":
        grams = int(msg.get("weight_g") or 0)
        if grams <= 0:
            return WeightLine(t.tr(REJECTIONS["scale_empty"]), False)
        return WeightLine(t.tr("{weight} kg", weight=t.kg(grams)), True, "ok")
    if status == "motion":
        return WeightLine(t.tr("Weighing…"), False)
    reason = WEIGHT_REFUSALS.get(status, "scale_no_response")
    return WeightLine(t.tr(REJECTIONS[reason]), False, "warn")


def price_line(item: Item, price_minor: int, t: Translator) -> str:
    """An item's price on its tile: per kg when sold by weight, else each."""
    if item.sold_by_weight:
        return t.tr("{price}/kg", price=t.money(price_minor))
    return t.tr("{price} each", price=t.money(price_minor))

