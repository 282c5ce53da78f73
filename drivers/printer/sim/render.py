"""The simulator's paper: a page that text lines, raster images and QR codes are printed on.

Drawn at the printer's resolution (8 dots/mm): ROM-font text in 12 x 24 cells
(double-byte characters 24 x 24) with Noto Sans Mono CJK standing in for the
printer's fonts, emphasis, underline, reverse and the ESC ! / GS ! sizes;
``GS v 0`` images bit for bit; QR codes from the stored ``GS ( k`` data with the
printer's module size and error correction. Finished pages are saved as PNG with a
margin and a cut mark, so a person can look at exactly what the printer would
have printed, and a text transcript is kept for tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageFont

CELL_W, CELL_H = 12, 24
BASELINE = 20
MARGIN = 24
QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


@dataclass(frozen=True)
class Cell:
    """One character as the printer was told to print it."""

    char: str
    wide: bool = False     # a double-byte (24-dot) character
    bold: bool = False
    underline: bool = False
    invert: bool = False
    sx: int = 1
    sy: int = 1

    @property
    def width(self) -> int:
        return (2 if self.wide else 1) * CELL_W * self.sx


@lru_cache(maxsize=8)
def _font(path: str, index: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(path, size=CELL_H, index=index)


@lru_cache(maxsize=4096)
def _glyph(char: str, wide: bool, bold: bool, font_path: str, index: int) -> Image.Image:
    from PIL import Image, ImageDraw

    w = CELL_W * (2 if wide else 1)
    img = Image.new("L", (w, CELL_H), 255)
    draw = ImageDraw.Draw(img)
    font = _font(font_path, index)
    adv = font.getlength(char)
    x = max(0.0, (w - adv) / 2)
    for dx in ((0, 1) if bold else (0,)):
        draw.text((x + dx, BASELINE), char, font=font, fill=0, anchor="ls")
    return img


class Page:
    """One receipt's worth of paper, growing downwards as it is printed."""

    def __init__(self, width_dots: int, font_path: Path, face_index: int) -> None:
        self.width = width_dots
        self.font_path = str(font_path)
        self.face_index = face_index
        self.strips: list[Image.Image] = []
        self.height = 0
        self.text: list[str] = []
        self.qr_payloads: list[str] = []
        self.images = 0

    def _add(self, strip: Image.Image) -> None:
        self.strips.append(strip)
        self.height += strip.height

    def feed(self, dots: int) -> None:
        from PIL import Image

        if dots > 0:
            self._add(Image.new("L", (self.width, dots), 255))

    def text_line(self, cells: list[Cell], align: str, spacing: int) -> int:
        """Print one line (wrapping what does not fit); returns the dots of paper used."""
        from PIL import Image, ImageOps

        used = 0
        rows: list[list[Cell]] = [[]]
        width = 0
        for cell in cells:
            if width + cell.width > self.width and rows[-1]:
                rows.append([])
                width = 0
            rows[-1].append(cell)
            width += cell.width
        for row in rows:
            self.text.append("".join(c.char for c in row).rstrip())
            height = max([CELL_H * c.sy for c in row] or [CELL_H])
            advance = max(spacing, height)
            strip = Image.new("L", (self.width, advance), 255)
            total = sum(c.width for c in row)
            x = {"center": (self.width - total) // 2, "right": self.width - total}.get(align, 0)
            x = max(0, x)
            for c in row:
                glyph = _glyph(c.char, c.wide, c.bold, self.font_path, self.face_index)
                if c.sx != 1 or c.sy != 1:
                    glyph = glyph.resize((glyph.width * c.sx, glyph.height * c.sy),
                                         Image.Resampling.NEAREST)
                if c.underline:
                    glyph = glyph.copy()
                    glyph.paste(0, (0, glyph.height - 2 * c.sy, glyph.width, glyph.height))
                if c.invert:
                    glyph = ImageOps.invert(glyph)
                strip.paste(glyph, (x, height - glyph.height))
                x += c.width
            self._add(strip)
            used += advance
        return used

    def raster(self, data: bytes, width_bytes: int, height: int, mode: int, align: str) -> int:
        """Print a GS v 0 image (bit 1 = black dot); returns the dots of paper used."""
        from PIL import Image, ImageOps

        img = Image.frombytes("1", (width_bytes * 8, height), data).convert("L")
        img = ImageOps.invert(img)
        if mode & 1:
            img = img.resize((img.width * 2, img.height), Image.Resampling.NEAREST)
        if mode & 2:
            img = img.resize((img.width, img.height * 2), Image.Resampling.NEAREST)
        self.images += 1
        return self._place(img, align)

    def qr(self, payload: bytes, module: int, ec: int, align: str) -> int:
        import qrcode

        levels = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
                  "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
        text = payload.decode("utf-8", "replace")
        self.qr_payloads.append(text)
        code = qrcode.QRCode(version=None, box_size=module, border=0,
                             error_correction=levels[QR_EC.get(ec, "L")])
        code.add_data(text)
        code.make(fit=True)
        img = code.make_image().get_image().convert("L")
        return self._place(img, align)

    def _place(self, img: Image.Image, align: str) -> int:
        from PIL import Image

        if img.width > self.width:
            img = img.crop((0, 0, self.width, img.height))
        strip = Image.new("L", (self.width, img.height), 255)
        x = {"center": (self.width - img.width) // 2, "right": self.width - img.width}.get(
            align, 0)
        strip.paste(img, (x, 0))
        self._add(strip)
        return img.height

    def picture(self, complete: bool = True) -> Image.Image:
        """The page as a person would see it: paper with margins and a cut mark."""
        from PIL import Image, ImageDraw

        body_h = max(self.height, 1)
        out = Image.new("L", (self.width + 2 * MARGIN, body_h + 2 * MARGIN), 255)
        y = MARGIN
        for strip in self.strips:
            out.paste(strip.point(lambda v: 0 if v < 140 else 255), (MARGIN, y))
            y += strip.height
        draw = ImageDraw.Draw(out)
        yb = out.height - MARGIN // 2
        if complete:
            for x0 in range(0, out.width, 16):
                draw.line((x0, yb, x0 + 8, yb), fill=128, width=2)
        else:
            draw.line((0, yb, out.width, yb), fill=0, width=4)
        return out

    def save(self, path: Path, complete: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.picture(complete).save(path, optimize=True)
        path.with_suffix(".txt").write_text("\n".join(self.text) + "\n", encoding="utf-8")
        return path
