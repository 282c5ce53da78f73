"""Every character a shopper can be shown exists in the font that draws it (no tofu).

Kivy's SDL2 text provider draws a label with one font file and no per-glyph
fallback. The UI chooses a face per language by measured coverage
(kiosk.ui.fonts); this test checks, with fontTools as an independent reader of
the character map, every shopper-facing string of every language: catalog
translations and prompts, language names, product and promotion names, staff
and store names, prices in USD, KRW and CNY and dates as Babel formats them
for that locale.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from functools import lru_cache

import pytest
from babel.dates import format_datetime

from kiosk.config import DEFAULTS_FILE, load_config
from kiosk.domain.languages import language_of
from kiosk.domain.money import format_money
from kiosk.ui import fonts
from kiosk.ui.fontcheck import SYMBOLS, font_texts, sample_currencies
from kiosk.ui.i18n import Translator, catalog_text, endonym
from tests.harness import SAMPLE_CSV

pytestmark = pytest.mark.ui
LOCALES = ("en", "zh_Hans", "ko")


@lru_cache(maxsize=8)
def fonttools_cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.endswith(".ttc"):
        font = TTCollection(path, lazy=True).fonts[index]
    else:
        font = TTFont(path, lazy=True)
    return frozenset(font.getBestCmap())


def shopper_strings(locale: str) -> list[str]:
    """Every string of this language a shopper can see, as the UI would produce it."""
    lang = language_of(locale)
    config = load_config(environ={})
    t = Translator(locale)
    out = [catalog_text(locale), config.store.name, SYMBOLS]
    out += [m.name for m in config.staff.members]
    with SAMPLE_CSV.open(encoding="utf-8") as fh:
        out += [row[f"name_{lang}"] or row["name_en"] for row in csv.DictReader(fh)]
    out += [p.name.get(lang, p.name["en"]) for p in config.promotions]
    for cur in sample_currencies(config.currency.code):
        for minor in (0, 5, 99, 1234, 123456, 99999999, -99, -123456):
            out.append(format_money(minor, cur, locale))
    for when in (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                 datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)):
        for style in ("short", "medium", "long"):
            out.append(format_datetime(when, style, locale=locale))
    out += [t.kg(g) for g in (1, 850, 12345)]
    out += [t.ntr("{n} item", "{n} items", n) for n in (1, 2, 99)]
    out += [str(n) for n in range(100)]
    return out


def chosen(lang: str) -> fonts.Face:
    config = load_config(environ={})
    texts = font_texts(config.store.locales, config.currency.code)
    return fonts.choose(lang, texts[lang])


@pytest.mark.parametrize("locale", LOCALES)
def test_every_shopper_string_is_in_the_chosen_font(locale):
    face = chosen(language_of(locale))
    cmap = fonttools_cmap(str(face.regular), face.index)
    bold = fonttools_cmap(str(face.bold), face.index) if face.bold else cmap
    text = "".join(shopper_strings(locale))
    for name, chars in (("regular", cmap), ("bold", bold)):
        missing = sorted({c for c in text if not c.isspace() and ord(c) not in chars})
        assert not missing, (f"{face.family} ({name}) lacks "
                             + " ".join(f"{c} U+{ord(c):04X}" for c in missing))


def test_language_switch_names_are_in_their_face():
    face = chosen("langs")
    cmap = fonttools_cmap(str(face.regular), face.index)
    names = "".join(endonym(loc) for loc in LOCALES)
    assert all(ord(c) in cmap for c in names if not c.isspace())


def test_regional_faces_are_chosen():
    """Chinese in the SC face, Korean in the KR face (fonts-noto-cjk is a dependency)."""
    assert chosen("zh").family == "Noto Sans CJK SC"
    assert chosen("ko").family == "Noto Sans CJK KR"


def test_won_sign_decides_against_wenquanyi():
    """The measured reason for Noto: WenQuanYi Micro Hei has no ₩ (U+20A9)."""
    if not fonts.WQY_MICROHEI.available:
        pytest.skip("fonts-wqy-microhei not installed here")
    assert fonts.missing(fonts.WQY_MICROHEI, "₩3,500") == ["₩"]
    assert fonts.missing(fonts.NOTO_KR, "₩3,500") == []


def test_own_cmap_reader_agrees_with_fonttools():
    for face in (fonts.NOTO_SC, fonts.NOTO_KR):
        assert fonts.charmap(face.regular, face.index) == fonttools_cmap(str(face.regular),
                                                                         face.index)


def test_extracted_face_is_a_valid_font(tmp_path):
    from fontTools.ttLib import TTFont

    out = fonts.extract_face(fonts.NOTO_KR.regular, fonts.NOTO_KR.index, tmp_path / "kr.otf")
    font = TTFont(out)
    assert font["name"].getDebugName(4) == "Noto Sans CJK KR"
    assert frozenset(font.getBestCmap()) == fonttools_cmap(str(fonts.NOTO_KR.regular), 1)
    assert DEFAULTS_FILE.exists()
