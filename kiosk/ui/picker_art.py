"""A picture for every tile of the produce picker: the catalog's photo, else a colour emoji.

A store photo (the catalog's ``picture`` column, :func:`kiosk.catalog.picture_index`) comes
first. An item without one gets the Noto Color Emoji glyph its English name calls for
(:data:`EMOJI`, by word: "Fuji Apples" → 🍎), and an item no word matches the basket 🧺:
a tile is never blank. Kivy's SDL2 text provider cannot draw a colour bitmap font (CBDT), so
each glyph is drawn once with Pillow (FreeType, ``embedded_color``) to a PNG in the UI's
state folder (:func:`emoji_png`), off the frame loop; the screen shows PNGs only.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

#: where Debian's fonts-noto-color-emoji puts the font
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
#: the one size a CBDT bitmap font has its strikes at
EMOJI_PX = 109
#: a word of an item's English name (singular) → its emoji; first match wins
EMOJI: tuple[tuple[str, str], ...] = (
    ("banana", "🍌"), ("apple", "🍎"), ("pear", "🍐"), ("tomato", "🍅"), ("cucumber", "🥒"),
    ("pepper", "🫑"), ("potato", "🥔"), ("onion", "🧅"), ("lemon", "🍋"), ("lime", "🍋"),
    ("garlic", "🧄"), ("ginger", "🫚"), ("grape", "🍇"), ("broccoli", "🥦"), ("carrot", "🥕"),
    ("corn", "🌽"), ("mushroom", "🍄"), ("orange", "🍊"), ("mandarin", "🍊"), ("peach", "🍑"),
    ("cherry", "🍒"), ("strawberry", "🍓"), ("melon", "🍈"), ("watermelon", "🍉"),
    ("mango", "🥭"), ("pineapple", "🍍"), ("kiwi", "🥝"), ("avocado", "🥑"), ("eggplant", "🍆"),
    ("lettuce", "🥬"), ("cabbage", "🥬"), ("chili", "🌶️"), ("sweet potato", "🍠"),
    ("coconut", "🥥"), ("blueberr", "🫐"), ("chestnut", "🌰"), ("peanut", "🥜"),
    ("pork belly", "🥓"), ("bacon", "🥓"), ("steak", "🥩"), ("beef", "🥩"), ("chicken", "🍗"),
    ("ham", "🍖"), ("pork", "🍖"), ("cheese", "🧀"), ("salmon", "🐟"), ("fish", "🐟"),
    ("shrimp", "🦐"), ("bread", "🍞"),
)
#: the tile of an item no word matches
FALLBACK = "🧺"


def emoji_for(names: dict[str, str]) -> str:
    """The emoji for an item by its English name (any name when it has no English one)."""
    name = (names.get("en") or next(iter(names.values()), "")).casefold()
    for word, glyph in EMOJI:
        if re.search(rf"\b{re.escape(word)}", name):
            return glyph
    return FALLBACK


def emoji_png(glyph: str, folder: Path, font: Path = EMOJI_FONT) -> Path | None:
    """The PNG of ``glyph`` in ``folder`` (drawn now if missing); None when the emoji font is
    not installed or has no such glyph (the caller then uses :data:`FALLBACK`'s, or draws
    its own placeholder). Blocking file I/O: call off the frame loop."""
    name = "emoji-" + "-".join(f"{ord(c):x}" for c in glyph) + ".png"
    target = folder / name
    if target.exists():
        return target
    try:
        from PIL import Image, ImageDraw, ImageFont

        face = ImageFont.truetype(str(font), EMOJI_PX)
        image = Image.new("RGBA", (EMOJI_PX * 2, EMOJI_PX * 2), (0, 0, 0, 0))
        ImageDraw.Draw(image).text((EMOJI_PX // 2, EMOJI_PX // 2), glyph, font=face,
                                   embedded_color=True)
    except (OSError, ValueError) as exc:
        log.warning("emoji %s not drawn (%s): %s", glyph, font, exc)
        return None
    box = image.getbbox()
    if box is None or not _coloured(image.crop(box)):
        return None  # no glyph (an empty box or the font's grey "missing" box)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
    image.crop(box).save(tmp, "PNG")
    tmp.replace(target)
    return target


def _coloured(image) -> bool:
    """True when the drawing has colour (a real emoji), not only greys."""
    rgb = image.convert("RGB").resize((16, 16))
    return any(max(c) - min(c) > 40 for _n, c in rgb.getcolors(16 * 16) or ())


def tile_pictures(items: list[tuple[str, dict[str, str]]], photos: dict[str, Path],
                  folder: Path, font: Path = EMOJI_FONT) -> dict[str, Path | None]:
    """Product key → the picture its tile shows: the store photo, the item's emoji, the
    basket emoji; None only when no emoji can be drawn at all (the tile then draws a bag)."""
    out: dict[str, Path | None] = {}
    fallback = emoji_png(FALLBACK, folder, font)
    for key, names in items:
        out[key] = photos.get(key) or emoji_png(emoji_for(names), folder, font) or fallback
    return out
