"""Text as a raster image: for characters the printer's code page and ROM font lack.

A line of text is drawn with Noto Sans Mono CJK (Debian ``fonts-noto-cjk``; it covers
Latin, Chinese, Korean and ₩) at the printer's resolution, on the printer's own grid:
each character in a 12-dot column (two for a wide CJK character, like the ROM's 12 x 24
and 24 x 24 fonts), a 24-dot em in a 30-dot line, full print width, then thresholded to
pure black and white (no dithering: sharp glyph edges). On that grid a raster line's
columns (the prices at the right edge, an indent) line up with the text lines the printer
prints from its ROM font on the same receipt. The regional face follows the receipt's
language (SC for Chinese, KR for Korean), so shared Han characters take the shapes
readers expect.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_drivers.printer.config import FONT_A_WIDTH, language_of

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

EM = 24           # dots per em (matches the printer's 24-dot fonts)
LINE_DOTS = 30    # dots per text line (the printer's default 1/6-inch-ish spacing)
BASELINE = 24     # baseline within the line
CELL_DOTS = FONT_A_WIDTH  # dots per printer column (Font A: 12 x 24)
#: face index inside NotoSansCJK-*.ttc per language: JP 0, KR 1, SC 2, TC 3, HK 4
FACE_INDEX = {"ko": 1, "zh": 2, "ja": 0}
MONO_FACE_INDEX = {"ko": 6, "zh": 7, "ja": 5}


def face_for(locale: str, mono: bool = False) -> int:
    lang = language_of(locale)
    table = MONO_FACE_INDEX if mono else FACE_INDEX
    return table.get(lang, table["zh"])


def bold_path(path: Path) -> Path | None:
    candidate = path.with_name(path.name.replace("Regular", "Bold"))
    return candidate if candidate != path and candidate.exists() else None


@lru_cache(maxsize=32)
def load_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(path, size=size, index=index)


def char_columns(ch: str) -> int:
    """Printer columns a character takes: two for an East Asian wide one, else one."""
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def text_columns(text: str) -> int:
    """Printer columns ``text`` takes when rasterized on the grid."""
    return sum(char_columns(ch) for ch in text)


def _font(font_path: Path, locale: str, bold: bool) -> ImageFont.FreeTypeFont:
    path = (bold_path(font_path) if bold else None) or font_path
    return load_font(str(path), face_for(locale, mono=True), EM)


def _draw_cells(draw: ImageDraw.ImageDraw, text: str, x: int, font: ImageFont.FreeTypeFont,
                fake_bold: bool) -> None:
    """Each character centered in its own cell(s) from ``x``: the grid, whatever the
    font's advance for it."""
    for ch in text:
        w = CELL_DOTS * char_columns(ch)
        if not ch.isspace():
            cx = x + max(0.0, (w - font.getlength(ch)) / 2)
            for dx in ((0, 1) if fake_bold else (0,)):
                draw.text((cx + dx, BASELINE), ch, font=font, fill=0, anchor="ls")
        x += w


def line_image(left: str, right: str, width: int, *, font_path: Path, locale: str,
               align: str = "left", bold: bool = False, double_height: bool = False,
               double_width: bool = False) -> Image.Image:
    """One printed line as a 1-bit image ``width`` dots wide (black = print).

    ``left`` starts at the left edge (or is centered / right-aligned per ``align``
    when there is no ``right``); ``right`` ends in the last column.
    """
    from PIL import Image, ImageDraw

    sx = 2 if double_width else 1
    inner = width // sx
    columns = inner // CELL_DOTS
    img = Image.new("L", (inner, LINE_DOTS), 255)
    draw = ImageDraw.Draw(img)
    font = _font(font_path, locale, bold)
    fake_bold = bold and bold_path(font_path) is None
    lw = text_columns(left) * CELL_DOTS
    if right:
        x = 0
    elif align == "center":
        x = max(0, (inner - lw) // 2)
    elif align == "right":
        x = max(0, inner - lw)
    else:
        x = 0
    _draw_cells(draw, left, x, font, fake_bold)
    if right:
        _draw_cells(draw, right, (columns - text_columns(right)) * CELL_DOTS, font, fake_bold)
    if sx != 1 or double_height:
        img = img.resize((inner * sx, LINE_DOTS * (2 if double_height else 1)),
                         Image.Resampling.BILINEAR)
    if img.width != width:
        canvas = Image.new("L", (width, img.height), 255)
        canvas.paste(img, (0, 0))
        img = canvas
    return img.point(lambda v: 0 if v < 150 else 255).convert("1", dither=Image.Dither.NONE)
