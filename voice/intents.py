"""Intents per checkout state and language, and tolerant matching of what was heard to one.

The recognizer decodes in grammar mode (Vosk: a bigram over the phrasings of the state's
intents, plus everyday decoy words and the unknown token) and hands over its **n-best
alternatives**, each with its share of the posterior. Matching then works in each
language's own units, so a moved word boundary, a particle or a politeness ending costs
little and a different word costs a lot:

* Korean: Hangul jamo (카드로 결제할게요 and 카드 로 결제 할게요 are the same jamo; 할게요
  vs 할래요 differ by a few), Chinese: characters, English: words;
* each alternative is scored against every phrasing of every intent the state listens
  for (a normalized edit distance: 1 = the same units), and against the decoys (speech
  that is not for the kiosk lands there);
* an intent's score is the posterior-weighted mean of its best score over the
  alternatives; the winner must reach ``min_score`` and beat the runner-up (another
  intent or the decoys) by ``min_margin``; its **confidence** is the posterior mass of
  the alternatives that chose it, times its score. Not above ``min_conf`` the result is
  refused (the service asks again rather than guess).

Every intent has at least ten phrasings per language (Korean, English, Chinese),
polite and casual. **Keys** are the short forms the prompts say (카드, 취소, cancel help):
they are phrasings too, listed ``key_weight`` times in the grammar so a short command is
not out-weighed by the words of the longer phrasings. The test set's sentences
(:mod:`kiosk_voice.sim.phrasings`) were written apart from these, and its held-out
sentences are never copied here (a test checks it).

Matching is a pure function of the alternatives: no set or dict order, no clock, no
randomness (the same clip gives the same result in any process).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

INTENTS = ("pay_card", "pay_phone", "cancel", "help", "repeat", "yes", "no", "how_much",
           "receipt", "no_receipt", "change_language", "cancel_help", "put_aside", "own_bag",
           "rate", "rate_reason")

#: which intents each checkout state listens for ("confirm" is the voice dialog's own
#: yes/no question, e.g. "cancel the basket?")
STATE_INTENTS: dict[str, tuple[str, ...]] = {
    "attract": ("help", "repeat", "change_language"),
    # own_bag: "I brought a bag" (the next increase on the bagging area is the shopper's bag)
    "shopping": ("pay_card", "pay_phone", "how_much", "help", "repeat", "cancel",
                 "change_language", "own_bag"),
    "payment": ("pay_card", "pay_phone", "cancel", "help", "repeat", "how_much",
                "change_language"),
    "declined": ("pay_card", "pay_phone", "cancel", "help", "repeat", "how_much"),
    "payment_unavailable": ("help", "repeat", "cancel"),
    "authorizing": ("repeat", "how_much"),
    "approved": ("repeat", "how_much"),
    "reversing": ("repeat",),
    "receipt": ("receipt", "no_receipt", "repeat", "help"),
    # while staff are called the shopper may withdraw their own help call, put an unknown
    # item aside, or say an unexpected item is their own bag (the core accepts each only
    # where it applies)
    "attendant_needed": ("repeat", "cancel_help", "put_aside", "own_bag"),
    "out_of_service": ("repeat",),
    "confirm": ("yes", "no", "repeat", "help"),
    # after the receipt (issue 18): the optional rating (slot: 1 bad .. 3 good), then for a
    # low one what went wrong (slot: a reason code of kiosk/domain/feedback.py; no: skip)
    "rating": ("rate", "repeat", "help"),
    "rating_reasons": ("rate_reason", "no", "repeat"),
}


@dataclass(frozen=True)
class IntentSpec:
    """One intent in one language: keys (what the prompts say), phrasings, slot values."""

    name: str
    keys: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    #: key → slot value (change_language: the target language)
    slots: dict[str, str] = field(default_factory=dict)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Everything that says this intent: the keys and the phrasings."""
        return (*self.keys, *self.phrases)


