"""Finding a loose item by what the shopper types or says: pure, no I/O, no UI.

The produce picker (kiosk/ui/picker.py) searches the store's loose items by name in the
shopper's language. A kiosk has no keyboard, so its on-screen keys are few, and search by
*initials* is how shoppers look things up on a small keyboard:

* Chinese: the first letters of each character's pinyin, ``xj`` for 香蕉 (xiāng jiāo);
  a character with several readings matches any of them (长 is ``c`` or ``z``), and
  ``zh``/``ch``/``sh`` are typed as their first letter. Readings come from pypinyin's
  single-character table (:func:`hanzi_initials`).
* Korean: the initial consonants (choseong) of each syllable, ``ㅂㄴㄴ`` for 바나나; a
  doubled consonant (ㄲ, ㄸ, ㅃ, ㅆ, ㅉ) is matched by its plain one, as on a keypad.
* Any language: a case-insensitive substring of the name, or the start of any word.

A PLU typed on the keypad matches by its digits (``4011`` or ``04011``). Results keep the
catalog's order, those whose name starts with the query first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

#: the 19 initial consonants of a Hangul syllable, in Unicode's order
CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
#: a doubled consonant → the plain one a keypad types it with
_PLAIN = {"ㄲ": "ㄱ", "ㄸ": "ㄷ", "ㅃ": "ㅂ", "ㅆ": "ㅅ", "ㅉ": "ㅈ"}
#: the keys of a choseong keypad: the 14 plain consonants
CHOSEONG_KEYS = "ㄱㄴㄷㄹㅁㅂㅅㅇㅈㅊㅋㅌㅍㅎ"
_HANGUL_FIRST, _HANGUL_LAST, _PER_INITIAL = 0xAC00, 0xD7A3, 21 * 28


def choseong(name: str) -> str:
    """The initial consonant of each Hangul syllable of ``name`` (plain form), other
    characters dropped: 바나나우유 → ㅂㄴㄴㅇㅇ, 부사 사과 → ㅂㅅㅅㄱ."""
    out = []
    for ch in name:
        code = ord(ch)
        if _HANGUL_FIRST <= code <= _HANGUL_LAST:
            initial = CHOSEONG[(code - _HANGUL_FIRST) // _PER_INITIAL]
            out.append(_PLAIN.get(initial, initial))
        elif ch in CHOSEONG:  # a name may hold a bare jamo
            out.append(_PLAIN.get(ch, ch))
    return "".join(out)


def is_hanzi(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


@lru_cache(maxsize=4096)
def hanzi_initials(ch: str) -> frozenset[str]:
    """The first letters of every pinyin reading of one Chinese character (lower case);
    empty for a character pypinyin does not know."""
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")  # one character at a time: no phrases
    from pypinyin import Style, pinyin

    readings = pinyin(ch, style=Style.FIRST_LETTER, heteronym=True, strict=False,
                      errors=lambda _c: [[]])
    return frozenset(r[0].lower() for group in readings for r in group if r and r[0].isalpha())


_WIDE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}  # full-width ASCII → ASCII


def _fold(text: str) -> str:
    """Case- and width-folded text (ＡＢＣ → abc). Not Unicode-normalised: NFKC/NFKD would
    turn a typed consonant (ㅂ, U+3142) and every syllable into conjoining jamo."""
    return text.translate(_WIDE).casefold()


@dataclass(frozen=True)
class Item:
    """A loose item the picker shows: its product key, PLU, names by language, and how it is
    sold (per kg or each)."""

    key: str
    plu: str
    names: dict[str, str]
    sold_by_weight: bool = True

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or next(iter(self.names.values()),
                                                                     self.plu)


def _hanzi_letters(name: str) -> list[frozenset[str]]:
    """Per Chinese character of ``name``, its possible initials; a Latin word in the name
    counts as one position of its own first letter (全脂牛奶 1L → q z n n l)."""
    out: list[frozenset[str]] = []
    word = False
    for ch in name:
        if is_hanzi(ch):
            out.append(hanzi_initials(ch))
            word = False
        elif ch.isalnum():
            if not word:
                out.append(frozenset({_fold(ch)}))
            word = True
        else:
            word = False
    return out


def _initials_match(query: str, letters: Sequence[frozenset[str]]) -> int | None:
    """Where ``query`` (letters) matches consecutive characters' initials: the first
    position, or None."""
    n = len(query)
    for start in range(len(letters) - n + 1):
        if all(query[i] in letters[start + i] for i in range(n)):
            return start
    return None


def _words_start(query: str, name: str) -> bool:
    return any(w.startswith(query) for w in name.split())


def rank(query: str, item: Item, lang: str) -> int | None:
    """How well ``item`` matches ``query`` in ``lang`` (lower is better), None: no match.

    0: the name starts with it; 1: a word of the name does; 2: inside the name; 3: by the
    initials (pinyin, choseong) of its first characters; 4: of later ones; 5: by PLU digits.
    Names in English match in every language
    (the shelf labels are bilingual in many stores)."""
    q = _fold(query.strip())
    if not q:
        return 0
    if q.isdigit():
        return 5 if item.plu.lstrip("0").startswith(q.lstrip("0")) or item.plu.startswith(q) \
            else None
    best: int | None = None
    for name in {item.name(lang), item.names.get("en", "")} - {""}:
        folded = _fold(name)
        if folded.startswith(q):
            score = 0
        elif _words_start(q, folded):
            score = 1
        elif q in folded:
            score = 2
        else:
            continue
        best = score if best is None else min(best, score)
    if best is not None:
        return best
    name = item.name(lang)
    compact = q.replace(" ", "")
    if all(c in CHOSEONG for c in compact) and compact:
        at = choseong(name).find("".join(_PLAIN.get(c, c) for c in compact))
        if at >= 0:
            return 3 if at == 0 else 4
    if compact.isascii() and compact.isalpha() and any(is_hanzi(c) for c in name):
        at = _initials_match(compact, _hanzi_letters(name))
        if at is not None:
            return 3 if at == 0 else 4
    return None


def prepare(items: Iterable[Item]) -> None:
    """Look up every Chinese character's readings now (the first lookup loads pypinyin's
    table from disk): the UI calls this off its frame loop, so a key press never waits."""
    for item in items:
        for name in item.names.values():
            _hanzi_letters(name)


def search(query: str, items: Iterable[Item], lang: str) -> list[Item]:
    """The items matching ``query`` in ``lang``, best first, the catalog's order kept
    among equals (an empty query: every item)."""
    ranked = [(score, i, item) for i, item in enumerate(items)
              if (score := rank(query, item, lang)) is not None]
    return [item for _s, _i, item in sorted(ranked, key=lambda r: (r[0], r[1]))]

