"""What a scale said, as the rest of the lane sees it: a status and, when stable, whole grams.

Weights are exact integers (grams) from the wire to the receipt: a protocol's decimal text is
turned into grams with :func:`grams` (no float anywhere), and a text with more decimals than
whole grams is a bad frame, never rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: every status a reading may carry, the same for every protocol
STATUSES = (
    "stable",        # a settled weight (0 included: an empty platter)
    "motion",        # the load is moving: no weight yet
    "over_capacity",
    "under_zero",
    "not_ready",     # warming up, or it says it cannot weigh now
    "no_response",   # it did not answer within the timeout
    "bad_frame",     # it answered something this protocol does not read
)


@dataclass(frozen=True)
class Reading:
    """One answer of a scale. ``weight_g`` is set only when ``status`` is ``stable``."""

    status: str
    weight_g: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown scale status {self.status!r}")
        if (self.status == "stable") != (self.weight_g is not None):
            raise ValueError("a stable reading has a weight, any other none")

    @property
    def stable(self) -> bool:
        return self.status == "stable"

    def as_dict(self) -> dict:
        return {"status": self.status, "weight_g": self.weight_g}


def grams(text: str, kg: bool = True) -> int:
    """The weight ``text`` holds ("01.234" kg, "1234" g) in exact grams; ValueError if it is
    not a plain non-negative decimal or is finer than a gram."""
    raw = text.strip()
    if not raw or not all(c.isdigit() or c == "." for c in raw) or raw.count(".") > 1:
        raise ValueError(f"not a weight: {text!r}")
    try:
        value = Decimal(raw).scaleb(3 if kg else 0)
    except InvalidOperation:
        raise ValueError(f"not a weight: {text!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"finer than a gram: {text!r}")
    return int(value)
