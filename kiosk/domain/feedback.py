"""Shopper feedback (issue 18): the optional rating after the receipt, what went wrong, and
the basket's step timings the ``shopper_rating`` event carries. Pure: no I/O.

On the receipt screen the shopper may tap one of three faces (:data:`RATINGS`: 1 bad,
2 okay, 3 good), by touch, voice or the tactile keys (the ``rate`` command). A rating below
:data:`ASK_REASONS_BELOW` asks "what went wrong" with the fixed :data:`REASONS`; kiosk-core
holds such a rating until the reasons come (or the shopper skips them, or the session ends)
and journals ONE ``shopper_rating`` per sale. Nothing of it ever holds the next shopper up:
the receipt screen's timer runs as before.

The step timings are read from the basket's own journal events (their ``ts``, as the core
stamped them): first scan → payment started (the last ``checkout_started`` before the
approval) → approved → receipt, in whole milliseconds; a step the basket did not go through,
or a clock that stepped backwards between two events, is ``None``. Nothing personal and no
card data: a rating, reasons, four durations and the training mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: the faces, worst first: 1 bad, 2 okay, 3 good
RATINGS = (1, 2, 3)
#: a rating below this asks "what went wrong"
ASK_REASONS_BELOW = 3
#: what may have gone wrong (reason codes, in the order the screen shows them)
REASONS = ("scanning", "payment", "waited_for_staff", "weighing", "too_slow", "other")
#: the step timings' names, in the basket's order (the ``shopper_rating`` event's fields)
STEP_FIELDS = ("scan_to_pay_ms", "pay_to_approved_ms", "approved_to_receipt_ms",
               "scan_to_receipt_ms")


def N_(msgid: str) -> str:  # noqa: N802 - the gettext mark (kiosk.i18n's; the domain is pure)
    return msgid


#: rating → what the screen, the dashboard and its CSV's reader call it (msgids)
RATING_LABELS = {1: N_("Bad"), 2: N_("Okay"), 3: N_("Good")}
#: reason code → what the screen and the dashboard call it (msgids, in REASONS' order)
REASON_LABELS = {
    "scanning": N_("Scanning items"),
    "payment": N_("Payment"),
    "waited_for_staff": N_("Waiting for staff"),
    "weighing": N_("Weighing produce"),
    "too_slow": N_("It was too slow"),
    "other": N_("Something else"),
}
#: the events that put a sale on the receipt screen
_RECEIPT_EVENTS = ("receipt_printed", "receipt_chosen")


class BadRating(ValueError):
    """A rating or reasons that are not ours; ``reason`` is the command's refusal code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def check_rating(rating: Any, reasons: Any) -> tuple[int | None, tuple[str, ...] | None]:
    """``rating`` (None: not given) and ``reasons`` (None: not given) as the command may
    carry them, checked; raises :class:`BadRating` (``bad_rating``, ``unknown_reason``,
    ``reasons_need_low_rating``)."""
    if rating is not None and (type(rating) is not int or rating not in RATINGS):
        raise BadRating("bad_rating", f"rating {rating!r} is not one of {RATINGS}")
    if reasons is None:
        return rating, None
    if not isinstance(reasons, list | tuple):
        raise BadRating("unknown_reason", "reasons must be a list")
    for reason in reasons:
        if reason not in REASONS:
            raise BadRating("unknown_reason", f"{str(reason)[:32]!r} is not one of {REASONS}")
    if len(set(reasons)) != len(reasons):
        raise BadRating("unknown_reason", "a reason given twice")
    if reasons and rating is not None and rating >= ASK_REASONS_BELOW:
        raise BadRating("reasons_need_low_rating", f"rating {rating} asks no reasons")
    return rating, tuple(r for r in REASONS if r in reasons)  # the screen's order


def asks_reasons(rating: int) -> bool:
    return rating < ASK_REASONS_BELOW


def step_timings(events: Iterable[Mapping[str, Any]]) -> dict[str, int | None]:
    """The basket's step timings (:data:`STEP_FIELDS`) from its events in order (dicts with
    ``type`` and ``ts``: journal entries' ``event()``, or as committed)."""
    first_scan = pay = approved = receipt = None
    for ev in events:
        kind, ts = ev.get("type"), ev.get("ts")
        if not isinstance(ts, int | float):
            continue
        if kind == "item_added" and first_scan is None:
            first_scan = ts
        elif kind == "checkout_started" and approved is None:
            pay = ts  # the last one before the approval (the shopper may have gone back)
        elif kind == "auth_approved" and approved is None:
            approved = ts
        elif kind in _RECEIPT_EVENTS and approved is not None and receipt is None and (
                kind == "receipt_printed" or ev.get("choice") == "none"):
            receipt = ts
    return dict(zip(STEP_FIELDS, (_ms(first_scan, pay), _ms(pay, approved),
                                  _ms(approved, receipt), _ms(first_scan, receipt)),
                    strict=True))


def _ms(start: float | None, end: float | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start) * 1000)
