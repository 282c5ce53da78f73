"""Classify a decoded text: product, variable measure, wallet, payment, coupon, staff badge,
unknown.

Rules, first match wins:

* ``STAFF:`` prefix (:data:`BADGE_PREFIX`): a staff badge, forwarded to kiosk-core.
* configured coupon / payment-QR prefixes (``[scanner.classify]``): ``payment`` is a
  payment-looking code the lane does not take from a shopper (a merchant's QR, a wallet
  URL), never an item.
* a customer-presented wallet payment code (WeChat Pay, Alipay, UnionPay QR, EMVCo
  consumer-presented; by shape and symbology, :mod:`kiosk.domain.wallet_codes`): class
  ``wallet``, sent to kiosk-core only as a ``wallet_code`` command, never as a scan.
* all digits: a GTIN-8/12/13/14 whose check digit must hold
  (kiosk.domain.gtin): GS1 coupon prefixes (EAN-13 99 / 981-984, UPC-A number system 5),
  an in-store variable-measure EAN-13 (the configured layouts), or a product.
* a GS1 element string (GS1-128, DataBar Expanded, GS1 DataMatrix/QR, a GS1 Digital Link
  URI) in any form a decoder or a wedge scanner gives it (:func:`gs1_elements`, parsed by
  :mod:`kiosk.domain.gs1`): coupon AIs 8110/8112, or AI 01 (a GTIN). One that carries
  nothing a lane sells from but its GTIN is that GTIN (a product); one with a net weight
  or price (310n, 392n, 393n: ``variable_measure``), dates (15/16/17) or a batch (10)
  goes to kiosk-core as its HRI reduced to those AIs (:data:`kiosk.domain.gs1.SALE_AIS`),
  ``(01)…(3103)…(17)…(10)…``, which prices it and refuses an expired or recalled item.
  Every form of one code gets that one key and text, so two decoders reading it agree.
* anything else: unknown (rejected).

``key`` is a read's identity for confirmation and de-duplication: a product's GTIN
normalised to 14 digits (so UPC-A, its EAN-13 form and a DataBar of the same GTIN
agree), otherwise the text. ``masked`` is what logs show: a wallet code only its kind,
everything else except product codes masked to its last 4 characters (payment codes,
badges and coupons are bearer secrets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kiosk.domain import gs1, wallet_codes
from kiosk.domain.gtin import (
    GtinError,
    VariableMeasureConfig,
    decode_variable_measure,
    validate_gtin,
)

ReadClass = Literal["product", "variable_measure", "wallet", "payment", "coupon", "staff_badge",
                    "unknown"]
READ_CLASSES: tuple[str, ...] = ("product", "variable_measure", "wallet", "payment", "coupon",
                                 "staff_badge", "unknown")
#: what a staff badge's code starts with (kiosk.security.staff hashes the whole code)
BADGE_PREFIX = "STAFF:"
MAX_TEXT = 512
SCAN_MAX = 128  # kiosk.bus.messages.Scan.code
GS = gs1.GS

# A bare digit string (zbar drops FNC1) is taken as GS1 only if it parses completely and
# starts with one of these AIs (a GTIN with a valid check digit, or a coupon).
_GS1_BARE_STARTS = ("01", "02", "8110", "8112")
_GS1_COUPONS = ("8110", "8112")


def is_badge_code(code: str) -> bool:
    return code.startswith(BADGE_PREFIX)


def mask(text: str) -> str:
    """All but the last 4 characters replaced by ``*`` (fewer than 5: all masked)."""
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


@dataclass(frozen=True)
class Classified:
    """A read's class and what to do with it."""

    cls: ReadClass
    ok: bool
    key: str = field(repr=False)  # a bearer code's key is the code
    code: str = field(repr=False)  # the text kiosk-core receives (scan, wallet_code)
    forward: bool  # published as a ``scan`` command to kiosk-core
    reason: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def masked(self) -> str:
        if self.cls in ("product", "variable_measure"):
            return self.code
        if self.cls == "wallet":
            return wallet_codes.masked(self.detail["kind"])
        return mask(self.code)


def upce_to_upca(code: str) -> str:
    """Expand an 8-digit UPC-E (number system, 6 digits, check) to its 12-digit UPC-A."""
    if len(code) != 8 or not code.isdigit():
        raise ValueError(f"{code!r} is not an 8-digit UPC-E")
    ns, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def gs1_elements(text: str) -> gs1.ElementString | None:
    """The GS1 element string in ``text``, whatever form the reader gave it, else None.

    Accepted (:func:`kiosk.domain.gs1.parse`): HRI with brackets (zxing-cpp), raw with FNC1
    sent as GS and/or an AIM symbology identifier (``]C1`` …; wedge scanners, zbar with
    separators), a GS1 Digital Link URI (a QR code), and bare digits (zbar drops FNC1) that
    parse completely from AI 01/02 or from a coupon AI (8110/8112): variable-length AIs end
    at a GS or the end.
    """
    if not text or len(text) > MAX_TEXT:
        return None
    explicit = text.startswith(("(", *gs1.AIM_GS1, "http://", "https://")) or GS in text
    if not explicit and not (text[:1].isdigit() and text.startswith(_GS1_BARE_STARTS)):
        return None
    try:
        elements = gs1.parse(text)
    except gs1.Gs1Error:
        return None
    if not explicit and elements.elements[0][0] not in _GS1_BARE_STARTS:
        return None
    return elements


