"""Customer-presented wallet payment codes: is a decoded symbol one, and of which wallet.

A shopper paying by phone shows the wallet's payment code to the camera (the app draws the
same number as a Code 128 and a QR, or an EMVCo consumer-presented QR). Shapes, as the
wallets publish them:

* WeChat Pay (micropay ``auth_code``): 18 digits, the first two 10-15;
* Alipay (``alipay.trade.pay`` ``auth_code``): 16-24 digits, the first two 25-30;
* UnionPay QR (consumer-presented ``qrNo``): 19 digits starting 62;
* EMVCo consumer-presented mode (EMV QRCPS CPM v1.1): base64 of BER-TLV whose first data
  object is the payload format indicator ``85`` = ``CPV01``, then one or more application
  templates ``61`` (each with its AID ``4F``), at most one common data template ``62``,
  and nothing else at the top; a track 2 equivalent ``57`` or an application PAN ``5A``
  somewhere in them (:func:`parse_cpm`).

Collisions with item codes, decided by shape *and symbology* (:func:`classify_wallet`):

* a wallet draws its code only as a QR or a Code 128 (an EMVCo CPM payload only as a QR);
  a read in any other symbology (EAN/UPC, ITF, DataBar, DataMatrix, Code 39 ...) is never
  a wallet code, so an 18-digit ITF (an SSCC printed without its AI) stays an item-side
  read. A keyboard-wedge scanner does not say the symbology (``""``): its reads are judged
  by shape alone.
* no GTIN collides: GTIN-8/12/13/14 are at most 14 digits, every wallet number at least 16.
* a GS1 element string is recognised before this rule whenever the reader kept its FNC1
  (HRI brackets, GS separators, ``]C1``: kiosk.domain.codes), so a GS1-128 reaches this
  rule only as bare digits (zbar drops FNC1). The bare digits of a GS1-128 that could be an
  item start with AI 01/02 (or coupon AI 8110/8112), never 10-15, 25-30 or 62, so no
  sellable GS1 code is taken for a wallet code. A Code 128 whose bare digits start with
  AI 10-15 (lot, dates) and happen to be 18 long holds no GTIN: it is not an item either.
* a 19-digit number starting 62 may also be a UnionPay card number: it is treated with the
  same care (never logged or published), and the gateway decides.

A wallet code is a bearer credential: it goes to kiosk-core in the scanner's
``wallet_code`` command and nowhere else. What logs and events may show of it is
:func:`masked` (its kind only; the digits a wallet uses do not identify a shopper's
attempt usefully, so none are kept).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Literal

from kiosk.domain import tlv

WalletKind = Literal["wechat", "alipay", "unionpay", "emvco_cpm"]
WALLET_KINDS: tuple[str, ...] = ("wechat", "alipay", "unionpay", "emvco_cpm")
#: symbologies (zxing-cpp names) a wallet draws a numeric payment code in; "" = not told
NUMERIC_SYMBOLOGIES = frozenset({"QRCode", "Code128", ""})
#: an EMVCo consumer-presented payload is a QR only
CPM_SYMBOLOGIES = frozenset({"QRCode", ""})
#: longest text taken as a CPM payload (a real one is ~100-350 base64 characters)
MAX_CPM_CHARS = 512
#: the payload format indicator of EMV QRCPS consumer-presented mode version 01
CPM_INDICATOR = b"CPV01"
#: base64 of 85 05 "CPV0": every CPM payload starts with it (a cheap first test)
_CPM_PREFIX = "hQVDUFYw"
_CPM_TOP = ("61", "62")


class CpmError(ValueError):
    """Not an EMVCo consumer-presented payload; the message says why (never the payload)."""


@dataclass(frozen=True)
class WalletCode:
    """A customer-presented payment code and its wallet."""

    kind: WalletKind
    code: str = field(repr=False)

    @property
    def masked(self) -> str:
        return masked(self.kind)


def masked(kind: str) -> str:
    """What a log line or an event may show of a wallet code: its kind, nothing of it."""
    return f"<{kind} payment code>"


def numeric_kind(text: str) -> WalletKind | None:
    """The wallet whose published numeric shape ``text`` has, or None."""
    if not (text.isascii() and text.isdigit()) or len(text) < 16:
        return None
    n, prefix = len(text), int(text[:2])
    if n == 18 and 10 <= prefix <= 15:
        return "wechat"
    if 16 <= n <= 24 and 25 <= prefix <= 30:
        return "alipay"
    if n == 19 and prefix == 62:
        return "unionpay"
    return None


def parse_cpm(text: str) -> list[tlv.Tlv]:
    """The data objects of an EMVCo consumer-presented payload (base64 text), checked as
    the CPM specification lays it out; raises :class:`CpmError` for anything else."""
    if not text.startswith(_CPM_PREFIX) or len(text) > MAX_CPM_CHARS or not text.isascii():
        raise CpmError("not a CPM payload")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CpmError("not base64") from None
    try:
        objs = tlv.parse(raw)
    except tlv.TlvError as exc:
        raise CpmError(f"bad BER-TLV: {exc}") from None
    if not objs or objs[0].tag != "85" or objs[0].value != CPM_INDICATOR:
        raise CpmError("first data object is not 85 CPV01")
    rest = objs[1:]
    stray = sorted({o.tag for o in rest if o.tag not in _CPM_TOP})
    if stray:
        raise CpmError(f"unexpected top-level tag(s) {stray}")
    apps = [o for o in rest if o.tag == "61"]
    if not apps:
        raise CpmError("no application template 61")
    if sum(o.tag == "62" for o in rest) > 1:
        raise CpmError("more than one common data template 62")
    for app in apps:
        aid = next((c for c in app.children if c.tag == "4F"), None)
        if aid is None or not 5 <= len(aid.value) <= 16:
            raise CpmError("application template without a 5-16 byte AID 4F")
    card = [o for o in tlv.walk(rest) if o.tag in ("57", "5A")]
    if not card:
        raise CpmError("neither track 2 equivalent 57 nor PAN 5A")
    for obj in card:
        digits = obj.value.hex().upper()
        if obj.tag == "57" and ("D" not in digits or len(obj.value) > 19):
            raise CpmError("malformed track 2 equivalent 57")
        if obj.tag == "5A" and not (len(obj.value) <= 10
                                    and digits.rstrip("F").isdigit()):
            raise CpmError("malformed application PAN 5A")
    return objs


def is_cpm(text: str) -> bool:
    try:
        parse_cpm(text)
    except CpmError:
        return False
    return True


def classify_wallet(text: str, symbology: str = "") -> WalletCode | None:
    """The wallet code ``text`` is, read in ``symbology`` (zxing-cpp names; ``""``: the
    reader did not say), or None (the rules are in the module docstring)."""
    if symbology in NUMERIC_SYMBOLOGIES:
        kind = numeric_kind(text)
        if kind is not None:
            return WalletCode(kind, text)
    if symbology in CPM_SYMBOLOGIES and text.startswith(_CPM_PREFIX) and is_cpm(text):
        return WalletCode("emvco_cpm", text)
    return None
