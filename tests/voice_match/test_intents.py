"""Matching what was heard to an intent: tolerant of boundaries, particles and endings,
refusing speech that is not for the kiosk (issue 20, item 1)."""

from __future__ import annotations

import pytest
from kiosk_voice.intents import (
    INTENTS,
    LANGUAGES,
    STATE_INTENTS,
    Alternative,
    Intent,
    Rejected,
    Word,
    intents_for_state,
    levenshtein,
    match,
    match_alternatives,
    posteriors,
    units,
)

pytestmark = pytest.mark.voice


def words(text: str, conf: float = 0.9) -> list[Word]:
    return [Word(w, conf) for w in text.split()]


def nbest(*alts: tuple[str, float]) -> list[Alternative]:
    return [Alternative(t, c, words(t)) for t, c in alts]


def test_every_language_has_every_intent_and_every_state_only_known_intents():
    for li in LANGUAGES.values():
        assert set(li.intents) == set(INTENTS)
    for names in STATE_INTENTS.values():
        assert set(names) <= set(INTENTS)


@pytest.mark.parametrize("lang", ["ko", "en", "zh"])
def test_at_least_ten_phrasings_per_intent(lang):
    for name, spec in LANGUAGES[lang].intents.items():
        assert len(set(spec.phrasings)) >= 10, (lang, name, spec.phrasings)


