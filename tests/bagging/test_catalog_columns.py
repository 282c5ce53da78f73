"""The catalog's optional bagging columns: imported by product key, bad values reported with
their line and column (the row is skipped), learned weighings kept."""

from __future__ import annotations

from kiosk.catalog import Catalog

CSV = """gtin,name_en,price,tax_class,age_restricted,sold_by_weight,plu,\
bag_weight_g,bag_tolerance_g,bag_check
8801115954255,Milk,1.89,reduced,0,0,,1050,30,1
8801094804527,Cola,2.49,reduced,0,0,,,,0
8801043444279,Ramyun,4.99,reduced,0,0,,12.5,,
6920152086049,Soy sauce,2.10,reduced,0,0,,,,
"""


def test_bagging_columns(config, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(CSV)
    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        report = catalog.import_csv(path, config.currency, config.tax.rates)
        assert report.loaded == 3
        (error,) = report.errors
        assert (error.line, error.column) == (4, "bag_weight_g")
        assert catalog.by_gtin("08801043444279") is None  # the whole row is skipped
        assert catalog.bag_weight("08801115954255") == (1050, 30, True, [])
        assert catalog.bag_weight("08801094804527") == (None, None, False, [])
        assert catalog.bag_weight("06920152086049") == (None, None, True, [])  # nothing said
        assert catalog.bag_sample("06920152086049", 512) == [512]
        assert catalog.bag_sample("06920152086049", 515) == [512, 515]
        assert catalog.bag_weight("06920152086049")[3] == [512, 515]
        # a re-import keeps what was learned and replaces what the catalog says
        catalog.import_csv(path, config.currency, config.tax.rates)
        assert catalog.bag_weight("08801115954255") == (1050, 30, True, [])
        assert catalog.bag_weight("06920152086049")[3] == [512, 515]
    finally:
        catalog.close()