@dataclass(frozen=True)
class LanguageIntents:
    lang: str
    intents: dict[str, IntentSpec]
    joiner: str  # "" for scripts without reliable spaces in the output, " " for English
    #: everyday words that are no command: speech that is not for the kiosk decodes as
    #: these instead of being forced onto a command word (the model never emits its
    #: unknown token in grammar mode); decoded decoys count against a result
    decoys: tuple[str, ...] = ()

    def phrases_for(self, state: str) -> list[str]:
        out: list[str] = []
        for name in intents_for_state(state):
            spec = self.intents[name]
            keys = {w for k in spec.keys for w in k.split()}
            for p in (*spec.keys, *spec.phrases):
                # a phrase inside a longer key of the same intent (아니 in 아니요) is heard
                # through that key: listing both splits the posterior between them
                if " " not in p and any(p in k and p != k for k in keys):
                    continue
                if p not in out:
                    out.append(p)
        # every word of the phrasings alone too: a phrasing the grammar lacks is decoded
        # as its own words (measured on the tune part: more heard, fewer wrong intents)
        for p in list(out):
            for w in p.split():
                if w not in out:
                    out.append(w)
        for f in self.decoys:
            if f not in out:
                out.append(f)
        return out

    def keys_for(self, state: str) -> list[str]:
        """The key words of the state's intents (each is also a grammar phrase alone)."""
        return [k for name in intents_for_state(state) for k in self.intents[name].keys]


def _spec(name: str, keys: str, phrases: str = "",
          slots: dict[str, str] | None = None) -> IntentSpec:
    split = [s.strip() for s in keys.split("|") if s.strip()]
    more = [s.strip() for s in phrases.split("|") if s.strip()]
    return IntentSpec(name, tuple(split), tuple(more), slots or {})


