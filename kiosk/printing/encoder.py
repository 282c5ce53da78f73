"""Receipt → ESC/POS bytes, with python-escpos's ``Dummy`` printer as the encoder.

Layout: a reprint's COPY mark and time (top and bottom), store header (the first line
bold, double size), item lines with
quantity / weight detail, promotions, tax breakdown, the total (bold, double
height), payment (masked PAN, approval code), transaction id, date, thanks, and
the e-receipt QR code (native ``GS ( k``) with its link under it when the store has one;
then feed and cut.

Every character is routed, per line, to the cheapest way the printer can show it:

1. ASCII and the configured single-byte code page (``ESC t n``), via python-escpos;
2. the printer's double-byte ROM font, ``FS &`` … ``FS .``, GBK bytes on Chinese
   models (``cjk_font = "gbk"``) or KS C 5601 (EUC-KR) bytes on Korean models;
3. otherwise the whole line is drawn as a raster image (``GS v 0``) with Noto Sans
   Mono CJK on the printer's column grid (``raster_fallback``; its columns line up with
   the text lines'), or, with raster off, the character prints as ``?``.

The output is a list of *segments* (one per printed line, image or QR code): the
transport sends whole segments between its status checks, so a DLE EOT query never
lands inside another command's data. Raster data is scrubbed of byte pairs a
printer would take for a real-time command (``10 04``, ``10 05``, ``10 14``): the
one offending dot is cleared, which no reader can see. Control characters and bidi
overrides are stripped from every text the encoder prints, whatever its source (a
catalog name, a config header, a payload): text never becomes a printer command.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from kiosk_drivers.printer.config import PrinterConfig
from kiosk_drivers.printer.raster import line_image, text_columns

from kiosk.domain.receipt import Receipt
from kiosk.domain.text import is_unsafe

if TYPE_CHECKING:
    from escpos.printer import Dummy

FS_KANJI_ON = b"\x1c&"
FS_KANJI_OFF = b"\x1c."
DOUBLE_BYTE_CODEC = {"gbk": "gbk", "ksc5601": "euc_kr"}
#: a double-byte font often has a full-width form where the code page has none
DOUBLE_BYTE_SUBSTITUTES = {"₩": "￦", "¥": "￥", "~": "～"}
REALTIME = re.compile(rb"\x10[\x04\x05\x14]")
RULES = ("-", "=")


@dataclass
class PrintLine:
    """One line of the layout, before it is routed to text or raster."""

    left: str
    right: str = ""
    align: str = "left"
    bold: bool = False
    double_height: bool = False
    double_width: bool = False
    rule: str = ""


@dataclass
class EncodedReceipt:
    txn: str
    segments: list[bytes] = field(default_factory=list)
    text_lines: int = 0
    raster_lines: int = 0
    raster_bytes: int = 0
    substituted: int = 0  # characters printed as '?' (raster off and no font for them)

    @property
    def data(self) -> bytes:
        return b"".join(self.segments)

    @property
    def size(self) -> int:
        return sum(len(s) for s in self.segments)

    @property
    def mode(self) -> str:
        return "raster" if self.raster_lines else "text"


def normalize(text: str) -> str:
    """Unicode spaces become plain spaces; control characters and invisible format marks
    (bidi overrides among them) are dropped: text never carries a printer command."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Zs", "Zl", "Zp"):  # U+2028 / U+2029 break no receipt line
            out.append(" ")
        elif cat == "Cf" or is_unsafe(ch):
            continue
        else:
            out.append(ch)
    return "".join(out)


def layout(receipt: Receipt) -> list[PrintLine]:
    """The receipt as print lines (what goes where and in which style)."""
    out: list[PrintLine] = []
    copy_mark = [PrintLine(text, align="center", bold=True, double_height=i == 0,
                           double_width=i == 0)
                 for i, text in enumerate(receipt.copy + receipt.mark)]
    out += copy_mark + ([PrintLine("")] if copy_mark else [])
    for i, head in enumerate(receipt.header):
        out.append(PrintLine(head, align="center", bold=i == 0, double_height=i == 0,
                             double_width=i == 0))
    out.append(PrintLine(""))
    after_total_rule = False
    for left, right in receipt.lines:
        if left in RULES and not right:
            out.append(PrintLine("", rule=left))
            after_total_rule = left == "="
            continue
        emphasis = after_total_rule
        after_total_rule = False
        out.append(PrintLine(left, right, bold=emphasis, double_height=emphasis))
    out.append(PrintLine(""))
    for i, foot in enumerate(receipt.footer):
        last = i == len(receipt.footer) - 1
        out.append(PrintLine(foot, align="center" if last else "left"))
    return out + copy_mark


