"""Issue 21, item 7 (data side): product pictures from the catalog, checked at import, and
the last scanned item with its price as a field of the view model."""

from __future__ import annotations

from pathlib import Path

from kiosk.catalog import Catalog, picture_index, pictures_dir
from kiosk.domain.money import Currency
from kiosk.ui.viewmodel import LastScanned, build_view

USD = Currency("USD", 840, 2)
TAX = {"standard": 8, "reduced": 2}
HEADER = "gtin,name_en,name_zh,name_ko,price,tax_class,age_restricted,sold_by_weight,plu,picture"


def _png(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    from PIL import Image

    Image.new("RGB", size, (200, 30, 30)).save(path)
    return path


def test_pictures_are_checked_copied_by_key_and_a_bad_one_never_loses_the_product(tmp_path):
    src = tmp_path / "import"
    src.mkdir()
    _png(src / "milk.png")
    _png(src / "huge.png", (3000, 10))
    (src / "fake.png").write_text("not a picture")
    (tmp_path / "outside.png").write_bytes((src / "milk.png").read_bytes())
    rows = [
        "8801115954255,Whole Milk 1L,全脂牛奶 1L,우유 1L,1.89,reduced,0,0,,milk.png",
        "8801104550345,Banana Milk,香蕉牛奶,바나나우유,1.29,reduced,0,0,,fake.png",
        "8801043444279,Shin Ramyun,辛拉面,신라면,4.99,reduced,0,0,,missing.png",
        "8801094804527,Coca-Cola 1.5L,可口可乐,코카콜라,2.49,standard,0,0,,../outside.png",
        "0070666928444,Cup Noodles,杯面,컵누들,0.99,reduced,0,0,,huge.png",
        ",Bananas,香蕉,바나나,1.99,reduced,0,1,4011,",
    ]
    csv_path = src / "catalog.csv"
    csv_path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    catalog = Catalog(tmp_path / "state" / "catalog.sqlite")
    try:
        report = catalog.import_csv(csv_path, USD, TAX)
        assert report.errors == [] and report.loaded == 6 and catalog.count() == 6
    finally:
        catalog.close()
    assert report.pictures == 1
    warned = {w.line: (w.column, w.message) for w in report.warnings}
    assert sorted(warned) == [3, 4, 5, 6]
    assert all(column == "picture" for column, _ in warned.values())
    assert "not a PNG or JPEG" in warned[3][1]
    assert "No such file" in warned[4][1]
    assert "inside the CSV's folder" in warned[5][1]
    assert "3000 x 10" in warned[6][1]
    assert any("loaded without its picture" in line for line in report.lines())
    folder = pictures_dir(tmp_path / "state" / "catalog.sqlite")
    assert picture_index(folder) == {"08801115954255": folder / "08801115954255.png"}
    assert (folder / "08801115954255.png").read_bytes() == (src / "milk.png").read_bytes()
    assert picture_index(tmp_path / "nowhere") == {}


def _msg(**over) -> dict:
    msg = {
        "v": 1, "type": "state", "seq": 3, "state": "shopping", "locale": "zh_Hans",
        "locales": ["en", "zh_Hans", "ko"], "currency": {"code": "USD", "exponent": 2},
        "txn": "S001-L01-000001", "last_line_id": 2, "payment": None, "receipt": None,
        "lines": [
            {"line_id": 1, "key": "08801115954255", "names": {"en": "Whole Milk 1L",
                                                              "zh": "全脂牛奶 1L"},
             "unit_price_minor": 189, "qty": 1, "weight_g": None, "price_minor": None,
             "age_status": "none", "amount": 189},
            {"line_id": 2, "key": "PLU04011", "names": {"en": "Bananas", "zh": "香蕉"},
             "unit_price_minor": 199, "qty": 1, "weight_g": 850, "price_minor": None,
             "age_status": "none", "amount": 169},
        ],
        "totals": {"subtotal": 358, "tax": 7, "total": 365, "tax_mode": "exclusive"},
    }
    msg.update(over)
    return msg


def test_the_view_names_the_last_scanned_item_with_its_price():
    view = build_view(_msg(), True)
    assert view.last_scanned == LastScanned(
        line_id=2, key="PLU04011", name="香蕉", amount="US$1.69",
        detail=view.rows[1].detail)
    assert "千克" in view.last_scanned.detail
    assert build_view(_msg(last_line_id=1), True, "en").last_scanned.name == "Whole Milk 1L"
    # nothing scanned yet, or the last line removed: no panel content
    assert build_view(_msg(last_line_id=None), True).last_scanned is None
    assert build_view(_msg(last_line_id=9), True).last_scanned is None