KO = LanguageIntents("ko", {s.name: s for s in [
    _spec("pay_card", "신용카드|카드",
          "카드로|카드 결제|카드로 결제할게요|카드로 할게요|카드로 결제해 주세요|신용카드로 할게요|"
          "카드로 계산할게요|체크카드|카드 결제 할게요|카드로 계산해 주세요|카드로 해 주세요"),
    _spec("pay_phone", "카카오페이|네이버페이|삼성페이|휴대폰",
          "페이|모바일|휴대폰 결제|핸드폰으로 결제할게요|카카오페이로 할게요|삼성페이로 결제할게요|"
          "모바일 결제|휴대폰으로 할게요|폰으로 결제할게요|큐알 결제|카카오페이 결제|"
          "네이버페이로 할게요"),
    _spec("cancel", "취소",
          "그만 할래요|다 취소|취소해 주세요|취소할게요|결제 취소|전부 취소|"
          "다 취소해 주세요|안 살게요|"
          "취소해 줘|구매 취소|결제 취소해 주세요|취소 할래요"),
    _spec("help", "도와주세요|도와줘",
          "도움말|직원 불러 주세요|직원 호출|도움이 필요해요|사람 불러 주세요|직원분 불러 주세요|"
          "도와주실래요|여기요 도와주세요|좀 도와주세요|직원 좀 불러 줘"),
    _spec("repeat", "다시",
          "한 번 더 해 주세요|다시 말해 주세요|뭐라고요|다시 한번|한 번 더|못 들었어요|"
          "다시 말해 줘|뭐라고|다시 한번 말해 주세요|다시 들려주세요|잘 안 들려요"),
    _spec("yes", "네",
          "네 맞아|네 해 주세요|네 그래요|예|응|네 좋아요|그래요|맞아요|그럼요|네네|"
          "좋아요 해 주세요"),
    _spec("no", "아니요",
          "안 해요|아니|아뇨|아니에요|싫어요|아니요 괜찮아요|하지 마세요|아니 됐어요|안 돼요|"
          "아니 싫어"),
    _spec("how_much", "얼마에요|얼마",
          "얼마죠|얼마예요|총 얼마예요|전부 얼마예요|합계|다 해서 얼마예요|얼마 나왔어요|총 금액|"
          "모두 얼마예요|합계 금액|총 얼마"),
    _spec("receipt", "영수증",
          "영수증 줄래요|영수증 받을래요|영수증 주세요|영수증 출력해 주세요|영수증 뽑아 주세요|"
          "영수증 출력|영수증 주실래요|영수증 챙겨 주세요|영수증 출력할게요|"
          "네 영수증"),
    _spec("no_receipt", "필요 없어요|됐어요",
          "영수증 안 받아도 돼요|영수증 필요 없어요|영수증 됐어요|영수증 안 받을게요|"
          "안 받을게요|괜찮아요|"
          "영수증 괜찮아요|아니요|안 주셔도 돼요|영수증 안 줘도 돼요|영수증은 됐어요|"
          "영수증 없어도 돼요"),
    _spec("change_language", "언어|영어|중국어|잉글리시|차이니즈",
          "언어 변경|언어 바꿔 주세요|영어로 바꿔 주세요|중국어로 바꿔 주세요|"
          "한국어로 바꿔 주세요|영어로 해 주세요|중국어로 해 주세요|다른 언어|언어 바꿀래요|"
          "코리안",
          slots={"잉글리시": "en", "영어": "en", "차이니즈": "zh", "중국어": "zh",
                 "코리안": "ko", "한국어": "ko"}),
    _spec("cancel_help", "도움 취소|호출 취소",
          "호출 안 할래요|도움 취소해 주세요|호출 취소해 주세요|도움 필요 없어요|이제 괜찮아요|"
          "혼자 할게요|직원 호출 취소|도움 안 필요해요|"
          "도움 취소할게요|이제 됐어요"),
    _spec("put_aside", "따로 둘게요|필요 없어요",
          "이거 빼 주세요|이거 필요 없어요|이건 안 살게요|빼 주세요|상품 빼 주세요|"
          "이 상품 필요 없어요|이거 안 살래요|빼고 할게요|이건 빼 줘|놔둘게요|이거 따로 둘게요"),
    _spec("own_bag", "장바구니 가져왔어요|제 가방",
          "장바구니를 가져왔어요|제 장바구니예요|제 가방이에요|내 가방이에요|이거 제 가방이에요|"
          "제 봉투예요|제 장바구니|장바구니 들고 왔어요|장바구니 챙겨 왔어요|개인 장바구니예요|"
          "내 장바구니"),
    _spec("rate", "좋아요|보통이에요|별로예요",
          "좋았어요|아주 좋아요|최고예요|만족해요|괜찮았어요|보통|그저 그래요|나빴어요|"
          "불편했어요|별로였어요|정말 별로예요",
          slots={"좋아요": "3", "좋았어요": "3", "최고": "3", "만족": "3", "괜찮았어요": "2",
                 "보통": "2", "그저 그래요": "2", "별로": "1", "나빴어요": "1", "불편": "1"}),
    _spec("rate_reason", "스캔|결제|직원|무게|느려요|기타",
          "스캔이 안 돼요|바코드가 안 읽혀요|결제가 안 됐어요|카드가 안 돼요|직원을 기다렸어요|"
          "직원이 안 와요|무게 재기|저울이 이상해요|너무 느려요|오래 걸렸어요|다른 문제",
          slots={"스캔": "scanning", "바코드": "scanning", "결제": "payment", "카드": "payment",
                 "직원": "waited_for_staff", "무게": "weighing", "저울": "weighing",
                 "느려요": "too_slow", "오래": "too_slow", "기타": "other", "다른": "other"}),
]}, joiner="", decoys=tuple("""
    감사합니다 고맙습니다 선생님 음료수 지하철 바나나 천천히 어떻게 나중에 그런데 그래서 몰라요
    사람 정말 물건 우산 쿠폰 포인트 병원 은행 버스 창문 엄마 아빠 학생 이름 그냥 근데 조금
    많이 그거 저기 무슨 하나""".split()))

