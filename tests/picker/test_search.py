"""Search of the loose items by name, pinyin initials, choseong and PLU (kiosk.domain.search),
on the shipped sample catalog's loose items."""

from __future__ import annotations

import csv

import pytest

from kiosk.catalog import SAMPLE_CATALOG
from kiosk.domain.search import Item, choseong, hanzi_initials, rank, search


@pytest.fixture(scope="module")
def loose() -> list[Item]:
    with open(SAMPLE_CATALOG, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["plu"] and r["sold_by_weight"] == "1"]
    return [Item(f"PLU{r['plu']}", r["plu"], {"en": r["name_en"], "zh_Hans": r["name_zh"],
                                               "ko": r["name_ko"]}) for r in rows]


def names(items: list[Item], lang: str) -> list[str]:
    return [i.name(lang) for i in items]


def test_choseong_of_hangul_and_doubled_consonants():
    assert choseong("바나나") == "ㅂㄴㄴ"
    assert choseong("부사 사과") == "ㅂㅅㅅㄱ"
    assert choseong("씨없는 청포도") == "ㅅㅇㄴㅊㅍㄷ"   # ㅆ is typed as ㅅ
    assert choseong("BBQ 삼겹살") == "ㅅㄱㅅ"


def test_pinyin_initials_of_one_character_cover_every_reading():
    assert hanzi_initials("香") == {"x"}
    assert {"c", "z"} <= hanzi_initials("长")   # cháng / zhǎng
    assert hanzi_initials("a") == frozenset()


@pytest.mark.parametrize(("query", "lang", "first"), [
    ("xj", "zh_Hans", "香蕉"),            # xiāng jiāo
    ("XJ", "zh_Hans", "香蕉"),
    ("fs", "zh_Hans", "富士苹果"),        # fù shì
    ("pg", "zh_Hans", "富士苹果"),        # píng guǒ, inside the name
    ("wh", "zh_Hans", "五花肉"),
    ("香", "zh_Hans", "香蕉"),
    ("ㅂㄴㄴ", "ko", "바나나"),
    ("ㅅㄱ", "ko", "생강"),             # 생강 starts so: before 부사 사과
    ("ㅂㅅ", "ko", "부사 사과"),
    ("ㄷㄷㄹ", "ko", "닭다리살"),
    ("바나", "ko", "바나나"),
    ("ban", "en", "Bananas"),
    ("apple", "en", "Fuji Apples"),        # a word of the name
    ("ban", "ko", "바나나"),               # the English name works in every language
])
def test_search_finds_the_item(loose, query, lang, first):
    assert names(search(query, loose, lang), lang)[0] == first


def test_search_by_plu_digits(loose):
    assert names(search("4011", loose, "en"), "en") == ["Bananas"]
    assert names(search("04011", loose, "en"), "en") == ["Bananas"]
    assert "Bananas" not in names(search("41", loose, "en"), "en")


def test_no_match_and_empty_query(loose):
    assert search("zzzz", loose, "en") == []
    assert search("ㅋㅋㅋ", loose, "ko") == []
    assert search("qq", loose, "zh_Hans") == []
    assert search("", loose, "ko") == loose         # every item, in the catalog's order


def test_name_starts_rank_before_inside(loose):
    assert rank("to", loose[2], "en") == 0  # Tomatoes
    order = names(search("on", loose, "en"), "en")
    assert order.index("Yellow Onions") < order.index("Lemons")  # a word start before inside



def test_prepare_reads_every_reading_ahead(loose):
    from kiosk.domain.search import hanzi_initials, prepare

    hanzi_initials.cache_clear()
    prepare(loose)
    before = hanzi_initials.cache_info()
    assert before.currsize > 0
    search("xj", loose, "zh_Hans")           # a key press: every character already looked up
    assert hanzi_initials.cache_info().misses == before.misses


def test_initials_at_the_start_rank_first():
    milk = Item("B", "00001", {"zh": "鲜鸡蛋 10枚", "ko": "바나나우유"})
    banana = Item("P", "04011", {"zh": "香蕉", "ko": "바나나"})
    eggs = Item("E", "00002", {"zh": "新鲜鸡蛋", "ko": "계란 바나나"})
    assert [i.key for i in search("xj", [eggs, milk, banana], "zh")] == ["B", "P", "E"]
    assert [i.key for i in search("ㅂㄴㄴ", [eggs, milk, banana], "ko")] == ["B", "P", "E"]