def _edit_distance(a, b) -> int:
    """The textbook dynamic programme, as the reference."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_bit_parallel_edit_distance_is_the_textbook_one():
    import random

    rnd = random.Random(20)
    for _ in range(3000):
        a = tuple(rnd.choice("abcd") for _ in range(rnd.randint(0, 70)))
        b = tuple(rnd.choice("abcd") for _ in range(rnd.randint(0, 70)))
        assert levenshtein(a, b) == _edit_distance(a, b), (a, b)


def test_korean_is_compared_in_jamo():
    assert units("취소", "ko") == ("ᄎ", "ᅱ", "ᄉ", "ᅩ")
    # where the decoder puts the word boundary does not matter
    assert units("취 소해", "ko") == units("취소 해", "ko")
    assert units("Card please", "en") == ("card", "please")
    assert units("刷 卡", "zh") == ("刷", "卡")


@pytest.mark.parametrize(("text", "state", "intent"), [
    ("카드로 결제 할게요", "payment", "pay_card"),
    ("카드 로 결제할 게요", "payment", "pay_card"),    # the boundaries moved
    ("카드로 결제해요", "payment", "pay_card"),        # another politeness ending
    ("카카오페이 로 할게요", "payment", "pay_phone"),
    ("취 소해 주세요", "payment", "cancel"),
    ("직원 불러 주세요", "payment", "help"),            # no key word at all
    ("다시 말해 주세요", "payment", "repeat"),
    ("네 좋아요", "confirm", "yes"),
    ("아니요", "confirm", "no"),
    ("얼마 예요", "shopping", "how_much"),
    ("영수증 주세요", "receipt", "receipt"),
    ("영수증 필요 없어요", "receipt", "no_receipt"),     # not receipt: more of it differs
    ("도움 취소 해 주세요", "attendant_needed", "cancel_help"),
    ("이거 필요 없어요", "attendant_needed", "put_aside"),
])
def test_korean_phrasings(text, state, intent):
    result = match(words(text), "ko", state)
    assert isinstance(result, Intent), result
    assert result.name == intent


def test_change_language_carries_the_target():
    result = match(words("영어 로 바꿔 주세요"), "ko", "shopping")
    assert isinstance(result, Intent) and result.slot == "en"
    assert match(words("switch to korean"), "en", "shopping").slot == "ko"
    # no target said: the intent without one (the service asks which)
    assert match(words("언어 변경"), "ko", "shopping").slot is None


@pytest.mark.parametrize(("text", "state", "reason"), [
    ("", "payment", "nothing"),
    ("<UNK>", "payment", "nothing"),
    ("감사합니다", "payment", "no_command"),             # a decoy: speech for someone else
    ("바나나 버스 그런데 은행", "payment", "no_command"),  # a salad of decoys
    ("영수증 주세요", "payment", "no_command|ambiguous"),  # not listened for in this state
])
def test_rejections(text, state, reason):
    result = match(words(text), "ko", state)
    assert isinstance(result, Rejected), result
    assert result.reason in reason.split("|")


def test_low_confidence_words_are_rejected():
    assert isinstance(match(words("취소", 0.9), "ko", "payment"), Intent)
    low = match(words("취소", 0.3), "ko", "payment")
    assert isinstance(low, Rejected) and low.reason == "low_confidence"


def test_alternatives_that_agree_make_a_sure_intent():
    result = match_alternatives(nbest(("카드 결제", 0.6), ("카드로 결제", 0.3),
                                      ("카드 로", 0.1)), "ko", "payment")
    assert isinstance(result, Intent) and result.name == "pay_card"
    assert result.confidence >= 0.9
    assert [a.text for a in result.alternatives] == ["카드 결제", "카드로 결제", "카드 로"]


def test_alternatives_split_between_intents_are_not_guessed():
    split = match_alternatives(nbest(("카드 결제", 0.5), ("결제 취소", 0.5)), "ko", "payment")
    assert isinstance(split, Rejected) and split.reason in ("ambiguous", "low_confidence")
    # most of the posterior on a decoy: refused even though one alternative is a command
    decoy = match_alternatives(nbest(("감사합니다", 0.8), ("카드", 0.2)), "ko", "payment")
    assert isinstance(decoy, Rejected) and decoy.reason == "no_command"


def test_posteriors_are_a_softmax_of_the_nbest_scores():
    shares = posteriors([152.98, 150.62])
    assert shares[0] == pytest.approx(0.914, abs=1e-3) and sum(shares) == pytest.approx(1)
    assert posteriors([]) == []


def test_english_is_compared_in_words():
    assert match(words("pay by card"), "en", "payment").name == "pay_card"
    assert match(words("i'll pay by card please"), "en", "payment").name == "pay_card"
    assert match(words("no receipt please"), "en", "receipt").name == "no_receipt"
    assert match(words("receipt please"), "en", "receipt").name == "receipt"


def test_chinese_is_compared_in_characters():
    assert match(words("刷 卡"), "zh", "payment").name == "pay_card"
    assert match(words("不要 小票"), "zh", "receipt").name == "no_receipt"


@pytest.mark.parametrize(("lang", "text", "intent"), [
    ("en", "cancel help", "cancel_help"),
    ("en", "put it aside", "put_aside"),
    ("ko", "도움 취소", "cancel_help"),
    ("ko", "호출 취 소해 주세요", "cancel_help"),
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


@pytest.mark.parametrize(("lang", "text", "state", "intent"), [
    # a few jamo from "영수증 필요 없어요" (no receipt), but it asks for one
    ("ko", "영수증 꼭 필요 해요", "receipt", "receipt"),
    ("ko", "영수증 필요 없어요", "receipt", "no_receipt"),
    ("en", "i need a receipt", "receipt", "receipt"),
    ("en", "i do not need a receipt", "receipt", "no_receipt"),
    ("zh", "要 小票", "receipt", "receipt"),
    ("zh", "不 要 小票", "receipt", "no_receipt"),
])
def test_a_negation_is_never_matched_away(lang, text, state, intent):
    """Saying no or not turns a sentence around: a phrasing that differs from what was
    heard only in its negation is not the same request."""
    got = match_alternatives(nbest((text, 1.0)), lang, state, 0.6, 0.05, 0.5)
    assert isinstance(got, Intent) and got.name == intent, got


@pytest.mark.parametrize("state", ["shopping", "attendant_needed"])
@pytest.mark.parametrize(("lang", "text"), [
    ("en", "i brought a bag"),              # the key the prompt says (the button's label)
    ("en", "this is my bag"),
    ("en", "it is my own bag"),
    ("en", "i brought my own bag please"),  # more than a phrasing says
    ("ko", "장바구니 가져왔어요"),
    ("ko", "장바구니 를 가져 왔어요"),       # the label's particle, the boundary moved
    ("ko", "제 가방 이에요"),
    ("ko", "제 봉투 예요"),
    ("zh", "我 自带 了 购物袋"),
    ("zh", "这 是 我 的 袋子"),
    ("zh", "我 带 了 袋 子"),
])
def test_i_brought_a_bag_is_heard_where_the_lane_takes_it(lang, text, state):
    """The shopping screen's and the unexpected-item alert's "I brought a bag"."""
    result = match(words(text), lang, state)
    assert isinstance(result, Intent), result
    assert result.name == "own_bag"


def test_i_brought_a_bag_is_listened_for_only_where_the_core_accepts_own_bag():
    from kiosk.domain.vocabulary import states_accepting

    heard = {state for state, names in STATE_INTENTS.items() if "own_bag" in names}
    assert heard == set(states_accepting("own_bag"))
    for lang, text in (("en", "i brought a bag"), ("ko", "장바구니 가져왔어요"),
                       ("zh", "我 自带 了 购物袋")):
        for state in ("payment", "receipt", "confirm"):
            assert getattr(match(words(text), lang, state), "name", None) != "own_bag"


@pytest.mark.parametrize(("lang", "text", "state"), [
    ("en", "this bag is heavy", "attendant_needed"),
    ("en", "my bag is in the car", "shopping"),
    ("ko", "우산 가져왔어요", "attendant_needed"),   # brought an umbrella: a decoy word now
    ("ko", "봉투 주세요", "shopping"),               # asking for a bag is no bag of one's own
    ("ko", "가방 이 너무 커요", "attendant_needed"),
    ("zh", "袋子 太 重 了", "attendant_needed"),
    ("zh", "我 要 买 袋子", "shopping"),
])
def test_talk_about_bags_is_not_i_brought_a_bag(lang, text, state):
    result = match(words(text), lang, state)
    assert isinstance(result, Rejected), result


def test_no_decoy_is_a_word_of_an_own_bag_phrasing():
    for li in LANGUAGES.values():
        said = {w for p in li.intents["own_bag"].phrasings for w in p.split()}
        assert not said & set(li.decoys), li.lang
