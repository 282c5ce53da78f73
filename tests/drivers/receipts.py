"""Realistic receipts for the printer tests, built by the real ``build_receipt``.

A basket with a multi-buy (3 cup noodles for 2), a 2-for-a-price (cola), a
weighed item (1.2 kg bananas), two tax classes, and an approved card payment
(masked PAN and approval code, merchant and terminal id), in English, Simplified Chinese
and Korean. With ``link`` (the default here, to exercise the QR code path) the store has
an e-receipt link configured; the shipped configuration has none.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kiosk.config import KioskConfig
from kiosk.domain.checkout import CheckoutState, Line
from kiosk.domain.receipt import Receipt, TerminalIds, build_receipt
from kiosk.i18n import translator

TXN = "S001-L01-000042"
WHEN = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
E_RECEIPT_URL = "https://receipts.harbour-street.test/r/{txn}"
IDS = TerminalIds(merchant_id="000000000000001", terminal_id="KIOSK001")


def _line(line_id: int, key: str, names: dict[str, str], price: int, qty: int = 1,
          weight_g: int | None = None, tax: str = "reduced") -> Line:
    return Line(line_id=line_id, key=key, gtin=key if weight_g is None else None,
                plu=key if weight_g is not None else None, names=names,
                unit_price_minor=price, tax_class=tax, age_restricted=False,
                sold_by_weight=weight_g is not None, qty=qty, weight_g=weight_g)


LINES = [
    _line(1, "08801043444279", {"en": "Shin Ramyun 5-pack", "zh": "辛拉面 5连包",
                                "ko": "신라면 5입"}, 499, qty=2),
    _line(2, "00070666928444", {"en": "Cup Noodles Chicken 64g", "zh": "合味道鸡肉杯面 64g",
                                "ko": "컵누들 치킨 64g"}, 99, qty=3),
    _line(3, "04011", {"en": "Bananas", "zh": "香蕉", "ko": "바나나"}, 199, weight_g=1200),
    _line(4, "08801094804527", {"en": "Coca-Cola 1.5L", "zh": "可口可乐 1.5L",
                                "ko": "코카콜라 1.5L"}, 249, qty=2, tax="standard"),
]


def make_receipt(config: KioskConfig, locale: str = "en", txn: str = TXN,
                 link: bool = True) -> Receipt:
    if link:
        store = config.store.model_copy(update={"e_receipt_url": E_RECEIPT_URL})
        config = config.model_copy(update={"store": store})
    state = CheckoutState(
        state="approved", txn=txn, locale=locale, lines=LINES,
        payment={"method": "card", "amount": 1903, "stan": 7, "idem_key": f"{txn}-7",
                 "status": "approved", "auth_code": "A1B2C3",
                 "card": {"brand": "VISA", "masked_pan": "******0119"}})
    return build_receipt(state, config, WHEN, translator, ids=IDS)


def receipt_fields(receipt: Receipt) -> list[str]:
    """Every piece of text the printed receipt must show."""
    out = list(receipt.header)
    for left, right in receipt.lines:
        if left in ("-", "=") and not right:
            continue
        out.append(left.strip())
        if right:
            out.append(right)
    out += receipt.footer
    out.append(receipt.qr_payload)
    return [" ".join(s.split()) for s in out if s.strip()]