def normalise(text: str) -> str:
    """One text per code: a GS1 element string in HRI form, anything else unchanged."""
    elements = gs1_elements(text)
    return elements.hri() if elements else text


class Classifier:
    """Classifies decoded texts; results are cached (a held code is seen every frame)."""

    def __init__(self, variable_measure: VariableMeasureConfig,
                 payment_qr_prefixes: list[str] | tuple[str, ...] = (),
                 coupon_prefixes: list[str] | tuple[str, ...] = ()) -> None:
        self.variable_measure = variable_measure
        self.payment_qr_prefixes = tuple(payment_qr_prefixes)
        self.coupon_prefixes = tuple(coupon_prefixes)
        self._cache: dict[tuple[str, str], Classified] = {}

    def __call__(self, text: str, symbology: str = "") -> Classified:
        hit = self._cache.get((text, symbology))
        if hit is None:
            hit = self._classify(text, symbology)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[(text, symbology)] = hit
        return hit

    def _classify(self, text: str, symbology: str) -> Classified:
        if text.startswith(gs1.AIM_GS1) or GS in text:  # raw GS1: FNC1 is a control character
            elements = gs1_elements(text)
            if elements:
                return self._gs1(elements)
        if not text or len(text) > MAX_TEXT or not text.isprintable():
            shown = "".join(c if c.isprintable() else "?" for c in text[:MAX_TEXT])
            return Classified("unknown", False, shown, shown, False, "unreadable")
        if text.startswith(BADGE_PREFIX):
            fits = len(text) <= SCAN_MAX and text.isascii() and " " not in text
            return Classified("staff_badge", fits, text, text, fits,
                              "" if fits else "badge_not_scannable")
        if text.startswith(self.coupon_prefixes):
            return Classified("coupon", True, text, text, False, detail={"scheme": "store"})
        if text.startswith(self.payment_qr_prefixes):
            return Classified("payment", True, text, text, False, detail={"provider": "qr"})
        wallet = wallet_codes.classify_wallet(text, symbology)
        if wallet is not None:
            return Classified("wallet", True, text, text, False, detail={"kind": wallet.kind})
        if text.isascii() and text.isdigit():
            if len(text) > 14:  # GS1-128 read without its FNC1
                elements = gs1_elements(text)
                if elements:
                    return self._gs1(elements)
            return self._digits(text, symbology)
        elements = gs1_elements(text)
        if elements:
            return self._gs1(elements)
        return Classified("unknown", False, text, text, False, "not_a_known_code")

    def _digits(self, text: str, symbology: str) -> Classified:
        code = text
        if symbology == "UPCE" and len(text) == 8:
            code = upce_to_upca(text)
        try:
            gtin14 = validate_gtin(code)
        except GtinError as exc:
            reason = "check_digit" if len(code) in (8, 12, 13, 14) else "not_a_known_code"
            cls: ReadClass = "product" if reason == "check_digit" else "unknown"
            return Classified(cls, False, code, code, False, reason, {"error": str(exc)})
        if self._gs1_coupon_gtin(gtin14):
            return Classified("coupon", True, gtin14, code, False, detail={"scheme": "gs1"})
        ean13 = gtin14[1:] if gtin14[0] == "0" else ""
        if ean13:
            vm = decode_variable_measure(ean13, self.variable_measure)
            if vm is not None:
                detail = {"plu": vm.plu}
                if vm.price_minor is not None:
                    detail["price_minor"] = vm.price_minor
                if vm.weight_g is not None:
                    detail["weight_g"] = vm.weight_g
                return Classified("variable_measure", True, ean13, ean13, True, detail=detail)
        return Classified("product", True, gtin14, code, True, detail={"gtin": gtin14})

    @staticmethod
    def _gs1_coupon_gtin(gtin14: str) -> bool:
        ean13 = gtin14[1:]
        return (gtin14[0] == "0" and (ean13.startswith("99") or ean13[:3] in
                                      ("981", "982", "983", "984") or ean13.startswith("05")))

    def _gs1(self, elements: gs1.ElementString) -> Classified:
        hri = elements.hri()
        if any(ai in elements for ai in _GS1_COUPONS):
            return Classified("coupon", True, hri, hri, False, detail={"scheme": "gs1"})
        gtin14 = elements.gtin  # its check digit is checked by the parser
        if gtin14 is None:
            return Classified("unknown", False, hri, hri, False, "gs1_without_gtin")
        sale = elements.only(gs1.SALE_AIS)
        if len(sale.elements) == 1:  # a GTIN and nothing the lane sells from
            return Classified("product", True, gtin14, gtin14, True, detail={"gtin": gtin14})
        # weight, price, dates or batch: kiosk-core prices and checks the item from them
        code = sale.hri()
        cls: ReadClass = "variable_measure" if sale.has_measure else "product"
        if len(code) > SCAN_MAX:
            return Classified(cls, False, code, code, False, "not_scannable", {"gtin": gtin14})
        return Classified(cls, True, code, code, True, detail={"gtin": gtin14})
