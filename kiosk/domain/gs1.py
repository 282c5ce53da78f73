"""GS1 element strings: the AI table, the three forms a code's data comes in, and what a
lane sells from it (GTIN, net weight, price, dates, batch).

Forms (:func:`parse` takes any of them):

* **bracketed** (the HRI under a barcode, what zxing-cpp returns):
  ``(01)09501101530003(3103)001250(17)261231(10)AB12``;
* **raw**, FNC1 sent as GS (``\\x1d``) after each element whose length is not predefined,
  maybe with an AIM symbology identifier (``]C1`` GS1-128, ``]e0`` DataBar, ``]d2`` GS1
  DataMatrix, ``]Q3`` GS1 QR) or a leading GS: what a wedge scanner or zbar sends;
* **GS1 Digital Link** URIs (a QR code on a pack):
  ``https://id.gs1.org/01/09501101530003/10/AB12?3103=001250&17=261231``; the key and its
  qualifiers in the path, further AIs in the query; other query keys (``linkType``) are
  not data.

Each AI's data is checked against the table (:data:`AIS`: format per GS1 General
Specifications section 3, e.g. ``N6``, ``X..20``, ``N3+N..15``), check digits of keys
(GTIN, SSCC, GLN) too, and dates for a real calendar day (``DD = 00``: the month's last
day). A malformed string raises :class:`Gs1Error` with a stable ``reason``.

What a lane reads of it (:class:`ElementString`): the GTIN (AI 01), net weight in whole
grams (AI 310n: kg with n decimals; a weight finer than a gram is refused, never rounded),
a price in the store currency's minor units (AI 392n, or 393n with its ISO 4217 numeric
currency, which must be the store's; n is the decimal position, an amount finer than the
currency's minor unit is refused), best-before / sell-by / expiry dates (15 / 16 / 17, the
century by the GS1 rule of section 7.12) and the batch (10).

Pure: no I/O. Imports only :mod:`kiosk.domain` and the standard library.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, unquote, urlsplit

from kiosk.domain.gtin import check_digit
from kiosk.domain.money import Currency

GS = "\x1d"  # FNC1 as transmitted inside a raw element string
#: AIM symbology identifiers that announce GS1 data
AIM_GS1 = ("]C1", "]e0", "]d2", "]Q3", "]J1")
MAX_TEXT = 512
#: a bracket opening inside data, in the bracketed form (``\`` is not in set 82)
ESCAPED_OPEN = "\\("
#: an AI's opening bracket in the bracketed form (an escaped one is data)
_OPENING = re.compile(r"(?<!\\)\((\d{2,4})\)")

# AI (n: the decimal-position digit, 0-9) and data format, from the GS1 General
# Specifications (v24, section 3.2); the AIs a retail lane meets and the common logistics
# ones. "X" is GS1 AI encodable character set 82.
_TABLE = """
00 N18|01 N14|02 N14|10 X..20|11 N6|12 N6|13 N6|15 N6|16 N6|17 N6|20 N2|21 X..20|22 X..20
235 X..28|240 X..30|241 X..30|242 N..6|243 X..20|250 X..30|251 X..30|253 N13+X..17
254 X..20|255 N13+N..12|30 N..8|37 N..8|390n N..15|391n N3+N..15|392n N..15|393n N3+N..15
394n N4|395n N6|400 X..30|401 X..30|402 N17|403 X..30|410 N13|411 N13|412 N13|413 N13
414 N13|415 N13|416 N13|417 N13|420 X..20|421 N3+X..9|422 N3|423 N3+N..12|424 N3
425 N3+N..12|426 N3|427 X..3|7001 N13|7002 X..30|7003 N10|7004 N..4|7005 X..12|7006 N6
7007 N6..12|7008 X..3|7009 X..10|7010 X..2|8001 N14|8002 X..20|8003 N14+X..16|8004 X..30
8005 N6|8006 N18|8007 X..34|8008 N8+N..4|8012 X..20|8013 X..25|8017 N18|8018 N18|8020 X..25
8110 X..70|8111 N4|8112 X..70|8200 X..70|90 X..30
"""
#: measures, N6 each: 310n net weight kg, 311n-316n length/area/volume, 320n net weight lb,
#: 321n-369n the other trade and logistic measures
_MEASURES = [*range(310, 317), *range(320, 330), *range(330, 338), *range(340, 350),
             *range(350, 358), *range(360, 370)]
# AIs whose data has a predefined length, by their first two digits: total length of AI +
# data (GS1 General Specifications, figure 7.8.5-2). Only these need no FNC1 after them.
PREDEFINED = {"00": 20, "01": 16, "02": 16, "03": 16, "04": 18, "11": 8, "12": 8, "13": 8,
              "14": 8, "15": 8, "16": 8, "17": 8, "18": 8, "19": 8, "20": 4, "31": 10,
              "32": 10, "33": 10, "34": 10, "35": 10, "36": 10, "41": 16}
#: AIs whose whole data (or first n digits) is a key with a GS1 mod-10 check digit
_CHECKED = {"00": 18, "01": 14, "02": 14, "253": 13, "255": 13, "410": 13, "411": 13,
            "412": 13, "413": 13, "414": 13, "415": 13, "416": 13, "417": 13, "8006": 14,
            "8017": 18, "8018": 18}
_DATES = ("11", "12", "13", "15", "16", "17", "7006")
#: Digital Link primary keys, and the qualifiers each may have in its path (in this order)
_DL_KEYS = {"01": ("22", "10", "21"), "00": (), "253": (), "255": (), "401": (), "402": (),
            "414": ("254",), "417": (), "8003": (), "8004": (), "8006": ("22", "10", "21"),
            "8013": (), "8017": (), "8018": ()}
# the short names of GS1 Digital Link 1.0 (still met on packs): path and query
_DL_ALIASES = {"gtin": "01", "cpv": "22", "lot": "10", "ser": "21", "sscc": "00",
               "gln": "414", "exp": "17"}
_CSET82 = "!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z"


class Gs1Error(ValueError):
    """Not a well-formed GS1 element string (``reason``: a stable code for logs and UI)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class AI:
    """One Application Identifier: its digits, its data format and that format's regex."""

    ai: str
    fmt: str
    pattern: re.Pattern[str]
    fixed: int | None  # the data's length when it is the same for every value


