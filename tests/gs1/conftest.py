"""GS1 tests: the sample catalog plus the items GS1's published examples carry (weighed
salmon and beef, a price-labelled cheese, a yoghurt with its batch and expiry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.catalog import SAMPLE_CATALOG, Catalog

ITEMS = Path(__file__).with_name("items.csv")


def catalog_csv(folder: Path) -> Path:
    """The sample catalog with the GS1 items added (an import replaces the catalog)."""
    out = folder / "catalog-gs1.csv"
    extra = ITEMS.read_text(encoding="utf-8").split("\n", 1)[1]
    out.write_text(Path(SAMPLE_CATALOG).read_text(encoding="utf-8").rstrip("\n") + "\n" + extra,
                   encoding="utf-8")
    return out


@pytest.fixture
def gs1_catalog(config, tmp_path):
    config.paths.state_dir.mkdir(parents=True, exist_ok=True)
    cat = Catalog(config.catalog_path)
    report = cat.import_csv(catalog_csv(tmp_path), config.currency, config.tax.rates)
    assert report.errors == []
    yield cat
    cat.close()