EN = LanguageIntents("en", {s.name: s for s in [
    _spec("pay_card", "card",
          "check card|pay by card|credit card|card please|pay with card|pay with my card|"
          "i will pay by card|by card|use my card|credit card please|i'll pay by card"),
    _spec("pay_phone", "phone|mobile",
          "pay by phone|mobile pay|phone please|pay with my phone|mobile payment|use my phone|"
          "by phone|phone payment|pay with phone|pay with the app|i'll use my phone"),
    _spec("cancel", "cancel",
          "cancel this|cancel please|cancel payment|cancel it|cancel everything|"
          "i want to cancel|please cancel|cancel the order|cancel the basket|cancel all"),
    _spec("help", "help",
          "please help|help me|i need help|call staff|help please|call a staff member|"
          "i need assistance|get me some help|staff please|i need some help|help me please"),
    _spec("repeat", "repeat|again",
          "once more|say again|repeat please|say that again|pardon|what did you say|"
          "repeat that|come again|can you repeat that"),
    _spec("yes", "yes|okay",
          "yes sure|yes please|yeah|sure|correct|that's right|go ahead|of course|right|yes do it"),
    _spec("no", "no",
          "no no|no thanks|nope|not now|nah|no way|i don't want that|no please|"
          "please don't"),
    _spec("how_much", "how much|total",
          "how much is that|what is my total|what is the total|how much is it|"
          "how much do i owe|the total please|total please|"
          "my total|how much altogether"),
    _spec("receipt", "receipt",
          "receipt for me|receipt please|print receipt|i want a receipt|a receipt please|"
          "give me a receipt|can i have a receipt|yes receipt|i would like a receipt|"
          "print the receipt"),
    _spec("no_receipt", "no receipt",
          "no receipt at all|no receipt please|no thanks|i don't need a receipt|skip the receipt|"
          "don't print|no paper|without receipt|no receipt needed|"
          "i don't want a receipt"),
    _spec("change_language", "language|english|chinese|korean",
          "korean language|change language|switch to korean|switch language|change to chinese|"
          "chinese please|english please|switch to english|change the language|speak english",
          slots={"english": "en", "chinese": "zh", "korean": "ko"}),
    _spec("cancel_help", "cancel help",
          "cancel help please|please cancel help|i don't need help|cancel the help|"
          "cancel the call|never mind help|no help needed|i am fine now|stop calling staff|"
          "cancel my help request"),
    _spec("put_aside", "put it aside|put aside",
          "leave this item|i don't need this|put the item aside|put it aside please|"
          "i don't want this|"
          "skip this item|leave it out|remove it|not this one|take this off"),
    _spec("own_bag", "i brought a bag|my bag",
          "my own bag|this is my bag|it's my bag|i brought my own bag|that's my bag|"
          "i have my own bag|it is my own bag|my shopping bag|own bag|i brought my bag"),
    _spec("rate", "good|okay|bad",
          "it was good|very good|great|it was great|it was okay|it was fine|so so|not bad|"
          "it was bad|terrible|it was terrible",
          slots={"good": "3", "great": "3", "okay": "2", "fine": "2", "so so": "2",
                 "not bad": "2", "bad": "1", "terrible": "1"}),
    _spec("rate_reason", "scanning|paying|staff|weighing|too slow|something else",
          "scanning trouble|the scanner|could not scan|payment trouble|the card did not work|"
          "waited for staff|waiting for staff|weighing produce|the scale|it was too slow|"
          "other",
          slots={"scanning": "scanning", "scanner": "scanning", "scan": "scanning",
                 "paying": "payment", "payment": "payment", "card": "payment",
                 "staff": "waited_for_staff", "weighing": "weighing", "scale": "weighing",
                 "slow": "too_slow", "something else": "other", "other": "other"}),
]}, joiner=" ")

