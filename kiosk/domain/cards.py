"""How a payment card is named and its number shown: the one rule for screen, receipt and logs.

PCI DSS 3.4: a shopper-facing place (the screen, the receipt) shows the last four digits
only (:func:`shown_pan`); anywhere else (the journal, the host log, the bus) keeps at most
the first six and last four (:func:`mask_pan`, checked by :func:`is_masked`); the voice
reads the last four (:func:`last4`). A brand is stored as the id the EMV
configuration or the payment method gives (``visa``, ``UNIONPAY``); people see its display
name (:func:`brand_name`), never the id.
"""

from __future__ import annotations

import re

#: brand id (any case) → the name the brand writes itself with
BRAND_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "maestro": "Maestro",
    "unionpay": "UnionPay",
    "amex": "American Express",
    "discover": "Discover",
    "jcb": "JCB",
    # phone wallets (the qr method names the wallet that paid; never its payment code)
    "alipay": "Alipay",
    "wechat": "WeChat Pay",
    "kakaopay": "KakaoPay",
    "naverpay": "Naver Pay",
    "payco": "PAYCO",
    "emvco_cpm": "EMV QR",
}


def brand_name(brand: str | None) -> str:
    """The display name of a brand id; an id the table lacks is shown as given."""
    text = str(brand or "").strip()
    return BRAND_NAMES.get(text.lower().replace(" ", ""), text)


def _digits(text: str | None) -> str:
    return "".join(c for c in str(text or "") if c.isdigit())


def mask_pan(pan: str) -> str:
    """First 6 and last 4 digits at most, the rest starred (a PAN under 13 digits keeps
    only its last 4): the most any log, journal or message may hold."""
    digits = _digits(pan)
    if len(digits) < 13:
        return "*" * max(len(digits) - 4, 2) + digits[-4:]
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


#: what :func:`mask_pan` makes: at most 6 digits, two stars or more, the last 4 digits
_MASKED = re.compile(r"\d{0,6}\*{2,}\d{4}")


def is_masked(text: str | None) -> bool:
    """Whether ``text`` is a PAN masked by the rule (never more than first 6 / last 4): the
    check a journal entry or a card summary passes before a masked PAN is kept."""
    return bool(_MASKED.fullmatch(str(text or "")))


def last4(masked_pan: str | None) -> str:
    """The last four digits of a masked PAN, or "" when it has no four."""
    digits = _digits(masked_pan)
    return digits[-4:] if len(digits) >= 4 else ""


def shown_pan(masked_pan: str | None) -> str:
    """The number as the screen and the receipt show it: ``**** 0119``, or "" when no four
    digits are known."""
    four = last4(masked_pan)
    return f"**** {four}" if four else ""


def card_text(card: dict | None) -> str:
    """Brand and number as the screen and the receipt show them: ``Visa **** 0119``."""
    card = card or {}
    return f"{brand_name(card.get('brand'))} {shown_pan(card.get('masked_pan'))}".strip()