class ReceiptEncoder:
    """Encodes receipts for one configured printer."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self._db_codec = DOUBLE_BYTE_CODEC.get(config.cjk_font)
        self._cur_size: tuple[bool, bool] = (False, False)
        self._cur_bold = False
        self._cur_align = "left"

    # -- character routing ------------------------------------------------------------

    def _dummy(self) -> Dummy:
        from escpos.printer import Dummy

        p = Dummy(profile="default")
        p.profile.profile_data = copy.deepcopy(p.profile.profile_data)
        p.profile.profile_data["media"]["width"]["pixels"] = self.config.dots
        return p

    def char_class(self, p: Dummy, ch: str) -> tuple[str, str]:
        """('sb' | 'db' | 'raster', the character to send)."""
        if " " <= ch <= "~":
            return "sb", ch
        if p.magic.encoder.can_encode(self.config.code_page, ch):
            return "sb", ch
        if self._db_codec:
            for cand in (ch, DOUBLE_BYTE_SUBSTITUTES.get(ch)):
                if cand is None:
                    continue
                try:
                    if len(cand.encode(self._db_codec)) == 2:
                        return "db", cand
                except UnicodeEncodeError:
                    pass
        return "raster", ch

    def _route(self, p: Dummy, text: str) -> list[tuple[str, str]]:
        return [self.char_class(p, ch) for ch in text]

    @staticmethod
    def _cols(routed: list[tuple[str, str]]) -> int:
        return sum(2 if kind == "db" else 1 for kind, _ in routed)

    # -- encoding ----------------------------------------------------------------------

    def encode(self, receipt: Receipt) -> EncodedReceipt:
        cfg = self.config
        p = self._dummy()
        enc = EncodedReceipt(txn=receipt.txn)
        self._cur_size, self._cur_bold, self._cur_align = (False, False), False, "left"
        p.hw("INIT")
        if self._db_codec:
            p._raw(FS_KANJI_OFF)
        p.charcode(cfg.code_page)
        self._flush(p, enc)
        for line in layout(receipt):
            self._line(p, enc, line, receipt.locale)
        if receipt.qr_payload:
            from escpos.constants import QR_ECLEVEL_M

            p.textln("")
            self._flush(p, enc)
            self._line(p, enc, PrintLine(receipt.qr_label, align="center"), receipt.locale)
            self._style(p, "center")
            p.textln("")  # the QR code's quiet zone above
            payload = normalize(receipt.qr_payload)
            p.qr(payload, native=True, size=cfg.qr_module_dots, ec=QR_ECLEVEL_M)
            p.textln("")
            self._flush(p, enc)
            self._line(p, enc, PrintLine(payload, align="center"), receipt.locale)
        self._style(p, "left")
        p.cut(mode="PART" if cfg.cut == "partial" else "FULL")
        self._flush(p, enc)
        return enc

    def _flush(self, p: Dummy, enc: EncodedReceipt) -> None:
        data = p.output
        p.clear()
        if data:
            enc.segments.append(data)

    def _line(self, p: Dummy, enc: EncodedReceipt, line: PrintLine, locale: str) -> None:
        cfg = self.config
        cols = cfg.columns // (2 if line.double_width else 1)
        if line.rule:
            self._style(p, "left")
            p.textln(line.rule * cfg.columns)
            enc.text_lines += 1
            self._flush(p, enc)
            return
        left, right = normalize(line.left), normalize(line.right)
        rl, rr = self._route(p, left), self._route(p, right)
        if line.double_width and self._cols(rl) + self._cols(rr) > cols:
            line = replace(line, double_width=False)  # double width only where it fits
            cols = cfg.columns
        needs_raster = any(kind == "raster" for kind, _ in rl + rr)
        if needs_raster and cfg.raster_fallback:
            self._raster_line(p, enc, line, left, right, locale)
            return
        if needs_raster:
            enc.substituted += sum(1 for kind, _ in rl + rr if kind == "raster")
            rl = [("sb", "?") if kind == "raster" else (kind, c) for kind, c in rl]
            rr = [("sb", "?") if kind == "raster" else (kind, c) for kind, c in rr]
        rows: list[tuple[list[tuple[str, str]], str]] = []
        if rr:
            gap = cols - self._cols(rl) - self._cols(rr)
            if gap >= 1:
                rows.append((rl + [("sb", " ")] * gap + rr, "left"))
            else:
                rows += [(part, "left") for part in self._wrap(rl, cols)]
                rows.append(([("sb", " ")] * max(0, cols - self._cols(rr)) + rr, "left"))
        else:
            rows += [(part, line.align) for part in self._wrap(rl, cols)]
        for routed, align in rows:
            self._style(p, align, line.bold, line.double_height, line.double_width)
            self._text(p, routed)
            p.text("\n")
            enc.text_lines += 1
            self._flush(p, enc)

    def _style(self, p: Dummy, align: str, bold: bool = False, double_height: bool = False,
               double_width: bool = False) -> None:
        """Send only the style commands that change (each line would otherwise repeat them)."""
        size = (double_height, double_width)
        if size != self._cur_size:
            # ESC ! also clears emphasis, so bold is sent again after a size change
            p.set(normal_textsize=True, double_height=double_height, double_width=double_width)
            self._cur_size = size
            self._cur_bold = False
        if bold != self._cur_bold:
            p.set(bold=bold)
            self._cur_bold = bold
        if align != self._cur_align:
            p.set(align=align)
            self._cur_align = align

    def _wrap(self, routed: list[tuple[str, str]], cols: int) -> list[list[tuple[str, str]]]:
        """Split a routed line into rows of at most ``cols`` columns, at spaces where it can."""
        rows: list[list[tuple[str, str]]] = []
        row: list[tuple[str, str]] = []
        width = 0
        for item in routed:
            w = 2 if item[0] == "db" else 1
            if width + w > cols and row:
                cut = max((i for i, (_, ch) in enumerate(row) if ch == " "), default=-1)
                if cut > 0:
                    rows.append(row[:cut])
                    row = row[cut + 1:]
                else:
                    rows.append(row)
                    row = []
                width = self._cols(row)
            row.append(item)
            width += w
        rows.append(row)
        return rows

    def _text(self, p: Dummy, routed: list[tuple[str, str]]) -> None:
        i = 0
        while i < len(routed):
            kind = routed[i][0]
            j = i
            while j < len(routed) and routed[j][0] == kind:
                j += 1
            run = "".join(ch for _, ch in routed[i:j])
            if kind == "db":
                assert self._db_codec is not None
                p._raw(FS_KANJI_ON + run.encode(self._db_codec) + FS_KANJI_OFF)
            else:
                p.text(run)
            i = j

    def _raster_line(self, p: Dummy, enc: EncodedReceipt, line: PrintLine, left: str,
                     right: str, locale: str) -> None:
        cfg = self.config
        cols = cfg.columns // (2 if line.double_width else 1)

        def fits(text: str) -> bool:
            return text_columns(text) <= cols

        rows = _wrap_columns(left, fits)
        parts = [(row, "", line.align) for row in rows]
        if right:
            last = rows[-1]
            if text_columns(last) + 1 + text_columns(right) <= cols:  # a column between
                parts[-1] = (last, right, "left")
            else:
                parts.append((right, "", "right"))
        self._style(p, "left")
        self._flush(p, enc)
        for lt, rt, align in parts:
            img = line_image(lt, rt, cfg.dots, font_path=cfg.raster_font, locale=locale,
                             align=align, bold=line.bold, double_height=line.double_height,
                             double_width=line.double_width)
            p.image(img, impl="bitImageRaster")
            data = scrub_raster(p.output)
            p.clear()
            enc.segments.append(data)
            enc.raster_lines += 1
            enc.raster_bytes += len(data)


def _wrap_columns(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy wrap for raster text: break at spaces, inside a word only when it must."""
    if fits(text):
        return [text]
    body = text.lstrip(" ")
    rows: list[str] = []
    current = text[:len(text) - len(body)]  # keep an indent on the first row
    for word in body.split(" "):
        candidate = f"{current} {word}" if current.strip() else current + word
        if fits(candidate):
            current = candidate
            continue
        if current:
            rows.append(current)
        current = ""
        for ch in word:
            if current and not fits(current + ch):
                rows.append(current)
                current = ""
            current += ch
    rows.append(current)
    return rows


def scrub_raster(segment: bytes) -> bytes:
    """Clear the dot that makes ``10 04|05|14`` inside GS v 0 image data (see module doc)."""
    if not segment.startswith(b"\x1dv0") or not REALTIME.search(segment, 8):
        return segment
    data = bytearray(segment)
    for m in REALTIME.finditer(segment, 8):
        data[m.start()] = 0x00
    return bytes(data)


def realtime_sequences(segment: bytes) -> int:
    """How many byte pairs in ``segment`` a printer would execute as real-time commands."""
    return len(REALTIME.findall(segment))
