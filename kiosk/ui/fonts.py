"""Fonts for the shopper UI: candidates, measured coverage, and one face per locale.

Kivy's SDL2 text provider renders a label with exactly one font file and has no
per-glyph fallback, so every string a label can show must be in that font's
character map. This module reads character maps straight from the font files
(a small sfnt ``cmap`` reader, no extra dependency), measures each candidate
against the text a locale needs, and picks the first candidate that covers all
of it.

Noto Sans CJK (Debian ``fonts-noto-cjk``) covers Latin, Chinese, Korean and the
won sign; it ships as a TrueType collection whose faces share one glyph set but
map shared Han code points to regional forms (SC, KR, ...). SDL2_ttf opens only
the first face of a collection (JP), so the regional face a locale wants is
copied out of the collection into a standalone OpenType file, once, in a cache
folder. ``fonts-wqy-microhei`` covers the three scripts too but lacks U+20A9 ₩.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")


@dataclass(frozen=True)
class Face:
    """One face of a font file (``index`` > 0 only inside a .ttc collection)."""

    family: str
    regular: Path
    index: int = 0
    bold: Path | None = None

    @property
    def available(self) -> bool:
        return self.regular.exists()


def _noto(region: str, index: int) -> Face:
    return Face(f"Noto Sans CJK {region}", NOTO_DIR / "NotoSansCJK-Regular.ttc", index,
                NOTO_DIR / "NotoSansCJK-Bold.ttc")


NOTO_SC, NOTO_KR, NOTO_JP, NOTO_TC = _noto("SC", 2), _noto("KR", 1), _noto("JP", 0), _noto("TC", 3)
WQY_MICROHEI = Face("WenQuanYi Micro Hei", Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
DEJAVU = Face("DejaVu Sans", Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), 0,
              Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))

#: candidates in order of preference for each language (regional glyph forms first)
PREFERENCES: dict[str, tuple[Face, ...]] = {
    "zh": (NOTO_SC, NOTO_TC, NOTO_JP, NOTO_KR, WQY_MICROHEI),
    "ko": (NOTO_KR, NOTO_SC, NOTO_JP, NOTO_TC, WQY_MICROHEI),
    "en": (NOTO_SC, NOTO_KR, NOTO_JP, WQY_MICROHEI, DEJAVU),
}
ALL_CANDIDATES = (NOTO_SC, NOTO_KR, NOTO_JP, NOTO_TC, WQY_MICROHEI, DEJAVU)


class FontError(RuntimeError):
    """No candidate font covers the text a locale needs."""


# -- reading character maps ---------------------------------------------------------------

def _face_offset(data: bytes, index: int) -> int:
    if data[:4] == b"ttcf":
        count = struct.unpack_from(">I", data, 8)[0]
        if not 0 <= index < count:
            raise FontError(f"collection has {count} faces, not {index + 1}")
        return struct.unpack_from(">I", data, 12 + 4 * index)[0]
    if index:
        raise FontError("not a font collection")
    return 0


def _tables(data: bytes, offset: int) -> dict[bytes, tuple[int, int, int]]:
    count = struct.unpack_from(">H", data, offset + 4)[0]
    tables = {}
    for i in range(count):
        tag, checksum, start, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
        tables[tag] = (checksum, start, length)
    return tables


def _read_cmap(data: bytes, start: int) -> set[int]:
    count = struct.unpack_from(">H", data, start + 2)[0]
    subtables = {}
    for i in range(count):
        platform, encoding, off = struct.unpack_from(">HHI", data, start + 4 + 8 * i)
        subtables[(platform, encoding)] = start + off
    # a full-repertoire table (format 12) first, then the BMP table (format 4)
    for key in ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3)):
        if key not in subtables:
            continue
        sub = subtables[key]
        fmt = struct.unpack_from(">H", data, sub)[0]
        if fmt == 12:
            groups = struct.unpack_from(">I", data, sub + 12)[0]
            chars: set[int] = set()
            for g in range(groups):
                first, last, glyph = struct.unpack_from(">III", data, sub + 16 + 12 * g)
                if glyph or first != last:
                    chars.update(range(first, last + 1))
            return chars
        if fmt == 4:
            segs = struct.unpack_from(">H", data, sub + 6)[0] // 2
            ends = struct.unpack_from(f">{segs}H", data, sub + 14)
            starts = struct.unpack_from(f">{segs}H", data, sub + 16 + 2 * segs)
            chars = set()
            for first, last in zip(starts, ends, strict=True):
                if first != 0xFFFF:
                    chars.update(range(first, last + 1))
            return chars
    raise FontError("no Unicode cmap subtable")


@lru_cache(maxsize=16)
def charmap(path: Path, index: int = 0) -> frozenset[int]:
    """Code points that ``path`` (face ``index``) maps to a glyph."""
    data = Path(path).read_bytes()
    offset = _face_offset(data, index)
    tables = _tables(data, offset)
    if b"cmap" not in tables:
        raise FontError(f"{path}: no cmap table")
    return frozenset(_read_cmap(data, tables[b"cmap"][1]))


def missing(face: Face, text: str) -> list[str]:
    """Characters of ``text`` (other than whitespace) that ``face`` has no glyph for."""
    cmap = charmap(face.regular, face.index)
    return sorted({c for c in text if not c.isspace() and ord(c) not in cmap})


def coverage_report(texts: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(family, language, missing characters) for every installed candidate."""
    rows = []
    for face in ALL_CANDIDATES:
        if face.available:
            for lang, text in texts.items():
                rows.append((face.family, lang, missing(face, text)))
    return rows


