"""Grammar builder: the model's vocabulary, checked grammar words, the Vosk grammar JSON.

Vosk silently drops grammar words that the model does not know, so every word is checked
against the model's vocabulary first. The vocabulary is ``graph/words.txt`` (or
``words.txt``) when the model ships one; otherwise it is the input symbol table stored in
``graph/Gr.fst`` (OpenFST binary: header, then the symbol table as magic, name,
available key, size and ``size`` × (string, int64 key), little-endian).

A word that is not in the vocabulary is re-split into the fewest in-vocabulary pieces
(결제할게요 → 결제 할게요); a word that cannot be split makes :func:`check_words` raise
:class:`OutOfVocabulary` naming it, so the recognizer refuses to start rather than
losing the word.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

FST_MAGIC = 2125659606
SYMTAB_MAGIC = 2125658996
#: symbols that are not words (never put in a grammar)
NON_WORDS = {"<eps>", "!SIL", "<s>", "</s>", "#0"}


class OutOfVocabulary(ValueError):
    """Grammar words the model does not know and that cannot be split into known pieces."""

    def __init__(self, words: list[str], model: str) -> None:
        self.words = words
        listed = ", ".join(repr(w) for w in words)
        super().__init__(f"grammar word(s) not in the vocabulary of {model}: {listed}"
                         " (no split into known words either)")


def _read_fst_symbols(path: Path) -> list[str]:
    with path.open("rb") as fh:
        head = fh.read(4096)
        pos = 0

        def i32() -> int:
            nonlocal pos
            (v,) = struct.unpack_from("<i", head, pos)
            pos += 4
            return v

        def string() -> str:
            nonlocal pos
            n = i32()
            v = head[pos:pos + n].decode("utf-8")
            pos += n
            return v

        if i32() != FST_MAGIC:
            raise ValueError(f"{path}: not an OpenFST binary file")
        string()  # fst type (ngram, const, vector)
        string()  # arc type
        i32()  # version
        flags = i32()
        pos += 8 + 8 + 8 + 8  # properties, start, numstates, numarcs
        if not flags & 1:
            raise ValueError(f"{path}: the FST carries no symbol table")
        if i32() != SYMTAB_MAGIC:
            raise ValueError(f"{path}: bad symbol table magic")
        string()  # table name
        pos += 8  # available key
        (size,) = struct.unpack_from("<q", head, pos)
        pos += 8
        fh.seek(pos)
        data = fh.read(size * 32)  # words are short; read more below if they are not
        words: list[str] = []
        off = 0
        unpack_i = struct.Struct("<i").unpack_from
        for _ in range(size):
            if off + 4 > len(data):
                data = data[off:] + fh.read(1 << 20)
                off = 0
            (n,) = unpack_i(data, off)
            while off + 4 + n + 8 > len(data):
                more = fh.read(1 << 20)
                if not more:
                    raise ValueError(f"{path}: symbol table is truncated")
                data = data[off:] + more
                off = 0
            words.append(data[off + 4:off + 4 + n].decode("utf-8"))
            off += 4 + n + 8
    return words


@lru_cache(maxsize=4)
def _vocabulary(model_dir: str) -> frozenset[str]:
    root = Path(model_dir)
    for candidate in (root / "graph" / "words.txt", root / "words.txt"):
        if candidate.is_file():
            with candidate.open(encoding="utf-8") as fh:
                return frozenset(line.split()[0] for line in fh if line.strip())
    fst = root / "graph" / "Gr.fst"
    if fst.is_file():
        return frozenset(_read_fst_symbols(fst))
    raise FileNotFoundError(f"{root}: no graph/words.txt, words.txt or graph/Gr.fst: "
                            "cannot read the model's vocabulary")


def vocabulary(model_dir: Path | str) -> frozenset[str]:
    """Every word the model can output (cached per directory)."""
    return _vocabulary(str(Path(model_dir).resolve()))


def _split_rank(pieces: list[str]) -> tuple:
    return (len(pieces), -min(len(p) for p in pieces), [-len(p) for p in pieces])


def split_word(word: str, vocab: frozenset[str] | set[str]) -> list[str] | None:
    """``word`` as the fewest in-vocabulary pieces (see _split_rank for ties), or None."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(end):
            prev = best[start]
            piece = word[start:end]
            if prev is None or piece not in vocab:
                continue
            cand = [*prev, piece]
            cur = best[end]
            # fewest pieces; on a tie no tiny piece (필요 없어요, not 필요없어 요), then
            # the longer leading pieces (취소 해, not 취 소해)
            if cur is None or _split_rank(cand) < _split_rank(cur):
                best[end] = cand
    return best[n]


def check_words(words: Iterable[str], vocab: frozenset[str] | set[str], model: str = "the model",
                ) -> dict[str, list[str]]:
    """Map every grammar word to its in-vocabulary form (itself, or its pieces).

    Raises :class:`OutOfVocabulary` naming every word that is neither known nor splittable.
    """
    out: dict[str, list[str]] = {}
    missing: list[str] = []
    for word in words:
        if word in out:
            continue
        if word in vocab and word not in NON_WORDS:
            out[word] = [word]
            continue
        pieces = split_word(word, vocab)
        if pieces is None or any(p in NON_WORDS for p in pieces):
            missing.append(word)
        else:
            out[word] = pieces
    if missing:
        raise OutOfVocabulary(missing, model)
    return out


def tokens(phrase: str) -> list[str]:
    """Words of a phrase (whitespace separated, lower-cased for Latin scripts)."""
    return phrase.lower().split()


def build_grammar(phrases: Iterable[str], vocab: frozenset[str] | set[str], unk: str,
                  model: str = "the model", weights: Mapping[str, int] | None = None,
                  ) -> tuple[list[str], dict[str, list[str]]]:
    """Vosk grammar phrases (in-vocabulary words only) plus the unknown token.

    Returns (grammar phrases, word → pieces map). The unknown token lets out-of-grammar
    speech decode as itself instead of being forced onto a command word. ``weights``
    lists a phrase that many times: Vosk estimates its bigram from the phrase list by
    counting, so a repeated phrase weighs more against the others.
    """
    phrases = list(phrases)
    mapping = check_words([w for p in phrases for w in tokens(p)], vocab, model)
    grammar: list[str] = []
    for p in phrases:
        fixed = " ".join(piece for w in tokens(p) for piece in mapping[w])
        if fixed not in grammar:
            grammar.append(fixed)
            grammar.extend([fixed] * (max(1, (weights or {}).get(p, 1)) - 1))
    if unk in vocab and unk not in grammar:
        grammar.append(unk)
    return grammar, mapping


def grammar_json(grammar: list[str]) -> str:
    return json.dumps(grammar, ensure_ascii=False)
