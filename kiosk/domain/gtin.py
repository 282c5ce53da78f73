"""GTIN check digits and in-store variable-measure EAN-13 decoding (with its config model).

GTIN-8/12/13/14 are validated with the GS1 mod-10 check digit and normalised to
14 digits for lookup, so a UPC-A read as 12 digits and the same code read as
EAN-13 with a leading zero find the same product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from kiosk.domain.strict import Strict

GTIN_LENGTHS = (8, 12, 13, 14)


class GtinError(ValueError):
    """A code that is not a valid GTIN."""


class VariableMeasureLayout(Strict):
    """An in-store EAN-13 layout: P prefix, I item code, V value, X price check, C check."""

    prefixes: list[str] = Field(min_length=1)
    pattern: str = Field(pattern=r"^PP[IVXC]{11}$")
    value: Literal["price", "weight"]

    @model_validator(mode="after")
    def _well_formed(self) -> VariableMeasureLayout:
        for p in self.prefixes:
            if len(p) != 2 or not p.isdigit() or not 20 <= int(p) <= 29:
                raise ValueError(f"prefix {p!r} is not an in-store EAN-13 prefix 20-29")
        if not self.pattern.endswith("C") or self.pattern.count("C") != 1:
            raise ValueError("pattern must end with its single check digit C")
        if "I" not in self.pattern or "V" not in self.pattern:
            raise ValueError("pattern needs item digits I and value digits V")
        return self


class VariableMeasureConfig(Strict):
    layouts: list[VariableMeasureLayout] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_prefixes(self) -> VariableMeasureConfig:
        seen: set[str] = set()
        for layout in self.layouts:
            for p in layout.prefixes:
                if p in seen:
                    raise ValueError(f"prefix {p} appears in two layouts")
                seen.add(p)
        return self


def check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(code: str) -> str:
    """Return the GTIN normalised to 14 digits, or raise GtinError saying why."""
    if not code.isascii() or not code.isdigit():
        raise GtinError(f"{code!r} is not all digits")
    if len(code) not in GTIN_LENGTHS:
        raise GtinError(f"{code!r} has {len(code)} digits (GTIN has 8, 12, 13 or 14)")
    if check_digit(code[:-1]) != int(code[-1]):
        raise GtinError(f"{code!r} has a wrong check digit (expected {check_digit(code[:-1])})")
    return code.zfill(14)


def is_valid_gtin(code: str) -> bool:
    try:
        validate_gtin(code)
    except GtinError:
        return False
    return True


@dataclass(frozen=True)
class VariableMeasure:
    """A decoded in-store code: the item's PLU and either a price or a weight."""

    plu: str
    price_minor: int | None = None
    weight_g: int | None = None


def decode_variable_measure(code: str, config: VariableMeasureConfig) -> VariableMeasure | None:
    """Decode an EAN-13 with an in-store prefix per the configured layouts.

    Returns None for codes that are not in-store codes (no matching prefix).
    The caller validates the check digit first.
    """
    if len(code) != 13:
        return None
    for layout in config.layouts:
        if code[:2] not in layout.prefixes:
            continue
        item = "".join(c for c, p in zip(code, layout.pattern, strict=True) if p == "I")
        value = int("".join(c for c, p in zip(code, layout.pattern, strict=True) if p == "V"))
        plu = item.zfill(5)
        if layout.value == "price":
            return VariableMeasure(plu=plu, price_minor=value)
        return VariableMeasure(plu=plu, weight_g=value)
    return None