ZH = LanguageIntents("zh", {s.name: s for s in [
    _spec("pay_card", "刷卡|银行卡|卡",
          "刷卡 支付|用 卡 付|信用卡|我 刷卡|用 银行卡|刷 信用卡|我 用 卡 付|用 信用卡 支付|"
          "刷卡 吧|"
          "银行卡 支付"),
    _spec("pay_phone", "手机|扫码|微信|支付宝",
          "手机 支付|扫码 支付|用 微信|用 支付宝|微信 支付|支付宝 支付|用 手机 付|我 扫码|"
          "手机 付款|"
          "微信 付款"),
    _spec("cancel", "取消",
          "取消 支付|全部 取消|不 买 了|取消 吧|取消 订单|我 要 取消|算了 取消|都 不要 了|"
          "取消 购物|"
          "请 取消"),
    _spec("help", "帮助|帮忙|工作人员",
          "请 帮忙|叫 工作人员|帮 我|需要 帮助|请 帮 我|帮 我 一下|找 工作人员|来 个 人|"
          "我 需要 帮忙"),
    _spec("repeat", "重复|再说",
          "再说 一遍|重复 一下|没 听清|请 再说 一遍|再 来 一遍|请 重复|你 说 什么|再 说 一次|"
          "没 听 清楚"),
    _spec("yes", "是|对|好的", "是 的|对 的|好|可以|没错|行|好 啊|确定|是 啊"),
    _spec("no", "不|不是", "不 要|不用|不 对|不行|不 可以|算了|不 用 了|别|不 是 的"),
    _spec("how_much", "多少钱|总共",
          "一共 多少钱|总共 多少|多少|一共 多少|总价|多少 钱 啊|要 多少钱|总共 是 多少|价格 多少|"
          "合计 多少"),
    _spec("receipt", "小票|收据",
          "要 小票|打印 小票|给 我 小票|我 要 收据|打印 收据|小票 谢谢|请 给 小票|要 收据|"
          "需要 小票|"
          "打 小票"),
    _spec("no_receipt", "不要",
          "不要 小票|不用 了|不 需要 小票|不要 收据|小票 不要 了|不用 打印|不 用 小票|不 需要|"
          "小票 就 不要 了|不 打印"),
    _spec("change_language", "语言|英语|中文|韩语",
          "换 语言|换 英语|换 韩语|说 中文|切换 语言|用 英语|用 韩语|换成 英语|换成 韩语|改 语言",
          slots={"英语": "en", "中文": "zh", "韩语": "ko"}),
    _spec("cancel_help", "取消 呼叫|取消 帮助",
          "请 取消 呼叫|不 需要 帮助|不用 帮忙 了|取消 求助|不 用 叫 人 了|我 自己 来|没事 了|"
          "不 需要 工作人员|取消 叫 人"),
    _spec("put_aside", "放 一边|不要 了",
          "这个 不要 了|请 放 一边|这个 放 一边|拿 掉 这个|这个 不 买 了|去掉 这个|不 要 这个|"
          "先 放 一边|删除 这个"),
    _spec("own_bag", "我 自带 了 购物袋|我 的 袋子",
          "自带 购物袋|我 有 自己 的 袋子|这 是 我 的 袋子|我 带 了 袋子|自己 的 袋子|"
          "我 自己 带 了 袋子|这 是 我 自己 的 购物袋|我 的 购物袋|袋子 是 我 的|我 带 了 购物袋"),
    _spec("rate", "好|一般|不好",
          "很 好|非常 好|满意|还 行|还 可以|不 满意|很 差|太 差 了|不 太 好|挺 好 的",
          slots={"不太好": "1", "不满意": "1", "不好": "1", "很差": "1", "太差": "1",
                 "很好": "3", "满意": "3", "好": "3", "一般": "2", "还行": "2", "还可以": "2"}),
    _spec("rate_reason", "扫码|付款|等 工作人员|称重|太 慢|其他",
          "扫 不 了|扫描 有 问题|条码 扫 不 出来|付款 有 问题|刷卡 不 行|等 了 很 久|"
          "工作人员 没 来|称重 有 问题|秤 不 对|太 慢 了|别的 问题",
          slots={"工作人员": "waited_for_staff", "等了": "waited_for_staff",
                 "扫": "scanning", "条码": "scanning", "付款": "payment", "刷卡": "payment",
                 "称重": "weighing", "秤": "weighing", "慢": "too_slow", "其他": "other",
                 "别的": "other"}),
]}, joiner="")

