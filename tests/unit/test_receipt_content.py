"""What a receipt says (issue 21, items 4 and 6): one masking rule and the brand's display
name, SALE / APPROVED with the merchant and terminal id, no placeholder link, the weight
unit in the receipt's language, and a reprint marked as a copy with its time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

import kiosk
from kiosk.domain.cards import brand_name, card_text, is_masked, last4, mask_pan, shown_pan
from kiosk.domain.checkout import CheckoutState, Line
from kiosk.domain.receipt import TerminalIds, build_receipt, mark_copy, render_text
from kiosk.i18n import translator
from kiosk.payments.acquirer import lane_ids
from kiosk.printing.cli import reprint
from kiosk.printing.store import ReceiptStore
from kiosk.printing.textfile import TextFilePrinter

WHEN = datetime(2026, 12, 6, 18, 0, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 7, 9, 30, 0, tzinfo=UTC)
IDS = TerminalIds(merchant_id="000000000000001", terminal_id="KIOSK001")
LOCALES = ("en", "zh_Hans", "ko")


def _state(locale: str, brand: str = "visa", masked_pan: str = "476173******0119",
           txn: str = "S001-L01-000042") -> CheckoutState:
    lines = [
        Line(line_id=1, key="08801115954255", gtin="08801115954255", plu=None,
             names={"en": "Whole Milk 1L", "zh": "全脂牛奶 1L", "ko": "우유 1L"},
             unit_price_minor=189, tax_class="reduced", age_restricted=False,
             sold_by_weight=False),
        Line(line_id=2, key="PLU4011", gtin=None, plu="4011",
             names={"en": "Bananas", "zh": "香蕉", "ko": "바나나"}, unit_price_minor=199,
             tax_class="reduced", age_restricted=False, sold_by_weight=True, weight_g=1200),
    ]
    return CheckoutState(
        state="approved", txn=txn, locale=locale, lines=lines,
        payment={"method": "card", "amount": 440, "status": "approved", "auth_code": "A1B2C3",
                 "rrn": "123456789012",
                 "card": {"brand": brand, "masked_pan": masked_pan, "label": "VISA CREDIT",
                          "aid": "A0000000031010", "entry": "chip"}})


def _text(config, locale: str, **kw) -> str:
    receipt = build_receipt(_state(locale, **kw), config, WHEN, translator, ids=IDS)
    return render_text(receipt)


# -- item 4: one masking rule, the brand's display name ---------------------------------------

def test_masking_rule_last_four_shown_first_six_last_four_kept():
    assert shown_pan("476173******0119") == "**** 0119"
    assert shown_pan("") == "" and shown_pan(None) == ""
    assert mask_pan("4761739001010119") == "476173******0119"
    assert mask_pan("476173******0119") == "******0119"  # masking again never shows more
    assert mask_pan("123456780119") == "********0119"  # too short to keep the first six
    assert brand_name("visa") == "Visa" and brand_name("UNIONPAY") == "UnionPay"
    assert brand_name("amex") == "American Express" and brand_name("Acme Card") == "Acme Card"
    assert card_text({"brand": "mastercard", "masked_pan": "541333******4111"}) \
        == "Mastercard **** 4111"


def test_a_masked_pan_is_checked_and_read_by_the_same_rule():
    assert is_masked(mask_pan("4761739001010119")) and is_masked(mask_pan("123456780119"))
    assert not is_masked("4761739001010119") and not is_masked("4761739******0119")
    assert not is_masked("") and not is_masked(None) and not is_masked("**** 0119")
    assert last4("476173******0119") == "0119" == last4("**** 0119")
    assert last4("**12") == "" and last4(None) == ""


#: masking code anywhere but kiosk/domain/cards.py: a second rule (the barcode classifier's
#: last-4 masking of coupons and badges, kiosk/domain/codes.py, is no card's)
SECOND_RULES = [re.compile(r"\\\*\{2,?\d*\}"),                       # a masked-PAN regex
                re.compile(r"(masked_pan|pan_masked|pan)\W[^\n]*\[-4:\]"),  # last four by hand
                re.compile(r"\"\*\" \* |'\*' \* ")]                      # stars by hand


def test_one_masking_rule_for_cards():
    """Issue 21 item 4: the screen, the receipt, the voice, the journal and the card port
    mask and check card numbers through kiosk.domain.cards only."""
    root = Path(kiosk.__file__).parent.parent
    found = []
    for folder in ("kiosk", "drivers", "voice"):
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel in ("kiosk/domain/cards.py", "kiosk/domain/codes.py") or "/sim/" in rel:
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{rel}: {m.group(0)}" for rule in SECOND_RULES
                      for m in rule.finditer(text)]
    assert found == []


@pytest.mark.parametrize("locale", LOCALES)
def test_receipt_shows_the_brand_name_and_last_four_only(config, locale):
    text = _text(config, locale)
    assert "Visa **** 0119" in text
    assert "visa" not in text and "476173" not in text and "******" not in text


# -- item 6: SALE, APPROVED, merchant and terminal id, no placeholder link --------------------

@pytest.mark.parametrize("locale,sale,approved,mid,tid", [
    ("en", "SALE", "APPROVED", "Merchant ID", "Terminal ID"),
    ("zh_Hans", "消费", "交易成功", "商户编号", "终端编号"),
    ("ko", "판매", "승인 완료", "가맹점 번호", "단말기 번호"),
])
def test_receipt_says_sale_approved_merchant_and_terminal(config, locale, sale, approved, mid,
                                                          tid):
    lines = _text(config, locale).splitlines()
    assert sale in lines and approved in lines
    assert any(line.startswith(mid) and line.endswith("000000000000001") for line in lines)
    assert any(line.startswith(tid) and line.endswith("KIOSK001") for line in lines)
    assert lines.index(sale) < lines.index(approved)


def test_no_placeholder_link_unless_the_store_configures_one(config):
    receipt = build_receipt(_state("en"), config, WHEN, translator, ids=IDS)
    assert receipt.qr_payload == ""
    assert "example" not in render_text(receipt) and "http" not in render_text(receipt)
    store = config.store.model_copy(update={
        "e_receipt_url": "https://shop.example.com/r/{txn}"})
    linked = build_receipt(_state("en"), config.model_copy(update={"store": store}), WHEN,
                           translator, ids=IDS)
    assert linked.qr_payload == "https://shop.example.com/r/S001-L01-000042"
    assert "e-receipt: https://shop.example.com/r/S001-L01-000042" in render_text(linked)


@pytest.mark.parametrize("url", ["http://shop.example/{txn}", "https://shop.example/r",
                                 "https://shop.example/ {txn}"])
def test_an_e_receipt_link_must_be_https_and_name_the_transaction(config, url):
    data = config.store.model_dump()
    data["e_receipt_url"] = url
    with pytest.raises(ValidationError, match="e_receipt_url"):
        type(config.store).model_validate(data)


def test_the_lane_ids_come_from_the_acquirer_config_or_its_dialect(config):
    assert lane_ids(config.acquirer) == ("000000000000001", "KIOSK001")  # the dialect's
    mine = config.acquirer.model_copy(update={"merchant_id": "123456789012345",
                                              "terminal_id": "LANE0007"})
    assert lane_ids(mine) == ("123456789012345", "LANE0007")


@pytest.mark.parametrize("locale,line", [("en", "  1.200 kg @ $1.99/kg"),
                                         ("zh_Hans", "  1.200 千克 @ US$1.99/千克"),
                                         ("ko", "  1.200kg @ US$1.99/kg")])
def test_the_weight_unit_is_the_one_the_screen_shows(config, locale, line):
    assert [ln for ln in _text(config, locale).splitlines() if " @ " in ln] == [line]


# -- item 6: a reprint is a marked copy ---------------------------------------------------------

@pytest.mark.parametrize("locale,mark", [("en", "COPY"), ("zh_Hans", "副本"), ("ko", "사본")])
def test_a_reprint_is_marked_copy_with_its_time(config, locale, mark):
    original = build_receipt(_state(locale), config, WHEN, translator, ids=IDS)
    copy = mark_copy(original, LATER, translator)
    text, again = render_text(copy), render_text(original)
    assert text != again and mark not in again
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == mark and lines[-1] == lines[1]  # top and bottom: mark, then time
    assert "2026" in lines[1] and ("9:30" in lines[1] or "09:30" in lines[1])
    assert again.strip() in text  # the copy says everything the original said


def test_reprint_on_the_sim_printer_writes_a_copy_and_keeps_the_original(config, tmp_path):
    receipts = tmp_path / "receipts"
    original = build_receipt(_state("zh_Hans"), config, WHEN, translator, ids=IDS)
    first = TextFilePrinter(receipts).print_receipt(original)
    kept = (receipts / "S001-L01-000042.json").read_text(encoding="utf-8")
    printed = (receipts / "S001-L01-000042.txt").read_bytes()
    results = [reprint("S001-L01-000042", receipts, "sim") for _ in range(2)]
    assert first.ok and all(r.ok for r in results)
    paths = [r.path for r in results]
    assert [p.rsplit("/", 1)[1] for p in paths] == ["S001-L01-000042-copy-1.txt",
                                                    "S001-L01-000042-copy-2.txt"]
    copy = (receipts / "S001-L01-000042-copy-1.txt").read_bytes()
    assert copy != printed and "副本" in copy.decode("utf-8")
    # the kept receipt stays the original: a third reprint is again a copy of it, not of a copy
    assert (receipts / "S001-L01-000042.json").read_text(encoding="utf-8") == kept
    assert json.loads(kept)["copy"] == []
    assert (receipts / "S001-L01-000042.txt").read_bytes() == printed
    assert ReceiptStore(receipts).load("S001-L01-000042") == original
