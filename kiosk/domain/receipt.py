"""What a receipt says: built from the checkout state, rendered as plain text.

Separates *what* is printed (:class:`Receipt`) from *how* it reaches paper or a
file (the printer drivers). Of a card payment the receipt shows the transaction type
(SALE), the brand's display name and the last four digits of the PAN (the one rule of
:mod:`kiosk.domain.cards`, whatever the port's masked PAN holds), the application label
and AID, the entry mode (chip), the approval code (field 38), the retrieval reference
number (field 37), the merchant and terminal ids the acquirer knows the lane by, and
APPROVED; nothing else of the card. A training sale's receipt is marked "TRAINING — NOT A
RECEIPT" at its top and bottom (``mark``). An e-receipt link (and its QR code) is printed only
when the store configures one (``store.e_receipt_url``). A reprint is marked as a copy
with its own time (:func:`mark_copy`), so it is never taken for the original.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from babel.dates import format_datetime

from kiosk.domain.cards import card_text
from kiosk.domain.checkout import CheckoutState, totals
from kiosk.domain.languages import language_of
from kiosk.domain.money import format_money
from kiosk.domain.pricing import kg_text
from kiosk.domain.rules import CheckoutRules
from kiosk.domain.training import is_training_txn

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
    copy: list[str] = field(default_factory=list)  # a reprint's mark (COPY, reprint time)
    # what the receipt is not, printed at its top and bottom: a training sale's
    # "TRAINING — NOT A RECEIPT" (kiosk.domain.training)
    mark: list[str] = field(default_factory=list)
    # for the e-receipt page (kiosk/printing/ereceipt_page.py): the store's name, the lane
    # and when the receipt was issued (ISO 8601); a receipt kept before them has ""
    store: str = ""
    lane: str = ""
    issued: str = ""


@dataclass(frozen=True)
class TerminalIds:
    """Who the acquirer knows the lane as: merchant id (field 42) and terminal id (41)."""

    merchant_id: str = ""
    terminal_id: str = ""


def display_width(text: str) -> int:
    """Columns a string takes on a fixed-pitch printer (CJK wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def build_receipt(state: CheckoutState, config: CheckoutRules, when: datetime,
                  translator: Translations, payment_label: str | None = None,
                  ids: TerminalIds | None = None, link: str | None = None) -> Receipt:
    """The receipt of ``state``, its texts from ``translator(state.locale)``.

    ``payment_label``: the payment method's receipt line, translated (kiosk-core passes the
    method's own, see kiosk/payments/method.py); without it, the built-in methods'.
    ``ids``: the merchant and terminal id printed with an approved payment.
    ``link``: the sale's signed e-receipt link (kiosk-core's, kiosk/printing/ereceipt.py);
    without it, ``store.e_receipt_url`` with the bare transaction id."""
    _ = translator(state.locale)
    cur = config.currency

    def money(minor: int) -> str:
        return format_money(minor, cur, state.locale)

    lang = language_of(state.locale)
    t = totals(state, config)
    r = Receipt(txn=state.txn or "", locale=state.locale, header=list(config.store.receipt_header),
                store=config.store.name, lane=config.store.lane_id, issued=when.isoformat())
    if is_training_txn(state.txn):
        r.mark = [_("TRAINING"), _("TRAINING — NOT A RECEIPT")]
    for ln in state.lines:
        name = ln.names.get(lang) or ln.names.get("en") or ln.key
        amount = ln.priced().amount
        r.lines.append((name, money(amount)))
        if ln.weight_g is not None:
            detail = _("{weight} kg @ {price}/kg").format(
                weight=kg_text(ln.weight_g), price=money(ln.unit_price_minor))
            r.lines.append((f"  {detail}", ""))
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
        r.lines.append((_("SALE"), ""))
        r.lines.append((f"{method} {card_text(card)}".strip(), money(pay["amount"])))
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
        if ids and ids.merchant_id:
            r.lines.append((_("Merchant ID"), ids.merchant_id))
        if ids and ids.terminal_id:
            r.lines.append((_("Terminal ID"), ids.terminal_id))
        r.lines.append((_("APPROVED"), ""))
    transaction = _("Transaction")
    r.footer = [
        f"{transaction} {r.txn}",
        format_datetime(when, "medium", locale=state.locale),
        _("Thank you for shopping with us"),
    ]
    template = config.store.e_receipt_url
    if link is None:
        link = template.replace("{txn}", r.txn) if template and r.txn else ""
    r.qr_payload = link
    r.qr_label = _("e-receipt")
    return r


def mark_copy(receipt: Receipt, when: datetime, translator: Translations) -> Receipt:
    """``receipt`` as printed again at ``when``: marked "COPY" (in its language) with the
    reprint time at its top and bottom, so it is never byte-identical to the original."""
    _ = translator(receipt.locale)
    stamp = _("Reprinted {time}").format(
        time=format_datetime(when, "medium", locale=receipt.locale))
    return replace(receipt, copy=[_("COPY"), stamp])


def render_text(receipt: Receipt, width: int = 42) -> str:
    """The receipt as fixed-pitch text, ``width`` columns (42 for 80 mm, 32 for 58 mm)."""
    def centered(text: str) -> str:
        return text.center(width - (display_width(text) - len(text)))

    marks = receipt.copy + receipt.mark
    out = [centered(c) for c in marks] + ([""] if marks else [])
    out += [centered(h) for h in receipt.header]
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
    if receipt.qr_payload:
        out.append(f"{receipt.qr_label}: {receipt.qr_payload}")
    out += [centered(c) for c in marks]
    return "\n".join(line.rstrip() for line in out) + "\n"
