"""Characters that must never reach a screen, a receipt or a printer as data.

Control characters (C0, DEL, C1: NUL, ESC, GS...) are commands to a printer and a
terminal, and the Unicode bidi embeddings, overrides and isolates (U+202A-202E,
U+2066-2069) reorder what a shopper reads ("Milk 1.99" shown as "99.1 kliM").
The catalog import refuses text holding them; the printer encoder strips them from
whatever it prints, whatever the source. :func:`decode_utf8` is how an operator's
file (catalog, config) becomes text: a wrong encoding is named by line, column and byte.
"""

from __future__ import annotations

import unicodedata

#: bidi embeddings/overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI)
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_unsafe(ch: str) -> bool:
    """A control character (category Cc) or a bidi override/isolate."""
    return ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc"


def first_unsafe(text: str, allow: str = "") -> int | None:
    """Index of the first unsafe character of ``text`` not in ``allow``, else None."""
    for i, ch in enumerate(text):
        if ch not in allow and is_unsafe(ch):
            return i
    return None


def describe(ch: str) -> str:
    """How an error names a character nobody can see: 'U+001B (control character)'."""
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'control character')})"


class NotUtf8(ValueError):
    """A file that is not UTF-8; str() names line, column and byte offset (one line)."""


def decode_utf8(raw: bytes) -> str:
    """UTF-8 text without a leading BOM, or NotUtf8 naming where decoding failed."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[start:exc.start].decode("utf-8", "replace")) + 1
        hint = ""
        try:
            raw.decode("gbk")
            hint = "; it reads as GBK: save it as UTF-8"
        except UnicodeDecodeError:
            pass
        raise NotUtf8(f"line {line}, column {column} (byte offset {exc.start}): not UTF-8"
                      f" text (byte 0x{raw[exc.start]:02X}: {exc.reason}){hint}") from None
