"""The page itself (pure): a receipt kept before the page's fields existed still renders,
and nothing a receipt holds can inject markup."""

from __future__ import annotations

from kiosk.domain.receipt import Receipt
from kiosk.printing.ereceipt_page import error_page, receipt_page


def test_a_receipt_kept_before_the_page_fields_still_renders():
    old = Receipt(txn="S001-L01-000007", locale="ko", header=["Harbour Street Market", "12 St"],
                  lines=[("두부", "US$1.00"), ("-", ""), ("소계", "US$1.00"), ("=", ""),
                         ("합계", "US$1.00")],
                  footer=["거래 번호 S001-L01-000007", "2025. 3. 14. 오후 3:09:26", "감사합니다"])
    page = receipt_page(old)
    assert "<h1>Harbour Street Market</h1>" in page and "12 St" in page
    assert "2025. 3. 14. 오후 3:09:26" in page and "계산대" not in page  # no lane known
    assert page.count("<table") == 3 and '<tr class="total">' in page


def test_receipt_text_is_escaped_never_markup():
    evil = Receipt(txn="S001-L01-000008", locale="en", header=['<img src=x onerror="x">'],
                   lines=[("<script>alert(1)</script>", "&lt;1&gt;"), ("  <b>x</b>", "")],
                   footer=["", "", "</main><script>"], store="<i>S</i>", lane="L<1>")
    page = receipt_page(evil)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&amp;lt;1&amp;gt;" in page
    assert "<i>" not in page and "L&lt;1&gt;" in page


def test_an_error_page_for_an_unknown_reason_is_the_not_valid_page():
    status, page = error_page("whatever", "xx")
    assert status == 404 and "not valid" in page and "无效" in page and "유효하지" in page
