"""What every screenshot is checked for: text fits, glyphs exist, nothing left in English.

* no text overflows its box (``overflow`` from the UI: clipped or spilling);
* every character of every visible text is in the character map of the font
  file that label is drawn with (read with fontTools, independently of the UI's
  own reader): no tofu;
* on a Chinese or Korean screen no visible text is an English catalog string
  (msgids with placeholders are matched as patterns);
* every enabled button is at least 9 mm in both directions at the UI's dpi.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from kiosk.ui.i18n import all_msgids, translations

MIN_TOUCH_MM = 9.0


@lru_cache(maxsize=16)
def cmap_of(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


@lru_cache(maxsize=4)
def english_patterns(locale: str) -> list[tuple[str, re.Pattern]]:
    """English msgids that this locale translates differently, as full-match patterns."""
    t = translations(locale)
    out = []
    for msgid in all_msgids():
        if t.gettext(msgid) == msgid or not re.search(r"[A-Za-z]{2}", msgid):
            continue  # same in both languages (e.g. "{qty} × {price}")
        pattern = re.escape(msgid)
        pattern = re.sub(r"\\\{[a-z_]+\\\}", ".+", pattern)
        out.append((msgid, re.compile(pattern)))
    return out


def check_texts(texts: list[dict], locale: str, fonts: dict[str, str]) -> list[str]:
    """Problems with the visible texts of one screen (empty when all is well)."""
    problems = []
    for item in texts:
        text = item["text"]
        if item["overflow"]:
            problems.append(f"clipped: {text!r} (box {item['size']}, text {item['texture']})")
        font = item["font"]
        key = font + ("#bold" if item.get("bold") else "")
        path = fonts.get(key) or fonts.get(font)
        if path is None:
            problems.append(f"unknown font {font!r} for {text!r}")
            continue
        missing = sorted({c for c in text if not c.isspace() and ord(c) not in cmap_of(path)})
        if missing:
            problems.append(f"no glyph in {Path(path).name} for {missing} in {text!r}")
        if locale != "en":
            for line in text.splitlines():
                for msgid, pattern in english_patterns(locale):
                    if pattern.fullmatch(line):
                        problems.append(f"untranslated on a {locale} screen: {line!r} ({msgid})")
    return problems


def check_touch(tappables: dict) -> list[str]:
    """Buttons smaller than 9 mm (at the dpi Kivy reports)."""
    min_px = MIN_TOUCH_MM / 25.4 * tappables["dpi"]
    return [f"touch target {t['tid'] or '?'} is {t['size']} px (< {min_px:.0f} px = 9 mm)"
            for t in tappables["tappables"] if min(t["size"]) < min_px - 0.5]