LANGUAGES: dict[str, LanguageIntents] = {"ko": KO, "en": EN, "zh": ZH}

#: the states in which a shopper says how to pay (every ``pay_`` intent is heard there)
PAY_STATES = ("shopping", "payment", "declined")
PAY_PREFIX = "pay_"


def set_payment_intents(ways: Mapping[str, Mapping[str, tuple[Sequence[str], Sequence[str]]]]
                        ) -> None:
    """Listen for the ways to pay the application offers, and only those (call once at
    start, before any :class:`~kiosk_voice.recognizer.Recognizer` is made).

    ``ways``: intent name (``pay_<something>``) → language → (key words, phrasings). They
    replace every ``pay_`` intent, the built-in ``pay_card`` / ``pay_phone`` included; a
    language without words for one never hears it.
    """
    for name in ways:
        if not name.startswith(PAY_PREFIX):
            raise ValueError(f"a payment intent's name starts with {PAY_PREFIX!r}: {name!r}")
    for li in LANGUAGES.values():
        for name in [n for n in li.intents if n.startswith(PAY_PREFIX)]:
            del li.intents[name]
        for name, words in ways.items():
            keys, phrases = words.get(li.lang, ((), ()))
            li.intents[name] = IntentSpec(name, tuple(keys), tuple(phrases))
    for state, names in list(STATE_INTENTS.items()):
        kept = tuple(n for n in names if not n.startswith(PAY_PREFIX))
        STATE_INTENTS[state] = (*ways, *kept) if state in PAY_STATES else kept


#: a loose item named ("bananas", "바나나", "香蕉"): weighed and sold from the produce scale;
#: the slot is the item's PLU (:func:`set_item_intents`)
ITEM_INTENT = "add_item"
#: the states in which a shopper names a loose item
ITEM_STATES = ("shopping",)


