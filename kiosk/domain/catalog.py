"""A catalog item as the checkout sees it (the SQLite catalog, kiosk.catalog, stores them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    """One catalog item. ``price_minor`` is per kg when ``sold_by_weight``."""

    gtin: str | None
    plu: str | None
    names: dict[str, str]
    price_minor: int
    tax_class: str
    age_restricted: bool
    sold_by_weight: bool

    @property
    def key(self) -> str:
        """Stable identity used in the cart and for promotions."""
        return self.gtin or f"PLU{self.plu}"

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or next(iter(self.names.values()))
