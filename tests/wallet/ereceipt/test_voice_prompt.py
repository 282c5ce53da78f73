"""The spoken receipt question names the phone receipt only when the screen offers it."""

from __future__ import annotations

import pytest

from kiosk.services.voice.prompts import Prompts
from tests.voice_ux.test_prompts import state_msg

PAID = {"status": "approved", "method": "card", "amount": 2030}
SAID = {"en": "Receipt on my phone", "zh_Hans": "手机电子小票", "ko": "휴대폰 영수증"}


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "ko"])
def test_the_receipt_question_offers_the_phone_receipt_when_there_is_a_link(locale):
    p = Prompts(locale)
    plain = p.state(state_msg("approved", payment=PAID)).text
    offered = p.state(state_msg("approved", payment=PAID,
                                e_receipt="https://r.example/r/T.en.1.x")).text
    assert SAID[locale] not in plain
    assert offered.startswith(plain) and SAID[locale] in offered
    chosen = p.state(state_msg("approved", payment={**PAID, "receipt_choice": "print"},
                               e_receipt="https://r.example/r/T.en.1.x")).text
    assert SAID[locale] not in chosen
