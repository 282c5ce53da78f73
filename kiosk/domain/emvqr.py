"""EMVCo merchant-presented QR payloads (EMV QRCPS Merchant-Presented Mode v1.1): build one
for the kiosk's screen, parse and validate any.

A payload is a string of data objects ``ID`` (2 digits) ``length`` (2 digits, in
characters) ``value``; templates hold data objects of their own. At the root:

* ``00`` payload format indicator ``01``, first; ``01`` point of initiation, ``11`` static
  or ``12`` dynamic (one payment: the kiosk's);
* ``02``-``51`` merchant account information: ``02``-``25`` primitive values reserved for
  the card networks, ``26``-``51`` templates whose sub-tag ``00`` is a globally unique
  identifier (an AID or a reverse domain name) followed by the network's own sub-tags;
* ``52`` merchant category code (4 digits), ``53`` ISO 4217 numeric currency, ``54``
  amount (digits with ``.`` as decimal mark, the currency's decimals, at most 13
  characters), ``55``-``57`` tip or convenience fee, ``58`` ISO 3166 country, ``59``
  merchant name (at most 25), ``60`` city (at most 15), ``61`` postal code;
* ``62`` additional data (``01`` bill number, ``05`` reference label, ``07`` terminal
  label ..., each at most 25), ``64`` the name and city in another language (``00``
  ISO 639 language, ``01`` name, ``02`` city: UTF-8, e.g. Chinese or Korean), ``65``-``79``
  RFU, ``80``-``99`` unreserved templates (sub-tag ``00`` a GUID);
* ``63`` CRC, last: CRC-16/CCITT-FALSE (polynomial 1021, initial FFFF) over the UTF-8
  bytes of the whole payload up to and including ``6304``, as 4 upper-case hex digits.

Besides 00 first and 63 last the specification lets root objects come in any order
(real payloads do: see the tests); :func:`build_mpm` writes them in ID order. A payload
is at most 512 characters. Errors (:class:`MpmError`) say which object is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.domain.money import Currency
from kiosk.domain.text import first_unsafe

MAX_PAYLOAD = 512
STATIC, DYNAMIC = "11", "12"
_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]*)?$", re.ASCII)
_DIGITS = re.compile(r"^[0-9]+$", re.ASCII)
_LIMITS = {"52": (4, 4), "53": (3, 3), "54": (1, 13), "55": (2, 2), "56": (1, 13),
           "57": (1, 5), "58": (2, 2), "59": (1, 25), "60": (1, 15), "61": (1, 10)}
_ADDITIONAL_MAX = 25  # 62's sub-tags 01-08 (bill number, reference label, ...)
MANDATORY = ("00", "52", "53", "58", "59", "60", "63")
#: what some national schemes leave out or stretch though EMVCo makes it mandatory or
#: shorter (PromptPay omits 52, 59 and 60; a KHQR city runs to 16 characters)
LENIENT = ("52", "59", "60")


class MpmError(ValueError):
    """A payload (or the data for one) that breaks the EMVCo merchant-presented rules."""


@dataclass(frozen=True)
class MerchantAccount:
    """A merchant account information template (``26``-``51``)."""

    id: str  # "26".."51"
    guid: str  # sub-tag 00: an AID (hex) or a reverse domain name, at most 32 characters
    fields: tuple[tuple[str, str], ...] = ()  # the network's sub-tags "01".."99", in order


@dataclass(frozen=True)
class AltLanguage:
    """The merchant information language template (``64``)."""

    language: str  # ISO 639-1, e.g. "ZH", "KO"
    name: str
    city: str = ""


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR
    (check value of b"123456789": 0x29B1)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def crc_of(body: str) -> str:
    """The CRC value for a payload that ends with ``6304`` (4 upper-case hex digits)."""
    return f"{crc16_ccitt_false(body.encode('utf-8')):04X}"


def tlv(obj_id: str, value: str) -> str:
    """One data object; its length is in characters (a UTF-8 name counts its letters)."""
    if not 1 <= len(value) <= 99:
        raise MpmError(f"data object {obj_id}: length {len(value)} outside 1-99")
    return f"{obj_id}{len(value):02d}{value}"


def split(text: str, where: str = "root") -> list[tuple[str, str]]:
    """The data objects of a payload or a template, in order."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        head = text[pos:pos + 4]
        if len(head) < 4 or not _DIGITS.match(head):
            raise MpmError(f"{where}: bad ID/length at character {pos}")
        obj_id, length = head[:2], int(head[2:])
        if length == 0:
            raise MpmError(f"{where}: data object {obj_id} has length 00")
        value = text[pos + 4:pos + 4 + length]
        if len(value) != length:
            raise MpmError(f"{where}: data object {obj_id} runs past the end")
        out.append((obj_id, value))
        pos += 4 + length
    return out


