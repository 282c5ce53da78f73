"""The demo (`kiosk run`) says what to type after kiosk-core refuses a command (issue 21,
item 8), from the state's own ``accepts`` list; each word it suggests is one the demo
prompt understands."""

from __future__ import annotations

import pytest

from kiosk.domain.vocabulary import STATES, accepts
from kiosk.sim.demo import DEMO_WORDS, parse_demo_line, refusal_hint


def _state(name: str) -> dict:
    return {"state": name, "accepts": list(accepts(name))}


def test_pay_in_the_basket_says_checkout_first():
    assert refusal_hint("pay", "not_allowed_now", _state("shopping")) == "type checkout first"


def test_a_locked_lane_names_the_staff_steps():
    hint = refusal_hint("checkout", "not_allowed_now", _state("attendant_needed"))
    assert "pin 2468" in hint and "approve" in hint


def test_other_refusals_list_what_the_state_takes():
    hint = refusal_hint("scan", "not_allowed_now", _state("payment"))
    assert hint.startswith("in payment you can type: ") and "pay card|qr" in hint
    assert "back" in hint and "a barcode" not in hint


def test_a_refusal_with_its_own_message_gets_no_hint():
    assert refusal_hint("scan", "basket_full", _state("shopping")) == ""
    assert "wait" in refusal_hint("pay", "payment_in_progress", _state("authorizing"))


@pytest.mark.parametrize("state", STATES)
def test_every_suggested_word_is_one_the_demo_understands(state: str):
    for kind in accepts(state):
        if kind not in DEMO_WORDS:
            continue
        for example in _examples(DEMO_WORDS[kind]):
            assert parse_demo_line(example) is not None, (kind, example)


def _examples(words: str) -> list[str]:
    """'pay card|qr' → ['pay card', 'pay qr']; placeholders become sample values."""
    sample = {"PLU": "04011", "GRAMS": "1200", "LINE": "1", "N": "2", "PIN": "2468",
              "a barcode": "8801043444279"}
    out = []
    for alternative in words.split(" | "):
        if alternative in sample:
            out.append(sample[alternative])
            continue
        head, _, tail = alternative.partition(" ")
        for option in (tail.split("|") if "|" in tail else [tail]):
            line = " ".join([head, *[sample.get(w, w) for w in option.split()]])
            out.append(line.strip())
    return out
