"""One word for "receipt" per language (issue 21, item 6): the screens, the printed receipt,
the spoken prompts and the operator manual never mix 收据 and 小票 (or two Korean words) in
one language."""

from __future__ import annotations

import pytest

from kiosk.i18n import messages
from tests.harness import REPO

#: locale → (the one term, the words it must not be called instead)
RECEIPT_TERMS = {
    "zh_Hans": ("小票", ("收据", "收條", "票据", "发票")),
    "ko": ("영수증", ("전표", "레시트", "리시트")),
}


@pytest.mark.parametrize("locale", sorted(RECEIPT_TERMS))
@pytest.mark.parametrize("domain", ["kiosk", "voice"])
def test_one_term_for_receipt(locale, domain):
    term, others = RECEIPT_TERMS[locale]
    catalog = messages(locale, domain)
    about = {msgid: text for msgid, text in catalog.items() if "receipt" in msgid.lower()}
    assert about, f"no message about receipts in {locale}/{domain}"
    assert {m: t for m, t in about.items() if term not in t} == {}
    assert {m: t for m, t in catalog.items() if any(o in t for o in others)} == {}


@pytest.mark.parametrize("locale", sorted(RECEIPT_TERMS))
def test_the_operator_manual_uses_the_same_term(locale):
    term, others = RECEIPT_TERMS[locale]
    manual = (REPO / "docs" / f"operator.{locale}.md").read_text(encoding="utf-8")
    assert term in manual
    assert [o for o in others if o in manual] == []
