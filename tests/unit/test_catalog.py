"""SQLite catalog: CSV import with row-level errors, atomicity, and lookups."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.catalog import SAMPLE_CATALOG, Catalog, CatalogError, Product
from kiosk.domain.gtin import validate_gtin
from kiosk.domain.money import Currency
from tests.fixtures.sample_items import MILK

SAMPLE_CSV = SAMPLE_CATALOG
USD = Currency("USD", 840, 2)
TAX_CLASSES = ("standard", "reduced", "zero")
HEADER = "gtin,name_en,name_zh,name_ko,price,tax_class,age_restricted,sold_by_weight,plu"



def _sample_rows() -> int:
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog(tmp_path / "catalog.sqlite")
    yield cat
    cat.close()


@pytest.fixture
def loaded(empty: Catalog) -> Catalog:
    report = empty.import_csv(SAMPLE_CSV, USD, TAX_CLASSES)
    assert report.errors == []
    return empty


def _snapshot(cat: Catalog) -> list[tuple]:
    return cat.db.execute("SELECT * FROM products ORDER BY gtin, plu").fetchall()


# -- the sample catalog -------------------------------------------------------------


def test_sample_csv_imports_every_row_without_errors(empty: Catalog) -> None:
    report = empty.import_csv(SAMPLE_CSV, USD, TAX_CLASSES)
    assert report.errors == []
    assert report.lines() == []
    assert report.loaded == _sample_rows() == 206
    assert empty.count() == 206


def test_sample_imports_with_the_configured_tax_rates(config, catalog: Catalog) -> None:
    # the shared fixture imports with config.tax.rates (a dict of class → rate)
    assert catalog.count() == 206
    assert catalog.by_gtin(validate_gtin(MILK)).tax_class in config.tax.rates


def test_lookup_upc_a_via_its_14_digit_form(loaded: Catalog) -> None:
    product = loaded.by_gtin(validate_gtin("070666928444"))
    assert product == Product(
        gtin="00070666928444",
        plu=None,
        names={
            "en": "Cup Noodles Chicken 64g",
            "zh": "合味道鸡肉杯面 64g",
            "ko": "컵누들 치킨 64g",
        },
        price_minor=99,
        tax_class="reduced",
        age_restricted=False,
        sold_by_weight=False,
    )
    assert product.key == "00070666928444"
    # stored normalised: the raw 12-digit text is not a key
    assert loaded.by_gtin("070666928444") is None
    # the same item read as EAN-13 with a leading zero
    assert loaded.by_gtin(validate_gtin("0070666928444")) == product


@pytest.mark.parametrize(
    ("code", "name_en", "price"),
    [
        ("4006381333931", None, None),  # valid GTIN, not in the sample
        ("88087825", "Lotte Xylitol Gum 26g", 129),  # EAN-8
        ("18808246800694", "Samdasoo Water 20x500ml", 999),  # GTIN-14
        ("9771234567003", "Daily Newspaper", 200),
    ],
)
def test_lookup_by_gtin_of_every_length(
    loaded: Catalog, code: str, name_en: str | None, price: int | None
) -> None:
    product = loaded.by_gtin(validate_gtin(code))
    if name_en is None:
        assert product is None
    else:
        assert product is not None
        assert product.name("en") == name_en
        assert product.price_minor == price


def test_names_in_three_languages(loaded: Catalog) -> None:
    milk = loaded.by_gtin(validate_gtin(MILK))
    assert milk.name("en") == "Whole Milk 1L"
    assert milk.name("zh") == "全脂牛奶 1L"
    assert milk.name("ko") == "우유 1L"
    assert milk.name("fr") == "Whole Milk 1L"  # falls back to English


def test_age_restricted_item(loaded: Catalog) -> None:
    beer = loaded.by_gtin(validate_gtin("6901035052276"))
    assert beer.name("zh") == "青岛啤酒 500ml"
    assert beer.age_restricted is True
    assert beer.tax_class == "standard"
    assert beer.price_minor == 229


@pytest.mark.parametrize("plu", ["4011", "04011"])
def test_lookup_by_plu(loaded: Catalog, plu: str) -> None:
    bananas = loaded.by_plu(plu)
    assert bananas is not None
    assert bananas.gtin is None
    assert bananas.plu == "04011"
    assert bananas.names == {"en": "Bananas", "zh": "香蕉", "ko": "바나나"}
    assert bananas.sold_by_weight is True
    assert bananas.price_minor == 199  # per kg
    assert bananas.key == "PLU04011"


def test_lookup_five_digit_plu_and_unknown(loaded: Catalog) -> None:
    assert loaded.by_plu("10006").name("ko") == "연어 필레"
    assert loaded.by_plu("9999") is None


def test_catalog_persists_in_the_sqlite_file(loaded: Catalog) -> None:
    other = Catalog(loaded.path)
    try:
        assert other.count() == 206
        assert other.by_plu("4011").name("en") == "Bananas"
    finally:
        other.close()


# -- row-level errors ------------------------------------------------------------------


BAD_ROWS = [
    HEADER,  # 1
    f"{MILK},Whole Milk 1L,全脂牛奶 1L,우유 1L,1.89,reduced,0,0,",  # 2 good
    "8801115954256,Bad Check,,,1.00,reduced,0,0,",  # 3 wrong check digit
    "4006381333931,Three Decimals,,,1.999,reduced,0,0,",  # 4 price with 3 decimals
    "036000291452,Luxury Tax,,,1.00,luxury,0,0,",  # 5 unknown tax class
    "96385074,Maybe Beer,,,2.00,standard,maybe,0,",  # 6 bad flag
    "8801094804527,,,,2.49,reduced,0,0,",  # 7 no name in any language
    "8801094243708,Too Short,1.29,reduced,0,0,",  # 8 wrong number of fields
    ",Bananas,香蕉,바나나,1.99,reduced,0,1,4011",  # 9 good PLU item
    f"0{MILK},Duplicate Milk,,,9.99,reduced,0,0,",  # 10 duplicate (same GTIN, padded)
    "8801114070130,Firm Tofu 300g,,,1.79,reduced,0,0,",  # 11 good
]

EXPECTED_ERRORS = {
    3: "wrong check digit (expected 5)",
    4: "more than 2 decimal place(s)",
    5: "unknown tax_class 'luxury'",
    6: "age_restricted must be 0 or 1, got 'maybe'",
    7: "has no name",
    8: "wrong number of fields",
    10: "duplicate of line 2",
}


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_load(
    empty: Catalog, tmp_path: Path
) -> None:
    report = empty.import_csv(_write(tmp_path / "bad.csv", *BAD_ROWS), USD, TAX_CLASSES)
    assert [e.line for e in report.errors] == sorted(EXPECTED_ERRORS)
    for line, _column, message in report.errors:
        assert EXPECTED_ERRORS[line] in message, (line, message)
    assert report.lines()[0].startswith("line 3: column gtin: ")
    assert report.loaded == 3
    assert empty.count() == 3
    # the duplicate did not overwrite the first occurrence
    milk = empty.by_gtin(validate_gtin(MILK))
    assert (milk.name("en"), milk.price_minor) == ("Whole Milk 1L", 189)
    assert empty.by_plu("4011").name("ko") == "바나나"
    assert empty.by_gtin(validate_gtin("8801114070130")).price_minor == 179
    for absent in ("8801094804527", "8801094243708", "4006381333931", "036000291452"):
        assert empty.by_gtin(validate_gtin(absent)) is None


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("4006381333931,Too Many,,,1.00,reduced,0,0,,extra", "wrong number of fields"),
        (",No Ids,,,1.00,reduced,0,0,", "needs a gtin or a plu"),
        (",Bad PLU,,,1.00,reduced,0,1,12", "plu must be 4 or 5 digits"),
        (",Bad PLU,,,1.00,reduced,0,1,4O11", "plu must be 4 or 5 digits"),
        ("4006381333931,Negative,,,-1.00,reduced,0,0,", "negative"),
        ("4006381333931,No Price,,,,reduced,0,0,", "not a plain amount"),
        ("4006381333931,Weighed?,,,1.00,reduced,0,2,", "sold_by_weight must be 0 or 1"),
        ("40063813339X1,Letters,,,1.00,reduced,0,0,", "not all digits"),
        ("400638133393,Short,,,1.00,reduced,0,0,", "wrong check digit"),
    ],
)
def test_other_bad_rows(empty: Catalog, row: str, fragment: str) -> None:
    text = "\n".join([HEADER, row, ",Lemons,,,4.39,reduced,0,1,4053"]) + "\n"
    report = empty.import_rows(csv.DictReader(io.StringIO(text)), USD, TAX_CLASSES)
    assert len(report.errors) == 1
    line, _column, message = report.errors[0]
    assert line == 2
    assert fragment in message
    assert report.loaded == 1
    assert empty.count() == 1


def test_flags_accept_true_false_words(empty: Catalog) -> None:
    text = "\n".join(
        [
            HEADER,
            "4006381333931,Yes Beer,,,1.00,standard,yes,no,",
            "96385074,True Beer,,,1.00,standard,TRUE,false,",
        ]
    )
    report = empty.import_rows(csv.DictReader(io.StringIO(text)), USD, TAX_CLASSES)
    assert report.errors == []
    assert empty.by_gtin("04006381333931").age_restricted is True
    assert empty.by_gtin("00000096385074").age_restricted is True


def test_line_numbers_count_physical_lines_after_a_multiline_field(
    empty: Catalog, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "multiline.csv",
        HEADER,  # 1
        '4006381333931,"Two\nLines",,,1.00,reduced,0,0,',  # 2-3
        "96385075,Bad Check,,,1.00,reduced,0,0,",  # 4
    )
    report = empty.import_csv(path, USD, TAX_CLASSES)
    assert report.loaded == 1
    assert [e.line for e in report.errors] == [4]
    # a line break typed into a spreadsheet cell is one space on the label
    assert empty.by_gtin("04006381333931").name("en") == "Two Lines"


def test_price_in_krw(empty: Catalog) -> None:
    krw = Currency("KRW", 410, 0)
    text = "\n".join(
        [HEADER, "4006381333931,Ramyun,,,3500,reduced,0,0,", "96385074,Half,,,3500.5,reduced,0,0,"]
    )
    report = empty.import_rows(csv.DictReader(io.StringIO(text)), krw, TAX_CLASSES)
    assert [e.line for e in report.errors] == [3]
    assert empty.by_gtin("04006381333931").price_minor == 3500


@pytest.mark.parametrize("price", ["99999999999999999999", "1e999999"])
def test_absurd_price_is_a_row_error(empty: Catalog, price: str) -> None:
    text = "\n".join(
        [HEADER, f"4006381333931,Gold,,,{price},reduced,0,0,", ",Lemons,,,4.39,reduced,0,1,4053"]
    )
    report = empty.import_rows(csv.DictReader(io.StringIO(text)), USD, TAX_CLASSES)
    assert [e.line for e in report.errors] == [2]
    assert empty.count() == 1


# -- whole-file errors ----------------------------------------------------------------


@pytest.mark.parametrize("column", ["gtin", "price", "tax_class", "plu"])
def test_missing_required_column(loaded: Catalog, tmp_path: Path, column: str) -> None:
    before = _snapshot(loaded)
    names = HEADER.split(",")
    keep = [i for i, n in enumerate(names) if n != column]
    row = f"{MILK},Milk,,,2.05,reduced,0,0,".split(",")
    path = _write(
        tmp_path / "missing.csv", ",".join(names[i] for i in keep), ",".join(row[i] for i in keep)
    )
    with pytest.raises(CatalogError) as info:
        loaded.import_csv(path, USD, TAX_CLASSES)
    assert "missing column(s)" in str(info.value)
    assert column in str(info.value)
    assert _snapshot(loaded) == before


def test_missing_name_columns(empty: Catalog, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "noname.csv",
        "gtin,price,tax_class,age_restricted,sold_by_weight,plu",
        "4006381333931,1.00,reduced,0,0,",
    )
    with pytest.raises(CatalogError, match="name_<lang>"):
        empty.import_csv(path, USD, TAX_CLASSES)
    assert empty.count() == 0


def test_empty_file_is_a_catalog_error(empty: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CatalogError, match="missing column"):
        empty.import_csv(path, USD, TAX_CLASSES)


def test_non_utf8_file(loaded: Catalog, tmp_path: Path) -> None:
    before = _snapshot(loaded)
    path = tmp_path / "latin1.csv"
    text = "\n".join([HEADER, f"{MILK},Crème fraîche,,,2.05,reduced,0,0,"]) + "\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(CatalogError) as info:
        loaded.import_csv(path, USD, TAX_CLASSES)
    assert str(path) in str(info.value)
    assert "not UTF-8" in str(info.value)
    assert _snapshot(loaded) == before


def test_unreadable_path(empty: Catalog, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        empty.import_csv(tmp_path / "nope.csv", USD, TAX_CLASSES)


def test_utf8_bom_is_accepted(empty: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    text = "\n".join([HEADER, "4006381333931,Bom,,,1.00,reduced,0,0,"]) + "\n"
    path.write_bytes(text.encode("utf-8-sig"))
    report = empty.import_csv(path, USD, TAX_CLASSES)
    assert report.errors == []
    assert empty.by_gtin("04006381333931").name("en") == "Bom"


# -- re-import and atomicity ----------------------------------------------------------


def test_reimport_replaces_a_products_price(loaded: Catalog, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "update.csv",
        HEADER,
        f"{MILK},Whole Milk 1L,全脂牛奶 1L,우유 1L,2.05,reduced,0,0,",
        ",Bananas,香蕉,바나나,2.29,reduced,0,1,04011",
    )
    report = loaded.import_csv(path, USD, TAX_CLASSES)
    assert report.errors == [] and report.loaded == 2
    assert loaded.count() == 206  # replaced, not added
    assert loaded.by_gtin(validate_gtin(MILK)).price_minor == 205
    assert loaded.by_plu("4011").price_minor == 229
    reopened = Catalog(loaded.path)
    try:
        assert reopened.by_gtin(validate_gtin(MILK)).price_minor == 205
    finally:
        reopened.close()


def test_reimport_of_the_same_file_is_idempotent(loaded: Catalog) -> None:
    before = _snapshot(loaded)
    report = loaded.import_csv(SAMPLE_CSV, USD, TAX_CLASSES)
    assert report.errors == [] and report.loaded == 206
    assert [row[1:] for row in _snapshot(loaded)] == [row[1:] for row in before]


def _crashing_lines(lines: list[str], after: int) -> Iterator[str]:
    for n, line in enumerate(lines):
        if n == after:
            raise RuntimeError("disk pulled mid-import")
        yield line + "\n"


def test_crash_mid_import_leaves_catalog_exactly_as_before(loaded: Catalog) -> None:
    before = _snapshot(loaded)
    milk_before = loaded.by_gtin(validate_gtin(MILK))
    lines = [
        HEADER,
        f"{MILK},Whole Milk 1L,全脂牛奶 1L,우유 1L,2.05,reduced,0,0,",  # price change
        "4006381333931,New Product,,,1.00,reduced,0,0,",  # new product
        ",Bananas,香蕉,바나나,0.01,reduced,0,1,4011",  # another change
        "96385074,Never Reached,,,1.00,reduced,0,0,",
    ]
    reader = csv.DictReader(_crashing_lines(lines, after=4))
    with pytest.raises(RuntimeError, match="disk pulled"):
        loaded.import_rows(reader, USD, TAX_CLASSES)

    assert loaded.count() == 206
    assert loaded.by_gtin(validate_gtin(MILK)) == milk_before
    assert loaded.by_gtin("04006381333931") is None
    assert loaded.by_plu("4011").price_minor == 199
    assert _snapshot(loaded) == before
    # and on disk, seen from a fresh connection
    reopened = Catalog(loaded.path)
    try:
        assert _snapshot(reopened) == before
    finally:
        reopened.close()
    # the connection is still usable afterwards
    report = loaded.import_rows(csv.DictReader(io.StringIO("\n".join(lines[:2]))), USD, TAX_CLASSES)
    assert report.loaded == 1
    assert loaded.by_gtin(validate_gtin(MILK)).price_minor == 205


def test_sample_is_stable_and_limited(loaded: Catalog) -> None:
    first = loaded.sample(5)
    assert len(first) == 5
    assert first == loaded.sample(5)
    assert first[0].name("en") == "Whole Milk 1L"


# -- hostile files: each names file, line and column; a rejected file changes nothing --------


def test_a_field_over_the_csv_limit_rejects_the_file_naming_line_and_column(
    loaded: Catalog, tmp_path: Path
) -> None:
    before = _snapshot(loaded)
    huge = "A" * (csv.field_size_limit() + 10)
    path = _write(
        tmp_path / "huge.csv",
        HEADER,
        f"{MILK},Whole Milk 1L,,,2.05,reduced,0,0,",  # a good row that must not stay
        f'4006381333931,"{huge}",,,1.00,reduced,0,0,',
    )
    with pytest.raises(CatalogError) as info:
        loaded.import_csv(path, USD, TAX_CLASSES)
    message = str(info.value)
    assert message.startswith(f"{path}: line 3, column name_en: ")
    assert "\n" not in message and len(message) < 300
    assert _snapshot(loaded) == before  # the row before it was rolled back


def test_a_long_field_below_the_csv_limit_is_a_row_error_with_its_column(
    empty: Catalog, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "long.csv",
        HEADER,
        f"4006381333931,Pencil,,{'가' * 5000},1.00,reduced,0,0,",
        ",Lemons,,,4.39,reduced,0,1,4053",
    )
    report = empty.import_csv(path, USD, TAX_CLASSES)
    assert [(e.line, e.column) for e in report.errors] == [(2, "name_ko")]
    assert "5000 characters" in report.errors[0].message
    assert empty.count() == 1


def test_a_gbk_file_is_refused_naming_line_column_and_byte(loaded: Catalog, tmp_path: Path
                                                           ) -> None:
    before = _snapshot(loaded)
    first = "4006381333931,Pencil,,,0.99,standard,0,0,"
    second = ",Bananas,香蕉,,1.99,reduced,0,1,4011"  # 香 is CF E3: no UTF-8 sequence
    raw = "\n".join([HEADER, first, second]).encode("gbk") + b"\n"
    path = tmp_path / "gbk.csv"
    path.write_bytes(raw)
    offset = len(HEADER) + 1 + len(first) + 1 + len(",Bananas,")
    assert raw[offset:offset + 2] == b"\xcf\xe3" and raw[:offset].isascii()
    with pytest.raises(CatalogError) as info:
        loaded.import_csv(path, USD, TAX_CLASSES)
    message = str(info.value)
    column = len(",Bananas,") + 1
    assert message.startswith(f"{path}: line 3, column {column} (byte offset {offset}):")
    assert "not UTF-8" in message and "GBK" in message
    assert _snapshot(loaded) == before


def test_a_bad_byte_after_multibyte_text_counts_characters_not_bytes(
    empty: Catalog, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(f"{HEADER}\n4006381333931,Pencil,铅笔".encode() + b"\xff,,0.99,s,0,0,\n")
    with pytest.raises(CatalogError, match=r"line 2, column 24 \(byte offset \d+\)"):
        empty.import_csv(path, USD, TAX_CLASSES)


HOSTILE = [
    ("\x00", "U+0000"),
    ("\x1b@", "U+001B"),  # ESC @ resets the printer
    ("\x1dV\x00", "U+001D"),  # GS V 0 cuts the paper
    ("\x10\x04\x01", "U+0010"),  # DLE EOT: a real-time status request
    ("\x7f", "U+007F"),
    ("\x85", "U+0085"),  # C1 next line
    ("\u202e", "U+202E"),  # right-to-left override
    ("\u202a", "U+202A"),
    ("\u2066", "U+2066"),  # left-to-right isolate
    ("\u2069", "U+2069"),
]


@pytest.mark.parametrize(("bad", "code"), HOSTILE)
def test_control_and_bidi_characters_in_a_name_are_refused(
    loaded: Catalog, tmp_path: Path, bad: str, code: str
) -> None:
    before = loaded.by_gtin(validate_gtin(MILK))
    path = _write(
        tmp_path / "hostile.csv",
        HEADER,
        ",Lemons,,,4.39,reduced,0,1,4053",
        f"{MILK},Whole Milk 1L,全脂{bad}牛奶 1L,우유 1L,0.01,reduced,0,0,",
    )
    report = loaded.import_csv(path, USD, TAX_CLASSES)
    assert [(e.line, e.column) for e in report.errors] == [(3, "name_zh")]
    assert code in report.errors[0].message and "at character 3" in report.errors[0].message
    assert report.lines()[0].startswith("line 3: column name_zh: ")
    assert loaded.by_gtin(validate_gtin(MILK)) == before  # the row changed nothing
    assert loaded.by_plu("4053").price_minor == 439


@pytest.mark.parametrize("column", ["tax_class", "price", "plu", "age_restricted"])
def test_a_control_character_is_refused_in_every_column(empty: Catalog, column: str) -> None:
    # str.strip() takes \x1c-\x1f as spaces: "reduced\x1c" would pass as "reduced"
    row = {"gtin": "", "name_en": "Lemons", "name_zh": "", "name_ko": "", "price": "4.39",
           "tax_class": "reduced", "age_restricted": "0", "sold_by_weight": "1", "plu": "4053"}
    row[column] += "\x1c"
    text = HEADER + "\n" + ",".join(row.values()) + "\n"
    report = empty.import_rows(csv.DictReader(io.StringIO(text)), USD, TAX_CLASSES)
    assert [(e.line, e.column) for e in report.errors] == [(2, column)]
    assert "U+001C" in report.errors[0].message
    assert empty.count() == 0


def test_a_control_character_in_the_header_rejects_the_file(loaded: Catalog, tmp_path: Path
                                                            ) -> None:
    before = _snapshot(loaded)
    path = _write(tmp_path / "header.csv", HEADER + ",name_\x1bfr",
                  "4006381333931,Pencil,,,0.99,standard,0,0,,x")
    with pytest.raises(CatalogError, match=r"line 1, column 'name_\\x1bfr': U\+001B"):
        loaded.import_csv(path, USD, TAX_CLASSES)
    assert _snapshot(loaded) == before


def test_cli_import_of_a_hostile_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.harness import kiosk_cli

    path = _write(tmp_path / "huge.csv", HEADER,
                  f'4006381333931,"{"A" * 200_000}",,,1.00,reduced,0,0,')
    env = {"PATH": "/usr/bin:/bin", "KIOSK_CONFIG_DIR": str(tmp_path / "none"),
           "KIOSK__PATHS__STATE_DIR": str(tmp_path / "state")}
    done = kiosk_cli(env, "catalog", "import", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"catalog import failed: {path}: line 2, column name_en: a field longer than"
        f" {csv.field_size_limit()} characters"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\t", "\u2028", "\u2029", " \n  "])
def test_a_line_break_inside_a_name_is_one_space(empty: Catalog, brk: str) -> None:
    text = HEADER + f'\n4006381333931,"Two{brk}Lines",,,1.00,reduced,0,0,\n'
    report = empty.import_rows(csv.DictReader(io.StringIO(text)), USD, TAX_CLASSES)
    assert report.errors == []
    assert empty.by_gtin("04006381333931").name("en") == "Two Lines"