def set_item_intents(names: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
    """Listen for the store's loose items by name while shopping (call once at start, before
    any recognizer is made, like :func:`set_payment_intents`).

    ``names``: language → slot (the item's PLU) → the names said for it. They become the
    keys of the :data:`ITEM_INTENT` intent; a name that was an everyday decoy word (바나나)
    is a decoy no more. An empty mapping takes the intent away again (decoys restored).
    """
    keys: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        slots = keys.setdefault(lang, {})
        for slot, said in (names.get(lang) or {}).items():
            for words in said:
                key = " ".join(words.lower().split())
                if key:
                    slots.setdefault(key, slot)
    on = any(keys.values())
    for lang, li in list(LANGUAGES.items()):
        decoys = _DECOYS.setdefault(lang, li.decoys)
        li.intents.pop(ITEM_INTENT, None)
        if on:
            li.intents[ITEM_INTENT] = IntentSpec(ITEM_INTENT, tuple(keys[lang]), (),
                                                 keys[lang])
        said = {_flat(k, li.joiner) for k in keys[lang]}
        LANGUAGES[lang] = replace(li, decoys=tuple(d for d in decoys
                                                   if _flat(d, li.joiner) not in said))
    for state in ITEM_STATES:
        kept = tuple(n for n in STATE_INTENTS.get(state, ()) if n != ITEM_INTENT)
        STATE_INTENTS[state] = (*kept, ITEM_INTENT) if on else kept


def _flat(text: str, joiner: str) -> str:
    """A phrase as compared with a decoy (no spaces where the script has none)."""
    return text.lower() if joiner else text.lower().replace(" ", "")


#: each language's decoys as shipped (set_item_intents takes the items' names out of them)
_DECOYS: dict[str, tuple[str, ...]] = {}


def intents_for_state(state: str) -> tuple[str, ...]:
    """The intents listened for in ``state`` (unknown states: repeat and help only)."""
    return STATE_INTENTS.get(state, ("repeat", "help"))


@dataclass(frozen=True)
class Word:
    word: str
    conf: float  # posterior of the word (share of the n-best that has it there)
    start_s: float = 0.0
    end_s: float = 0.0


@dataclass(frozen=True)
class Alternative:
    """One of the recognizer's n-best hypotheses (best first)."""

    text: str
    confidence: float  # its share of the posterior over the n-best (they sum to 1)
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Intent:
    name: str
    lang: str
    state: str
    text: str  # what was decoded (the best alternative)
    confidence: float  # posterior mass that chose it × its match score (0..1)
    slot: str | None = None  # change_language: the target language
    timings: dict[str, float] = field(default_factory=dict)
    alternatives: list[Alternative] = field(default_factory=list)


@dataclass(frozen=True)
class Rejected:
    reason: str  # nothing | no_command | ambiguous | low_confidence | too_long
    lang: str
    state: str
    text: str
    detail: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    alternatives: list[Alternative] = field(default_factory=list)


#: the unknown-word tokens of the models (never a word of a phrasing)
UNKNOWN = frozenset({"[unk]", "<UNK>", "<unk>", "<SPOKEN_NOISE>"})
#: the decoys' score in the ranking: speech for someone else
OTHER = "_other"
#: words that turn a sentence around, per language: 영수증 필요해요 and 영수증 필요 없어요
#: are a few jamo apart but mean the opposite. A phrasing and a hypothesis that differ in
#: it score :data:`NEGATION_MISMATCH` times their similarity (never a match on sound alone)
NEGATION = {
    "ko": re.compile(r"(?:^|\s)(?:안|못)(?=\s|$)|없|않|마세요|말아|아니|아뇨|싫"),
    "en": re.compile(r"\b(?:no|not|never|nope|nah)\b|n't\b|\bdont\b"),
    "zh": re.compile(r"不|没|别|別"),
}
NEGATION_MISMATCH = 0.7
_HANGUL = (0xAC00, 0xD7A3)


def _jamo(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if _HANGUL[0] <= code <= _HANGUL[1]:
            n = code - _HANGUL[0]
            out.append(chr(0x1100 + n // 588))
            out.append(chr(0x1161 + n % 588 // 28))
            if n % 28:
                out.append(chr(0x11A7 + n % 28))
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=8192)
def units(text: str, lang: str) -> tuple[str, ...]:
    """``text`` in the language's matching units: jamo (ko), characters (zh), words (en)."""
    if lang == "en":
        return tuple(re.findall(r"[a-z0-9']+", text.lower()))
    flat = "".join(text.split())
    return tuple(_jamo(flat) if lang == "ko" else flat)


def levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    """Edit distance of two unit sequences (Myers / Hyyrö bit-parallel: one pass over
    ``b`` with ``a``'s positions as bits, about ten times a Python DP table's speed)."""
    if not a or not b:
        return len(a) or len(b)
    m = len(a)
    peq: dict[str, int] = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask, last = (1 << m) - 1, 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score


@lru_cache(maxsize=65536)
def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """1 − Levenshtein distance / the longer length (1: the same units, 0: nothing alike)."""
    if not a or not b:
        return 0.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


def negated(text: str, lang: str) -> bool:
    """Whether ``text`` says no / not (:data:`NEGATION`)."""
    pattern = NEGATION.get(lang)
    return bool(pattern and pattern.search(text.lower()))


def _candidates(li: LanguageIntents, state: str,
                ) -> list[tuple[str, tuple[str, ...], bool]]:
    """(intent or OTHER, phrasing units, negated) for the state, in a fixed order."""
    out = [(name, units(p, li.lang), negated(p, li.lang)) for name in intents_for_state(state)
           for p in li.intents[name].phrasings]
    out += [(OTHER, units(d, li.lang), negated(d, li.lang)) for d in li.decoys]
    return out


def _scores(text: str, cands: list[tuple[str, tuple[str, ...], bool]],
            lang: str) -> dict[str, float]:
    said = units(text, lang)
    neg = negated(text, lang)
    n = len(said)
    best: dict[str, float] = {}
    for name, u, cand_neg in cands:
        top = best.get(name, -1.0)
        # the lengths alone bound the similarity: skip what cannot beat the best so far
        if 1.0 - abs(n - len(u)) / max(n, len(u), 1) <= top:
            continue
        s = similarity(said, u)
        if cand_neg != neg:
            s *= NEGATION_MISMATCH
        if s > top:
            best[name] = s
    return best


def _spoken(alt: Alternative) -> str:
    return " ".join(w for w in alt.text.split() if w not in UNKNOWN)


def match_alternatives(alternatives: Sequence[Alternative], lang: str, state: str,
                       min_score: float = 0.65, min_margin: float = 0.05,
                       min_conf: float = 0.5) -> Intent | Rejected:
    """Decide which intent (if any) the n-best ``alternatives`` express in ``state``.

    An alternative of nothing but unknown tokens (or nothing) scores for no intent; so
    does a decoy. The result carries the alternatives it was decided on.
    """
    li = LANGUAGES[lang]
    alts = [a for a in alternatives if a.confidence > 0] or list(alternatives)
    text = alts[0].text if alts else ""
    if not any(_spoken(a) for a in alts):
        return Rejected("nothing", lang, state, text, alternatives=list(alternatives))
    total = sum(a.confidence for a in alts) or 1.0
    cands = _candidates(li, state)
    names = [*intents_for_state(state), OTHER]
    mean = dict.fromkeys(names, 0.0)
    chose = dict.fromkeys(names, 0.0)
    for a in alts:
        w = a.confidence / total
        spoken = _spoken(a)
        scores = _scores(spoken, cands, lang) if spoken else {}
        if not scores:  # unknown tokens only: speech outside the grammar
            mean[OTHER] += w
            chose[OTHER] += w
            continue
        top = max(names, key=lambda n: (scores.get(n, 0.0), -names.index(n)))
        for n in names:
            mean[n] += w * scores.get(n, 0.0)
        chose[top] += w * scores.get(top, 0.0)
    ranked = sorted(names, key=lambda n: (-mean[n], names.index(n)))
    best, second = ranked[0], ranked[1]
    detail = f"{best}={mean[best]:.2f} {second}={mean[second]:.2f}"
    keep = {"alternatives": list(alternatives)}
    if best == OTHER or mean[best] < min_score:
        return Rejected("no_command", lang, state, text, detail, **keep)
    if mean[best] - mean[second] < min_margin:
        return Rejected("ambiguous", lang, state, text, detail, **keep)
    conf = chose[best]
    if conf <= min_conf:  # must exceed it: an even split between two intents is no choice
        return Rejected("low_confidence", lang, state, text, f"{conf:.2f} {detail}", **keep)
    spec = li.intents[best]
    # the slot from the alternatives that chose the intent, best first
    flat = [("".join(a.text.split()) if not li.joiner else f" {a.text.lower()} ") for a in alts]
    slot = next((spec.slots[k] for f in flat for k in sorted(spec.slots, key=len, reverse=True)
                 if (_flat(k, li.joiner) if not li.joiner else f" {k} ") in f), None)
    return Intent(best, lang, state, text, round(conf, 3), slot, **keep)


def posteriors(scores: Sequence[float], scale: float = 1.0) -> list[float]:
    """Vosk's n-best scores (higher is better) as shares of the posterior (softmax)."""
    if not scores:
        return []
    top = max(scores)
    e = [math.exp((s - top) * scale) for s in scores]
    total = sum(e)
    return [x / total for x in e]


def match(words: list[Word], lang: str, state: str, min_score: float = 0.65,
          min_margin: float = 0.05, min_conf: float = 0.5) -> Intent | Rejected:
    """:func:`match_alternatives` on one hypothesis; its words' confidences must reach
    ``min_conf`` too."""
    alt = Alternative(" ".join(w.word for w in words), 1.0, list(words))
    result = match_alternatives([alt], lang, state, min_score, min_margin, min_conf)
    low = min((w.conf for w in words if w.word not in UNKNOWN), default=1.0)
    if isinstance(result, Intent) and low < min_conf:
        return Rejected("low_confidence", lang, state, result.text, f"{low:.2f}",
                        alternatives=[alt])
    return result
