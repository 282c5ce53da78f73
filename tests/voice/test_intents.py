"""Matching decoded words to an intent: tolerant of word boundaries, strict on salads."""

from __future__ import annotations

import pytest
from kiosk_voice.intents import (
    INTENTS,
    LANGUAGES,
    STATE_INTENTS,
    Intent,
    Rejected,
    Word,
    intents_for_state,
    match,
)

pytestmark = pytest.mark.voice


def words(text: str, conf: float = 0.9) -> list[Word]:
    return [Word(w, conf) for w in text.split()]


def test_every_language_has_every_intent_and_every_state_only_known_intents():
    for li in LANGUAGES.values():
        assert set(li.intents) == set(INTENTS)
    for names in STATE_INTENTS.values():
        assert set(names) <= set(INTENTS)


@pytest.mark.parametrize(("text", "state", "intent"), [
    ("신용카드", "payment", "pay_card"),
    ("카드로 결제 할게요", "payment", "pay_card"),
    ("카카오페이", "payment", "pay_phone"),
    ("취 소해 주세요", "payment", "cancel"),  # the boundary moved: same characters
    ("취소 해 주세요", "payment", "cancel"),
    ("도와줘", "payment", "help"),
    ("다시 말해 주세요", "payment", "repeat"),
    ("네 좋아요", "confirm", "yes"),
    ("아니요", "confirm", "no"),
    ("얼마에요", "payment", "how_much"),
    ("영수증 주세요", "receipt", "receipt"),
    ("영수증 필요 없어요", "receipt", "no_receipt"),  # no_receipt beats receipt
    ("됐어요", "receipt", "no_receipt"),
])
def test_korean_phrasings(text, state, intent):
    result = match(words(text), "ko", state)
    assert isinstance(result, Intent), result
    assert result.name == intent


def test_change_language_carries_the_target():
    result = match(words("차이니즈"), "ko", "payment")
    assert isinstance(result, Intent) and result.slot == "zh"
    assert match(words("chinese"), "en", "payment").slot == "zh"


@pytest.mark.parametrize(("text", "state", "reason"), [
    ("", "payment", "nothing"),
    ("<UNK>", "payment", "nothing"),
    ("주세요 할게요", "payment", "no_command"),
    ("신용카드 취소", "payment", "ambiguous"),
    ("우유 신용카드", "payment", "word_salad"),  # a decoy word came with the key
    ("다시 주세요", "payment", "not_a_phrase"),  # key + filler, but no listed phrasing
    ("영수증", "payment", "no_command"),  # not listened for in this state
    ("주세요 다시", "payment", "not_a_phrase"),  # a sure filler before a key is speech
])
def test_rejections(text, state, reason):
    result = match(words(text), "ko", state, unk="<UNK>")
    assert isinstance(result, Rejected)
    assert result.reason == reason


def test_low_confidence_key_words_are_rejected():
    assert isinstance(match(words("취소", 0.9), "ko", "payment"), Intent)
    low = match(words("취소", 0.3), "ko", "payment")
    assert isinstance(low, Rejected) and low.reason == "low_confidence"


def test_english_keys_match_whole_words_only():
    assert match(words("pay by card"), "en", "payment").name == "pay_card"
    assert match(words("no receipt please"), "en", "receipt").name == "no_receipt"
    assert match(words("receipt please"), "en", "receipt").name == "receipt"
    assert isinstance(match(words("cards"), "en", "payment"), Rejected)


def test_chinese_matches_on_joined_characters():
    assert match(words("刷 卡"), "zh", "payment").name == "pay_card"
    assert match(words("不要 小票"), "zh", "receipt").name == "no_receipt"


def test_everyday_words_alone_are_not_yes():
    # 좋아요 / 맞아요 are in the confirm grammar (speech lands there) but are no key
    for text in ("좋아요", "맞아요"):
        result = match(words(text), "ko", "confirm")
        assert isinstance(result, Rejected) and result.reason == "no_command", text
    assert match(words("네 좋아요"), "ko", "confirm").name == "yes"


def test_a_doubtful_first_word_is_the_onset_of_speech():
    assert match([Word("해", 0.5), Word("신용카드", 1.0)], "ko", "payment",
                 edge_conf=0.7).name == "pay_card"
    # a doubtful first word that is part of the phrase stays (영수증 주세요 is receipt)
    said = [Word("영수증", 0.6), Word("주세요", 1.0)]
    assert match(said, "ko", "receipt", edge_conf=0.7).name == "receipt"
    # ... and only when what is left is sure
    unsure = [Word("아니요", 0.59), Word("다시", 0.61)]
    assert match(unsure, "ko", "receipt", edge_conf=0.7).reason == "ambiguous"
    heard = [Word("취소", 0.6), Word("신용카드", 1.0)]
    assert match(heard, "ko", "payment", edge_conf=0.7).name == "pay_card"
    # a sure first word is speech: two commands heard, nothing done
    sure = [Word("취소", 0.9), Word("신용카드", 1.0)]
    assert match(sure, "ko", "payment", edge_conf=0.7).reason == "ambiguous"
    # edge_conf 0 (off): the doubtful word counts
    assert match(heard, "ko", "payment", edge_conf=0.0).reason == "ambiguous"


def test_a_doubtful_decoy_first_word_still_counts_against_the_result():
    heard = [Word("봉투", 0.5), Word("도와줘", 1.0)]
    result = match(heard, "ko", "payment", edge_conf=0.7)
    assert isinstance(result, Rejected) and result.reason == "word_salad"


@pytest.mark.parametrize(("lang", "text", "intent"), [
    ("en", "cancel help", "cancel_help"),
    ("en", "put it aside", "put_aside"),
    ("ko", "도움 취소", "cancel_help"),
    ("ko", "호출 취 소해 주세요", "cancel_help"),   # the boundary moved: same characters
    ("ko", "필요 없어요", "put_aside"),
    ("zh", "取消 呼叫", "cancel_help"),
    ("zh", "不要 了", "put_aside"),
])
def test_a_shopper_waiting_for_staff_cancels_help_or_puts_the_item_aside(lang, text, intent):
    """Issue 21: the screen's "Cancel help" and "Put the item aside" are heard too."""
    result = match(words(text), lang, "attendant_needed")
    assert isinstance(result, Intent), result
    assert result.name == intent


def test_cancel_help_wins_over_cancel_where_both_are_heard():
    state = "payment"
    for lang, text in (("en", "cancel help"), ("ko", "호출 취소"), ("zh", "取消 呼叫")):
        names = (*intents_for_state(state), "cancel_help")
        STATE_INTENTS[state], saved = names, STATE_INTENTS[state]
        try:
            assert match(words(text), lang, state).name == "cancel_help"
        finally:
            STATE_INTENTS[state] = saved