def _unique(objs: list[tuple[str, str]], where: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    for obj_id, value in objs:
        if obj_id in seen:
            raise MpmError(f"{where}: data object {obj_id} appears twice")
        seen[obj_id] = value
    return seen


def _text(value: str, what: str) -> str:
    bad = first_unsafe(value)
    if bad is not None:
        raise MpmError(f"{what}: control character at {bad}")
    return value


def parse_mpm(payload: str, strict: bool = True) -> dict[str, Any]:
    """Parse and validate a merchant-presented payload; raises :class:`MpmError`.

    ``strict=False`` reads payloads as national schemes issue them: :data:`LENIENT`
    objects may be missing or longer than EMVCo allows; the structure, 00 first, 63 last
    and the CRC are checked all the same. What the kiosk builds passes ``strict``.

    Returns ``format``, ``initiation`` (``"11"``, ``"12"`` or None), ``dynamic``,
    ``accounts`` ({ID: value for 02-25, {sub-ID: value} for 26-51}), ``mcc``, ``currency``
    (numeric, as text), ``amount`` (text or None), ``tip`` ({55/56/57}), ``country``,
    ``name``, ``city``, ``postal_code``, ``additional`` ({sub-ID: value}), ``language``
    ({"language", "name", "city"} or None), ``unreserved`` ({ID: {sub-ID: value}}),
    ``crc`` and ``objects`` (every root object in payload order).
    """
    if not isinstance(payload, str) or not payload:
        raise MpmError("empty payload")
    if len(payload) > MAX_PAYLOAD:
        raise MpmError(f"payload of {len(payload)} characters (max {MAX_PAYLOAD})")
    objs = split(payload)
    if objs[0] != ("00", "01"):
        raise MpmError("payload format indicator 00 = 01 is not first")
    if objs[-1][0] != "63" or not payload.endswith(objs[-1][1]) or payload[-8:-4] != "6304":
        raise MpmError("CRC 63 (length 04) is not last")
    crc = objs[-1][1]
    if not re.fullmatch(r"[0-9A-F]{4}", crc):
        raise MpmError("CRC 63 is not 4 upper-case hex digits")
    if crc_of(payload[:-4]) != crc:
        raise MpmError("CRC 63 does not match the payload")
    root = _unique(objs, "root")
    missing = [m for m in MANDATORY if m not in root and (strict or m not in LENIENT)]
    if missing:
        raise MpmError(f"mandatory data object(s) {missing} missing")
    for obj_id, (lo, hi) in _LIMITS.items():
        if obj_id in root and not lo <= len(root[obj_id]) <= hi and (
                strict or obj_id not in LENIENT):
            raise MpmError(f"data object {obj_id}: length {len(root[obj_id])} outside {lo}-{hi}")
    initiation = root.get("01")
    if initiation not in (None, STATIC, DYNAMIC):
        raise MpmError("point of initiation 01 is neither 11 nor 12")
    accounts: dict[str, Any] = {}
    unreserved: dict[str, dict[str, str]] = {}
    for obj_id, value in objs:
        n = int(obj_id)
        if 2 <= n <= 25:
            accounts[obj_id] = value
        elif 26 <= n <= 51 or 80 <= n <= 99:
            sub = _unique(split(value, f"template {obj_id}"), f"template {obj_id}")
            if not 1 <= len(sub.get("00", "")) <= 32:
                raise MpmError(f"template {obj_id}: no globally unique identifier 00")
            (accounts if n <= 51 else unreserved)[obj_id] = sub
    if not accounts:
        raise MpmError("no merchant account information (02-51)")
    if not _DIGITS.match(root.get("52", "0000")):
        raise MpmError("merchant category code 52 is not 4 digits")
    if not _DIGITS.match(root["53"]):
        raise MpmError("currency 53 is not an ISO 4217 numeric code")
    amount = root.get("54")
    if amount is not None and not _AMOUNT.match(amount):
        raise MpmError("amount 54 is not digits with an optional '.'")
    tip = {k: root[k] for k in ("55", "56", "57") if k in root}
    if "55" in tip and (tip["55"] not in ("01", "02", "03")
                        or (tip["55"] == "02" and "56" not in tip)
                        or (tip["55"] == "03" and "57" not in tip)):
        raise MpmError("tip indicator 55 without its value 56/57")
    if not re.fullmatch(r"[A-Z]{2}", root["58"]):
        raise MpmError("country 58 is not ISO 3166 alpha-2")
    additional: dict[str, str] = {}
    if "62" in root:
        additional = _unique(split(root["62"], "template 62"), "template 62")
        for sub_id, value in additional.items():
            if int(sub_id) <= 8 and len(value) > _ADDITIONAL_MAX:
                raise MpmError(f"template 62: {sub_id} longer than {_ADDITIONAL_MAX}")
    language = None
    if "64" in root:
        alt = _unique(split(root["64"], "template 64"), "template 64")
        if not re.fullmatch(r"[A-Za-z]{2}", alt.get("00", "")) or not alt.get("01"):
            raise MpmError("template 64 without its language 00 and name 01")
        language = {"language": alt["00"], "name": _text(alt["01"], "64 name"),
                    "city": _text(alt.get("02", ""), "64 city")}
    return {
        "format": root["00"], "initiation": initiation, "dynamic": initiation == DYNAMIC,
        "accounts": accounts, "mcc": root.get("52"), "currency": root["53"],
        "amount": amount, "tip": tip, "country": root["58"],
        "name": _text(root.get("59", ""), "name 59"),
        "city": _text(root.get("60", ""), "city 60"), "postal_code": root.get("61"),
        "additional": additional, "language": language, "unreserved": unreserved,
        "crc": crc, "objects": objs,
    }


def amount_minor(parsed: dict[str, Any], currency: Currency) -> int | None:
    """A parsed payload's amount in minor units of ``currency`` (whose numeric code it must
    carry), or None when it has none; MpmError if it does not fit the currency."""
    if int(parsed["currency"]) != currency.numeric:
        raise MpmError(f"currency 53 is {parsed['currency']}, not {currency.code}")
    if parsed["amount"] is None:
        return None
    try:
        return currency.parse(parsed["amount"])
    except ValueError as exc:
        raise MpmError(f"amount 54: {exc}") from None


def build_mpm(*, accounts: Sequence[MerchantAccount], mcc: str, currency: Currency,
              amount_minor: int | None, country: str, name: str, city: str,
              dynamic: bool = True, bill_number: str = "", reference_label: str = "",
              terminal_label: str = "", postal_code: str = "",
              language: AltLanguage | None = None) -> str:
    """A merchant-presented payload: objects in ID order, the CRC over all of it. The
    result is parsed back before it is returned, so it is always valid."""
    if not accounts:
        raise MpmError("at least one merchant account template is needed")
    parts = [tlv("00", "01"), tlv("01", DYNAMIC if dynamic else STATIC)]
    for account in sorted(accounts, key=lambda a: a.id):
        if not (account.id.isdigit() and 26 <= int(account.id) <= 51):
            raise MpmError(f"merchant account template ID {account.id!r} outside 26-51")
        if not 1 <= len(account.guid) <= 32:
            raise MpmError("merchant account GUID must be 1-32 characters")
        body = tlv("00", account.guid) + "".join(tlv(k, v) for k, v in account.fields)
        parts.append(tlv(account.id, body))
    parts += [tlv("52", mcc), tlv("53", f"{currency.numeric:03d}")]
    if amount_minor is not None:
        if amount_minor <= 0:
            raise MpmError("amount must be positive")
        parts.append(tlv("54", currency.plain(amount_minor)))
    parts += [tlv("58", country), tlv("59", name), tlv("60", city)]
    if postal_code:
        parts.append(tlv("61", postal_code))
    extra = [(k, v) for k, v in (("01", bill_number), ("05", reference_label),
                                 ("07", terminal_label)) if v]
    if extra:
        parts.append(tlv("62", "".join(tlv(k, v) for k, v in extra)))
    if language is not None:
        alt = tlv("00", language.language) + tlv("01", language.name)
        if language.city:
            alt += tlv("02", language.city)
        parts.append(tlv("64", alt))
    body = "".join(parts) + "6304"
    payload = body + crc_of(body)
    parse_mpm(payload)  # every rule the parser checks holds for what we show
    return payload