def _component(part: str) -> tuple[str, int | None]:
    m = re.fullmatch(r"([NX])(\.\.)?(\d+)(?:\.\.(\d+))?", part)
    if m is None:
        raise AssertionError(f"bad format {part!r}")
    kind, var, n, upto = m.groups()
    chars = r"\d" if kind == "N" else f"[{_CSET82}]"
    if var:
        return f"{chars}{{1,{n}}}", None
    if upto:
        return f"{chars}{{{n},{upto}}}", None
    return f"{chars}{{{n}}}", int(n)


def _ai(code: str, fmt: str) -> AI:
    parts = [_component(p) for p in fmt.split("+")]
    fixed = None if any(n is None for _, n in parts) else sum(n for _, n in parts)  # type: ignore[misc]
    return AI(code, fmt, re.compile("".join(p for p, _ in parts)), fixed)


def _table() -> dict[str, AI]:
    out: dict[str, AI] = {}
    for entry in _TABLE.replace("\n", "|").split("|"):
        if not entry.strip():
            continue
        code, fmt = entry.split()
        for ai in ([code[:3] + str(n) for n in range(10)] if code.endswith("n") else [code]):
            out[ai] = _ai(ai, fmt)
    for prefix in _MEASURES:
        for n in range(6):
            out[f"{prefix}{n}"] = _ai(f"{prefix}{n}", "N6")
    for ai in range(91, 100):
        out[str(ai)] = _ai(str(ai), "X..90")
    return out


#: AI → its definition: the one table every form is parsed and checked with
AIS: dict[str, AI] = _table()
#: what a lane sells from: GTIN, batch, the dates, net weight (kg), price (both kinds)
SALE_AIS = ("01", "10", "15", "16", "17", *(f"310{n}" for n in range(6)),
            *(f"392{n}" for n in range(10)), *(f"393{n}" for n in range(10)))
DATE_AIS = {"15": "best_before", "16": "sell_by", "17": "expiry"}


def lookup(text: str) -> AI | None:
    """The AI ``text`` starts with (AIs are prefix-free: at most one matches)."""
    for n in (2, 3, 4):
        found = AIS.get(text[:n])
        if found is not None:
            return found
    return None


def resolve_year(yy: int, today: date) -> int:
    """The four-digit year of a two-digit one (GS1 General Specifications 7.12): within 49
    years before and 50 after the current year."""
    diff = yy - today.year % 100
    century = today.year - today.year % 100
    if diff >= 51:
        century -= 100
    elif diff <= -50:
        century += 100
    return century + yy


def to_date(yymmdd: str, today: date) -> date:
    """A GS1 date (``YYMMDD``; ``DD = 00``: the last day of the month)."""
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    year = resolve_year(yy, today)
    if not 1 <= mm <= 12:
        raise Gs1Error("gs1_bad_date", f"{yymmdd}: no month {mm:02d}")
    if dd == 0:
        dd = calendar.monthrange(year, mm)[1]
    try:
        return date(year, mm, dd)
    except ValueError:
        raise Gs1Error("gs1_bad_date", f"{yymmdd}: not a day") from None


