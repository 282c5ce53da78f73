"""What a receipt says: built from the checkout state, rendered as plain text.

Separates *what* is printed (:class:`Receipt`) from *how* it reaches paper or a
file (the printer drivers). Of a card payment the receipt shows the brand, the
last four digits of the PAN (never more, whatever the port's masked PAN holds),
the application label and AID, the entry mode (chip), the approval code (field
38) and the retrieval reference number (field 37); nothing else of the card.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_datetime

from kiosk.domain.checkout import CheckoutState, totals
from kiosk.domain.languages import language_of
from kiosk.domain.money import format_money
from kiosk.domain.rules import CheckoutRules

#: locale → its message catalog (msgid → text); the application passes kiosk.i18n.translator
Translations = Callable[[str], Callable[[str], str]]


@dataclass
class Receipt:
    txn: str
    locale: str
    header: list[str]
    lines: list[tuple[str, str]] = field(default_factory=list)  # (left, right) text pairs
    footer: list[str] = field(default_factory=list)
    qr_payload: str = ""
    qr_label: str = "e-receipt"


def display_width(text: str) -> int:
    """Columns a string takes on a fixed-pitch printer (CJK wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def build_receipt(state: CheckoutState, config: CheckoutRules, when: datetime,
                  translator: Translations, payment_label: str | None = None) -> Receipt:
    """The receipt of ``state``, its texts from ``translator(state.locale)``.

    ``payment_label``: the payment method's receipt line, translated (kiosk-core passes the
    method's own, see kiosk/payments/method.py); without it, the built-in methods'."""
    _ = translator(state.locale)
    cur = config.currency

    def money(minor: int) -> str:
        return format_money(minor, cur, state.locale)

    lang = language_of(state.locale)
    t = totals(state, config)
    r = Receipt(txn=state.txn or "", locale=state.locale, header=list(config.store.receipt_header))
    for ln in state.lines:
        name = ln.names.get(lang) or ln.names.get("en") or ln.key
        amount = ln.priced().amount
        r.lines.append((name, money(amount)))
        if ln.weight_g is not None:
            r.lines.append((f"  {ln.weight_g / 1000:.3f} kg @ {money(ln.unit_price_minor)}/kg", ""))
        elif ln.qty > 1:
            r.lines.append((f"  {ln.qty} x {money(ln.unit_price_minor)}", ""))
    r.lines.append(("-", ""))
    r.lines.append((_("Subtotal"), money(t.subtotal)))
    for d in t.discounts:
        r.lines.append((d.names.get(lang) or d.names.get("en") or d.promotion_id, money(-d.amount)))
    for tl in t.taxes:
        if tl.tax or tl.base:
            label = _("Tax") if t.tax_mode == "exclusive" else _("Incl. tax")
            r.lines.append((f"{label} {tl.rate}%", money(tl.tax)))
    r.lines.append(("=", ""))
    r.lines.append((_("Total"), money(t.total)))
    if t.savings:
        r.lines.append((_("You saved"), money(t.savings)))
    pay = state.payment or {}
    if pay.get("status") == "approved":
        card = pay.get("card") or {}
        method = payment_label or (_("Card") if pay["method"] == "card" else _("Mobile QR"))
        r.lines.append((f"{method} {card.get('brand', '')} {last4(card)}".strip(),
                        money(pay["amount"])))
        if card.get("label"):
            r.lines.append((f"  {card['label']}", ""))
        if card.get("aid"):
            r.lines.append(("  AID", card["aid"]))
        if card.get("entry"):
            entry = _("Chip") if card["entry"] == "chip" else card["entry"]
            entry_label = _("Entry mode")
            r.lines.append((f"  {entry_label}", entry))
        r.lines.append((_("Approval code"), pay.get("auth_code", "")))
        if pay.get("rrn"):
            r.lines.append((_("Reference no."), pay["rrn"]))
    transaction = _("Transaction")
    r.footer = [
        f"{transaction} {r.txn}",
        format_datetime(when, "medium", locale=state.locale),
        _("Thank you for shopping with us"),
    ]
    r.qr_payload = f"https://receipts.example/{r.txn}"
    r.qr_label = _("e-receipt")
    return r


def last4(card: dict) -> str:
    """The PAN as a receipt may show it: its last four digits only."""
    digits = "".join(c for c in str(card.get("masked_pan") or "") if c.isdigit())
    return f"**** {digits[-4:]}" if len(digits) >= 4 else ""


def render_text(receipt: Receipt, width: int = 42) -> str:
    """The receipt as fixed-pitch text, ``width`` columns (42 for 80 mm, 32 for 58 mm)."""
    out = [h.center(width - (display_width(h) - len(h))) for h in receipt.header]
    out.append("")
    for left, right in receipt.lines:
        if left in ("-", "=") and not right:
            out.append(left * width)
            continue
        gap = width - display_width(left) - display_width(right)
        if gap < 1:
            out.append(left)
            out.append(" " * (width - display_width(right)) + right)
        else:
            out.append(left + " " * gap + right)
    out.append("")
    out += receipt.footer
    out.append(f"{receipt.qr_label}: {receipt.qr_payload}")
    return "\n".join(line.rstrip() for line in out) + "\n"
