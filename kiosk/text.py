"""Characters that must never reach a screen, a receipt or a printer as data.

Control characters (C0, DEL, C1: NUL, ESC, GS...) are commands to a printer and a
terminal, and the Unicode bidi embeddings, overrides and isolates (U+202A-202E,
U+2066-2069) reorder what a shopper reads ("Milk 1.99" shown as "99.1 kliM").
The catalog import refuses text holding them; the printer encoder strips them from
whatever it prints, whatever the source.
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