def _check(ai: str, data: str) -> None:
    spec = AIS.get(ai)
    if spec is None:
        raise Gs1Error("gs1_unknown_ai", ai)
    if not spec.pattern.fullmatch(data):
        raise Gs1Error("gs1_bad_data", f"({ai}) {data!r} is not {spec.fmt}")
    n = _CHECKED.get(ai)
    if n is not None and check_digit(data[:n - 1]) != int(data[n - 1]):
        raise Gs1Error("gs1_check_digit", f"({ai}) {data}")
    if ai in _DATES:  # a real day in some century (DD 00: the month's last day)
        yy, mm, dd = int(data[:2]), int(data[2:4]), int(data[4:6])
        if not 1 <= mm <= 12 or dd > calendar.monthrange(2000 + yy, mm)[1]:
            raise Gs1Error("gs1_bad_date", f"({ai}) {data}")


@dataclass(frozen=True)
class ElementString:
    """A checked element string: its (AI, data) pairs in the order they came."""

    elements: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for ai, data in self.elements:
            _check(ai, data)
            if seen.setdefault(ai, data) != data:
                raise Gs1Error("gs1_duplicate_ai", f"({ai}) twice with different data")
        # GS1 General Specifications 4.13: invalid pairs and required companions
        if "01" in seen and "02" in seen:
            raise Gs1Error("gs1_invalid_pair", "(01) with (02)")
        if len({ai[:3] for ai in seen if ai[:3] in ("392", "393")}) > 1:
            raise Gs1Error("gs1_invalid_pair", "(392n) with (393n)")
        measured = [ai for ai in seen if ai[:3] in ("310", "392", "393")]
        if measured and "01" not in seen and "02" not in seen:
            raise Gs1Error("gs1_missing_gtin", f"({measured[0]}) without (01)")

    def __contains__(self, ai: object) -> bool:
        return any(a == ai for a, _ in self.elements)

    def get(self, ai: str) -> str | None:
        return next((d for a, d in self.elements if a == ai), None)

    def as_dict(self) -> dict[str, str]:
        return dict(self.elements)

    def hri(self) -> str:
        """The bracketed form: ``(01)…(3103)…``; a bracket opening inside data is escaped
        ``\\(`` (as GS1's bracketed syntax does), so the form parses back the same."""
        return "".join(f"({ai}){data.replace('(', ESCAPED_OPEN)}" for ai, data in self.elements)

    def only(self, ais: tuple[str, ...]) -> ElementString:
        """The elements whose AI is in ``ais``, GTIN first (e.g. :data:`SALE_AIS`)."""
        kept = [(a, d) for a, d in self.elements if a in ais]
        kept.sort(key=lambda e: e[0] != "01")
        return ElementString(tuple(kept))

    @property
    def gtin(self) -> str | None:
        return self.get("01")

    @property
    def batch(self) -> str | None:
        return self.get("10")

    def _decimal(self, prefix: str) -> tuple[str, int, str] | None:
        """(AI, decimal places, data) of the first AI ``prefix`` + n."""
        return next(((a, int(a[3]), d) for a, d in self.elements if a[:3] == prefix), None)

    @property
    def has_measure(self) -> bool:
        """Carries a net weight or price (310n, 392n, 393n)."""
        return any(a[:3] in ("310", "392", "393") for a, _ in self.elements)

    def net_weight_g(self) -> int | None:
        """AI 310n (kg, n decimals) in whole grams; Gs1Error when it is finer than a gram."""
        found = self._decimal("310")
        if found is None:
            return None
        ai, places, data = found
        grams = Decimal(int(data)).scaleb(3 - places)
        if grams != grams.to_integral_value():
            raise Gs1Error("gs1_weight_resolution", f"({ai}) {data}: finer than a gram")
        return int(grams)

    def price_minor(self, currency: Currency) -> int | None:
        """AI 392n (the store's currency) or 393n (ISO 4217 numeric first, which must be
        the store's) in minor units, exactly; Gs1Error for another currency or an amount
        finer than the currency's minor unit."""
        found = self._decimal("392") or self._decimal("393")
        if found is None:
            return None
        ai, places, data = found
        if ai[:3] == "393":
            numeric, data = int(data[:3]), data[3:]
            if numeric != currency.numeric:
                raise Gs1Error("gs1_currency", f"({ai}) currency {numeric:03d}, the store's is"
                               f" {currency.numeric:03d} ({currency.code})")
        minor = Decimal(int(data)).scaleb(currency.exponent - places)
        if minor != minor.to_integral_value():
            raise Gs1Error("gs1_price_resolution",
                           f"({ai}) {data}: finer than a minor unit of {currency.code}")
        return int(minor)

    def dates(self, today: date) -> dict[str, date]:
        """Best before (15), sell by (16), expiry (17) that the code carries, by AI."""
        return {ai: to_date(d, today) for ai, d in self.elements if ai in DATE_AIS}


