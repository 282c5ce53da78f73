"""Selling from GS1 codes in the pure checkout: weight x the catalog's price per kg, or the
encoded price, exactly (USD and KRW, hand-calculated), and an expired or recalled item
refused with staff called (kiosk.domain.checkout)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from kiosk.catalog import Catalog
from kiosk.domain.checkout import Context, totals
from kiosk.domain.rules import CurrencyConfig, Gs1Config, RecallConfig
from tests.unit.test_checkout import PIN, T0, Lane, cmd, types

TODAY = date(2026, 12, 6)
SALMON = "(01)90012345678908(3103)001750"   # ISO/IEC 24724 Fig. 11: 1.750 kg, 24.90/kg
BEEF = "(01)95012345678903(3102)000400"     # GGS Fig. 7.8.5.1-2: 4.00 kg, 12.50/kg
CHEESE = "(01)04012345678901(3103)000300(3922)0567"  # 0.300 kg, labelled 5.67
YOGURT = "(01)09501101530003(17){date}(10)AB-123"   # GGS Fig. 2.6.14-3's shape


class GS1Lane(Lane):
    """The unit tests' lane with the store's date fixed."""

    def ctx(self, now: float) -> Context:
        return dataclasses.replace(super().ctx(now), today=TODAY)


@pytest.fixture
def lane(config, gs1_catalog) -> GS1Lane:
    return GS1Lane(config, gs1_catalog)


def with_gs1(lane: GS1Lane, **rules) -> GS1Lane:
    lane.config = lane.config.model_copy(update={"gs1": Gs1Config(**rules)})
    return lane


def test_weight_codes_are_priced_from_the_catalogs_price_per_kg(lane):
    assert types(lane.do(cmd("scan", code=SALMON), at=T0)) == ["session_started", "item_added"]
    lane.do(cmd("scan", code=BEEF), at=T0 + 1)
    salmon, beef = lane.state.lines
    assert (salmon.weight_g, salmon.unit_price_minor, salmon.price_minor) == (1750, 2490, None)
    assert (beef.weight_g, beef.unit_price_minor) == (4000, 1250)
    # 24.90 x 1.750 = 43.575 -> 43.58 (half up, once); 12.50 x 4.00 = 50.00
    assert [ln.priced().amount for ln in lane.state.lines] == [4358, 5000]
    assert totals(lane.state, lane.config).subtotal == 9358


def test_an_encoded_price_is_the_lines_price_with_its_weight_shown(lane):
    lane.do(cmd("scan", code=CHEESE), at=T0)
    [line] = lane.state.lines
    # 18.90/kg x 0.300 kg would be 5.67 too; the label's price is what is charged
    assert (line.weight_g, line.price_minor, line.priced().amount) == (300, 567, 567)
    lane.reject(cmd("set_quantity", line_id=line.line_id, qty=2), "not_countable")


def test_a_price_label_on_an_item_sold_per_unit(lane):
    lane.do(cmd("scan", code="(01)09506000134352(3921)0025"), at=T0)  # 2.5 (one decimal)
    # a deli pack of an item priced per unit: its weight is not shown per kg
    lane.do(cmd("scan", code="(01)09506000134352(3103)000450(3922)0399"), at=T0 + 1)
    assert [(ln.price_minor, ln.weight_g, ln.priced().amount) for ln in lane.state.lines] == [
        (250, None, 250), (399, None, 399)]


def test_dates_and_batch_on_an_item_sold_per_unit(lane):
    lane.do(cmd("scan", code=YOGURT.format(date="261206")), at=T0)  # expires today: good
    lane.do(cmd("scan", code=YOGURT.format(date="270131")), at=T0 + 1)
    [line] = lane.state.lines
    assert (line.key, line.qty, line.unit_price_minor) == ("09501101530003", 2, 349)


@pytest.mark.parametrize("code,detail", [
    (YOGURT.format(date="261205"), "17:2026-12-05"),
    ("(01)09501101530003(15)261130", "15:2026-11-30"),
    ("https://id.gs1.org/01/09501101530003?16=261100", "16:2026-11-30"),  # day 00
])
def test_an_expired_item_is_refused_and_staff_are_called(lane, code, detail):
    from kiosk.domain.codes import normalise

    lane.do(cmd("scan", code=BEEF), at=T0)
    events = lane.do(cmd("scan", code=normalise(code)), at=T0 + 1)
    assert [(e["type"], e["reason"], e["detail"], e["gtin"]) for e in events] == [
        ("item_refused", "expired", detail, "09501101530003")]
    s = lane.state
    assert s.state == "attendant_needed" and len(s.lines) == 1
    assert s.attendant["reason"] == "item_expired" and s.attendant["detail"] == detail
    lane.reject(cmd("put_aside"), "nothing_to_put_aside")  # staff take it off the floor
    lane.reject(cmd("attendant", action="clear"), "staff_required")
    lane.do(cmd("staff_pin", pin=PIN), at=T0 + 2)
    assert types(lane.do(cmd("attendant", action="clear"), at=T0 + 3)) == ["attendant_cleared"]
    assert lane.state.state == "shopping" and len(lane.state.lines) == 1


def test_a_store_that_sells_past_best_before(lane):
    with_gs1(lane, refuse_past=["16", "17"])
    lane.do(cmd("scan", code="(01)09501101530003(15)261130"), at=T0)
    assert lane.state.state == "shopping" and len(lane.state.lines) == 1


def test_a_recalled_batch_is_refused_only_for_its_gtin(lane):
    with_gs1(lane, recalls=[RecallConfig(gtin="9501101530003", batch="AB-123")])
    lane.do(cmd("scan", code="(01)09506000134352(10)AB-123"), at=T0)  # another item's batch
    lane.do(cmd("scan", code=YOGURT.format(date="270131").replace("AB-123", "AB-124")),
            at=T0 + 1)
    assert len(lane.state.lines) == 2
    [ev] = lane.do(cmd("scan", code=YOGURT.format(date="270131")), at=T0 + 2)
    assert (ev["type"], ev["reason"], ev["detail"]) == ("item_refused", "recalled", "AB-123")
    assert lane.state.attendant["reason"] == "item_recalled"
    assert len(lane.state.lines) == 2


def test_a_refused_item_opens_the_session_from_attract(lane):
    events = lane.do(cmd("scan", code=YOGURT.format(date="200101")), at=T0)
    assert types(events) == ["session_started", "item_refused"]
    assert lane.state.state == "attendant_needed"


@pytest.mark.parametrize("code,reason", [
    ("(01)95012345678903(3932)9781299", "gs1_currency"),          # EUR at a USD store
    ("(01)95012345678903(3104)012345", "gs1_weight_resolution"),  # 1234.5 g
    ("(01)95012345678903(3923)12995", "gs1_price_resolution"),    # 12.995
    ("(01)09501101530003(3103)000500", "bad_barcode"),  # a weight on an item sold per unit
    ("(01)95012345678903(10)L1", "needs_weight"),  # a weighed item with no weight or price
    ("(01)95012345678903(3101)600000", "bad_barcode"),  # 60 kg: above a line's most
    ("(01)09501101530004(10)L1", "bad_barcode"),  # check digit
])
def test_codes_that_cannot_be_sold_are_rejected_with_a_reason(lane, code, reason):
    lane.reject(cmd("scan", code=code), reason)
    assert lane.state.state == "attract"


def test_unknown_gtin_calls_staff_like_any_unknown_barcode(lane):
    events = lane.do(cmd("scan", code="(01)00012345678905(17)270101"), at=T0)
    assert types(events) == ["session_started", "item_unknown"]
    assert lane.state.attendant["reason"] == "unknown_barcode"


def test_won_has_no_minor_unit(config, tmp_path):
    krw = config.model_copy(update={"store": config.store.model_copy(update={
        "currency": CurrencyConfig(code="KRW", numeric=410, exponent=0)})})
    csv = tmp_path / "krw.csv"
    csv.write_text("gtin,name_en,name_zh,name_ko,price,tax_class,age_restricted,"
                   "sold_by_weight,plu\n"
                   "90012345678908,Salmon,三文鱼,연어,24900,reduced,0,1,\n"
                   "09501101530003,Yogurt,酸奶,요거트,3490,reduced,0,0,\n", encoding="utf-8")
    config.paths.state_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(config.catalog_path)
    assert catalog.import_csv(csv, krw.currency, krw.tax.rates).errors == []
    lane = GS1Lane(krw, catalog)
    lane.do(cmd("scan", code="(01)90012345678908(3103)001234"), at=T0)  # 1.234 kg
    lane.do(cmd("scan", code="(01)09501101530003(3920)12500"), at=T0 + 1)  # ₩12,500
    lane.do(cmd("scan", code="(01)09501101530003(3932)4101250000"), at=T0 + 2)  # 12500.00
    # 24,900 x 1.234 = 30,726.6 -> 30,727 won
    assert [ln.priced().amount for ln in lane.state.lines] == [30727, 12500, 12500]
    lane.reject(cmd("scan", code="(01)09501101530003(3921)125005"), "gs1_price_resolution")
    catalog.close()