def choose(lang: str, text: str) -> Face:
    """The first installed candidate for ``lang`` that covers every character of ``text``."""
    seen = []
    for face in PREFERENCES.get(lang, PREFERENCES["en"]):
        if not face.available:
            continue
        gaps = missing(face, text)
        if not gaps:
            return face
        seen.append(f"{face.family} lacks {''.join(gaps[:12])}")
    raise FontError(f"no installed font covers the {lang} UI text"
                    f" ({'; '.join(seen) or 'no candidate installed'});"
                    " install fonts-noto-cjk")


# -- standalone files for SDL2_ttf ----------------------------------------------------------

def extract_face(src: Path, index: int, dst: Path) -> Path:
    """Copy face ``index`` of a font collection into a standalone font file at ``dst``.

    The tables are copied byte for byte (their checksums stay valid); only the
    table directory is rewritten with the new offsets.
    """
    data = src.read_bytes()
    offset = _face_offset(data, index)
    sfnt_version, count = struct.unpack_from(">IH", data, offset)
    records = [struct.unpack_from(">4sIII", data, offset + 12 + 16 * i) for i in range(count)]
    out = bytearray(data[offset:offset + 12])
    body = bytearray()
    pos = 12 + 16 * count
    placed = []
    for tag, checksum, start, length in sorted(records, key=lambda r: r[2]):
        pad = -pos % 4
        body += b"\0" * pad
        pos += pad
        placed.append((tag, checksum, pos, length))
        body += data[start:start + length]
        pos += length
    for tag, checksum, start, length in sorted(placed):
        out += struct.pack(">4sIII", tag, checksum, start, length)
    out += body
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    tmp.write_bytes(out)
    os.replace(tmp, dst)
    return dst


def _standalone(path: Path, index: int, cache: Path) -> Path:
    if path.suffix.lower() != ".ttc" or index == 0:
        return path  # SDL2_ttf opens the first face of a collection by itself
    stat = path.stat()
    dst = cache / f"{path.stem}-{index}-{stat.st_size}-{int(stat.st_mtime)}.otf"
    if not dst.exists():
        log.info("extracting face %d of %s into %s", index, path, dst)
        extract_face(path, index, dst)
    return dst


@dataclass(frozen=True)
class Resolved:
    """A face chosen for a language, as standalone files Kivy can open."""

    lang: str
    family: str
    regular: str
    bold: str
    source: str   # the original file and face index, for reports
    index: int


def _cache_key(inputs: list[str]) -> str:
    h = hashlib.sha256()
    for face in ALL_CANDIDATES:
        if face.available:
            st = face.regular.stat()
            h.update(f"{face.regular}:{face.index}:{st.st_size}:{st.st_mtime}".encode())
    for item in inputs:
        h.update(item.encode() + b"\0")
    return h.hexdigest()[:24]


def resolve(texts: Callable[[], dict[str, str]], inputs: list[str],
            cache: Path) -> dict[str, Resolved]:
    """Choose a face per language by measured coverage and make standalone files of them.

    ``texts()`` gives, per language, every character the UI can show; ``inputs``
    name what that text is made from (catalog files with their sizes and times,
    locales, currency). The choice is remembered in ``cache/choice.json`` under
    a key of the installed candidates and the inputs, so a normal start neither
    builds the text nor reads a character map.
    """
    key = _cache_key(inputs)
    memo = cache / "choice.json"
    try:
        saved = json.loads(memo.read_text())
        if saved.get("key") == key:
            chosen = {lang: Resolved(**row) for lang, row in saved["faces"].items()}
            if all(Path(r.regular).exists() and Path(r.bold).exists() for r in chosen.values()):
                return chosen
    except (OSError, ValueError, TypeError, KeyError):
        pass
    chosen = {}
    for lang, text in texts().items():
        face = choose(lang, text)
        regular = _standalone(face.regular, face.index, cache)
        bold = regular
        if face.bold is not None and face.bold.exists():
            bold = _standalone(face.bold, face.index, cache)
        chosen[lang] = Resolved(lang, face.family, str(regular), str(bold),
                                f"{face.regular}#{face.index}", face.index)
    cache.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"key": key, "faces": {k: v.__dict__ for k, v in chosen.items()}},
                               ensure_ascii=False, indent=1))
    return chosen