# -- the three forms -------------------------------------------------------------------------

def parse_bracketed(text: str) -> ElementString:
    """``(01)09501101530003(10)AB12``. A bracket inside data (set 82 allows them) is data
    when escaped ``\\(`` (:meth:`ElementString.hri` writes it so) or when it does not open
    a known AI's bracket: ``(10)A(B)`` is batch ``A(B)``."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _OPENING.match(text, pos)
        if m is None or m.group(1) not in AIS:
            raise Gs1Error("gs1_malformed", f"no known AI in brackets at {pos}")
        ai, start = m.group(1), m.end()
        fixed = AIS[ai].fixed
        if fixed is not None:
            end = start + fixed  # fixed-length data are digits
        else:
            end = len(text)
            for nxt in _OPENING.finditer(text, start + 1):
                if nxt.group(1) in AIS:
                    end = nxt.start()
                    break
        pairs.append((ai, text[start:end].replace(ESCAPED_OPEN, "(")))
        pos = end
    if not pairs:
        raise Gs1Error("gs1_malformed", "empty")
    return ElementString(tuple(pairs))


def parse_raw(text: str) -> ElementString:
    """Concatenated elements, GS after each whose length is not predefined (an AIM
    identifier or a leading GS are dropped first)."""
    for aim in AIM_GS1:
        text = text.removeprefix(aim)
    pairs: list[tuple[str, str]] = []
    rest = text.lstrip(GS)
    while rest:
        spec = lookup(rest)
        if spec is None:
            raise Gs1Error("gs1_unknown_ai", rest[:4])
        body = rest[len(spec.ai):]
        predefined = PREDEFINED.get(spec.ai[:2])
        if predefined is not None:
            n = predefined - len(spec.ai)
            data, rest = body[:n], body[n:]
        else:
            end = body.find(GS)
            data, rest = (body, "") if end < 0 else (body[:end], body[end:])
        pairs.append((spec.ai, data))
        rest = rest.lstrip(GS)
    if not pairs:
        raise Gs1Error("gs1_malformed", "empty")
    return ElementString(tuple(pairs))


def parse_digital_link(uri: str) -> ElementString:
    """A GS1 Digital Link URI: ``http(s)://host[/prefix]/01/<gtin>[/22/..][/10/..][/21/..]``
    and AIs in the query. A GTIN-8/12/13 in the path is padded to 14 digits."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise Gs1Error("gs1_malformed", "not a URI") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Gs1Error("gs1_malformed", "not an http(s) URI")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for i in range(len(segments) - 1):
        key = _DL_ALIASES.get(segments[i], segments[i])
        if key not in _DL_KEYS:
            continue
        tail = segments[i:]
        if len(tail) % 2:
            continue
        pairs = [(_DL_ALIASES.get(a, a), v) for a, v in zip(tail[::2], tail[1::2],
                                                              strict=True)]
        allowed = list(_DL_KEYS[key])
        ok = True
        for ai, _ in pairs[1:]:  # qualifiers, each at most once, in their order
            if ai not in allowed:
                ok = False
                break
            allowed = allowed[allowed.index(ai) + 1:]
        if ok:
            break
    else:
        raise Gs1Error("gs1_malformed", "no GS1 key in the path")
    if key in ("01", "8006"):
        pairs[0] = (key, pairs[0][1].zfill(14) if pairs[0][1].isdigit() else pairs[0][1])
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        name = _DL_ALIASES.get(name, name)
        if name.isdigit() and name in AIS:
            pairs.append((name, value))
    return ElementString(tuple(pairs))


def parse(text: str) -> ElementString:
    """An element string in any form: bracketed, raw (GS / AIM identifier) or a Digital
    Link URI. Gs1Error if it is none of them or its data break the table's rules."""
    if not text or len(text) > MAX_TEXT:
        raise Gs1Error("gs1_malformed", "empty or too long")
    if text.startswith("("):
        return parse_bracketed(text)
    if "://" in text[:12]:
        return parse_digital_link(text)
    return parse_raw(text)
