"""Intents per checkout state and language, and tolerant matching of decoded words to one.

Vosk's grammar is a bigram over the listed words, so a result can be a word salad, and
word boundaries in its output are unreliable (취소해 comes back as 취 소해). Matching
therefore works on the decoded words joined together:

* every intent has **key words** (one is enough: 신용카드, 카드, 삼성페이 …) chosen to be
  in the model's vocabulary and to survive espeak-ng voices/speeds (measured, see
  ``kiosk bench voice``), plus **phrasings** that put the keys into the grammar with the
  words around them a shopper says (카드로 결제할게요 → 카드 로 결제 할게요);
* a key is found as a substring of the joined characters (Korean, Chinese) or of the
  space-joined words (English);
* the result is rejected when no key is found, when keys of two intents are found and
  neither beats the other, when too many decoded words are neither keys nor filler words
  (a salad), or when the key words' confidence (``SetWords(True)``) is low;
* a refused result whose first word is doubtful (confidence below ``edge_conf``) and no
  decoy is matched once more without it: slow speech's long first syllable decodes as a
  word of its own. A sure word before the phrase is speech, never skipped.

Keys said alone are listed ``key_weight`` times in the grammar (kiosk_voice.recognizer), so the
short commands are not out-weighed by the words of the longer phrasings (취소 heard as
주세요). Everyday words (좋아요, 맞아요) are grammar words but no keys: speech that is not
for the kiosk decodes there and is refused.

Languages: ``ko`` (tested end to end with the real model), ``en`` and ``zh`` (same code,
grammar checked against the model's vocabulary when that model is installed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

INTENTS = ("pay_card", "pay_phone", "cancel", "help", "repeat", "yes", "no", "how_much",
           "receipt", "no_receipt", "change_language", "cancel_help", "put_aside")

#: which intents each checkout state listens for ("confirm" is the voice dialog's own
#: yes/no question, e.g. "cancel the basket?")
STATE_INTENTS: dict[str, tuple[str, ...]] = {
    "attract": ("help", "repeat", "change_language"),
    "shopping": ("pay_card", "pay_phone", "how_much", "help", "repeat", "cancel",
                 "change_language"),
    "payment": ("pay_card", "pay_phone", "cancel", "help", "repeat", "how_much",
                "change_language"),
    "declined": ("pay_card", "pay_phone", "cancel", "help", "repeat", "how_much"),
    "payment_unavailable": ("help", "repeat", "cancel"),
    "authorizing": ("repeat", "how_much"),
    "approved": ("repeat", "how_much"),
    "reversing": ("repeat",),
    "receipt": ("receipt", "no_receipt", "repeat", "help"),
    # while staff are called the shopper may withdraw their own help call, or put an
    # unknown item aside (the core accepts each only where it applies)
    "attendant_needed": ("repeat", "cancel_help", "put_aside"),
    "out_of_service": ("repeat",),
    "confirm": ("yes", "no", "repeat", "help"),
}


@dataclass(frozen=True)
class IntentSpec:
    """One intent in one language: key words, grammar phrasings, slot values."""

    name: str
    keys: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    #: key → slot value (change_language: the target language)
    slots: dict[str, str] = field(default_factory=dict)
    #: intents this one wins against when both are heard (영수증 필요 없어요: no_receipt)
    beats: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanguageIntents:
    lang: str
    intents: dict[str, IntentSpec]
    fillers: tuple[str, ...]  # words that may surround a key without counting as extra
    joiner: str  # "" for scripts without reliable spaces in the output, " " for English
    #: everyday words that are no command: speech that is not for the kiosk decodes as
    #: these instead of being forced onto a command word (the model never emits its
    #: unknown token in grammar mode); decoded decoys count against a result
    decoys: tuple[str, ...] = ()

    def phrases_for(self, state: str) -> list[str]:
        out: list[str] = []
        for name in intents_for_state(state):
            spec = self.intents[name]
            words = {w for p in (*spec.keys, *spec.phrases) for w in p.split()}
            for p in (*spec.keys, *spec.phrases):
                # a key inside a longer word of the same intent (아니 in 아니요) is heard
                # through that word: listing both splits the confidence between them
                if " " not in p and any(p in w and p != w for w in words):
                    continue
                if p not in out:
                    out.append(p)
        for f in self.decoys:
            if f not in out:
                out.append(f)
        return out

    def keys_for(self, state: str) -> list[str]:
        """The key words of the state's intents (each is also a grammar phrase alone)."""
        return [k for name in intents_for_state(state) for k in self.intents[name].keys]

    def fillers_for(self, state: str) -> set[str]:
        """Words that may surround a key: the non-key words of the state's phrasings."""
        out = set(self.fillers)
        for name in intents_for_state(state):
            spec = self.intents[name]
            for p in spec.phrases:
                out.update(w.lower() for w in p.split())
        return out


def _spec(name: str, keys: str, phrases: str = "", slots: dict[str, str] | None = None,
          beats: tuple[str, ...] = ()) -> IntentSpec:
    split = [s.strip() for s in keys.split("|") if s.strip()]
    more = [s.strip() for s in phrases.split("|") if s.strip()]
    return IntentSpec(name, tuple(split), tuple(more), slots or {}, beats)


KO = LanguageIntents("ko", {s.name: s for s in [
    _spec("pay_card", "신용카드|카드|카드로",
          "카드로 결제할게요|카드로 할게요|카드 결제|카드로 결제|신용카드 결제"),
    _spec("pay_phone", "카카오페이|네이버페이|삼성페이|페이|모바일",
          "카카오페이 할게요|카카오페이 결제|카카오페이 결제할게요|모바일 결제|삼성페이 할게요|"
          "네이버페이 할게요|페이 결제"),
    _spec("cancel", "취소", "취소 해 주세요|결제 취소|결제 취소 해 주세요|취소 할게요"),
    _spec("help", "도와줘|도움말", "도움말 주세요"),
    _spec("repeat", "다시|뭐라고", "다시 말해 주세요|다시 한번|다시 한번 말해 주세요"),
    # 좋아요 / 맞아요 alone are everyday words, not keys (distractor speech decoded as
    # them was accepted as yes): they stay in the grammar so such speech lands there
    _spec("yes", "네", "네 좋아요|네 맞아|좋아요|맞아요"),
    _spec("no", "아니", "아니요", beats=("yes",)),
    _spec("how_much", "얼마에요|얼마", "총 얼마에요"),
    _spec("receipt", "영수증", "영수증 주세요|영수증 출력 해 주세요"),
    _spec("no_receipt", "됐어요|없어요|아니",
          "영수증 필요 없어요|필요 없어요|아니요|됐습니다|영수증 됐어요", beats=("receipt",)),
    _spec("change_language", "잉글리시|차이니즈|코리안|영어|중국어|언어",
          "언어 변경|언어 바꿔 주세요|영어 바꿔 주세요|중국어 바꿔 주세요",
          slots={"잉글리시": "en", "영어": "en", "차이니즈": "zh", "중국어": "zh",
                 "코리안": "ko"}),
    # 도움 취소 / 필요 없어요 are what the prompt says: heard through espeak's voices
    # (호출 and 빼 are not, measured); 호출 취소 is the screen's button, for people
    _spec("cancel_help", "도움 취소|호출 취소", "도움 취소 해 주세요|호출 취소 해 주세요",
          beats=("cancel", "help")),
    _spec("put_aside", "필요 없어요|따로 둘게요",
          "이거 필요 없어요|상품 필요 없어요|이거 따로 둘게요"),
]}, fillers=("주세요", "할게요", "해", "로", "요"), joiner="", decoys=tuple("""
    감사합니다 고맙습니다 선생님 음료수 지하철 바나나 천천히 어떻게 나중에 그런데 그래서 몰라요
    사람 정말 물건 봉투 쿠폰 포인트 병원 은행 버스 창문 엄마 아빠 학생 이름 그냥 근데 조금
    많이 그거 저기 무슨 하나""".split()))

EN = LanguageIntents("en", {s.name: s for s in [
    _spec("pay_card", "card", "pay by card|credit card|card please"),
    _spec("pay_phone", "phone|mobile", "pay by phone|mobile pay|phone please"),
    _spec("cancel", "cancel", "cancel please|cancel payment"),
    _spec("help", "help", "help me|i need help|call staff"),
    _spec("repeat", "repeat|again", "say again|repeat please"),
    _spec("yes", "yes|okay", "yes please"),
    _spec("no", "no", "no thanks", beats=("yes",)),
    _spec("how_much", "how much|total", "what is the total"),
    _spec("receipt", "receipt", "receipt please|print receipt"),
    _spec("no_receipt", "no receipt", "no receipt please|no thanks", beats=("receipt",)),
    _spec("change_language", "language|english|chinese|korean", "change language",
          slots={"english": "en", "chinese": "zh", "korean": "ko"}),
    _spec("cancel_help", "cancel help", "cancel help please|please cancel help",
          beats=("cancel", "help")),
    _spec("put_aside", "put it aside|put aside", "put the item aside|put it aside please"),
]}, fillers=("please", "by", "the", "to"), joiner=" ")

ZH = LanguageIntents("zh", {s.name: s for s in [
    _spec("pay_card", "刷卡|银行卡|卡", "刷卡 支付|用 卡 付"),
    _spec("pay_phone", "手机|扫码|微信|支付宝", "手机 支付|扫码 支付"),
    _spec("cancel", "取消", "取消 支付"),
    _spec("help", "帮助|帮忙|工作人员", "请 帮忙|叫 工作人员"),
    _spec("repeat", "重复|再说", "再说 一遍|重复 一下"),
    _spec("yes", "是|对|好的", "是 的"),
    _spec("no", "不|不是", "不 要", beats=("yes",)),
    _spec("how_much", "多少钱|总共", "一共 多少钱"),
    _spec("receipt", "小票|收据", "要 小票|打印 小票"),
    _spec("no_receipt", "不要", "不要 小票|不用 了", beats=("receipt",)),
    _spec("change_language", "语言|英语|中文|韩语", "换 语言",
          slots={"英语": "en", "中文": "zh", "韩语": "ko"}),
    _spec("cancel_help", "取消 呼叫|取消 帮助", "请 取消 呼叫", beats=("cancel", "help")),
    _spec("put_aside", "放 一边|不要 了", "这个 不要 了|请 放 一边"),
]}, fillers=("请", "要", "用"), joiner="")

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


#: each language's decoys as shipped (set_item_intents takes the items' names out of them)
_DECOYS: dict[str, tuple[str, ...]] = {}


def intents_for_state(state: str) -> tuple[str, ...]:
    """The intents listened for in ``state`` (unknown states: repeat and help only)."""
    return STATE_INTENTS.get(state, ("repeat", "help"))


@dataclass(frozen=True)
class Word:
    word: str
    conf: float
    start_s: float = 0.0
    end_s: float = 0.0


@dataclass(frozen=True)
class Intent:
    name: str
    lang: str
    state: str
    text: str  # what was decoded
    confidence: float  # mean confidence of the key words
    slot: str | None = None  # change_language: the target language
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    reason: str  # nothing | no_command | ambiguous | word_salad | low_confidence
    lang: str
    state: str
    text: str
    detail: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def _flat(text: str, joiner: str) -> str:
    return text.lower() if joiner else text.lower().replace(" ", "")


def match(words: list[Word], lang: str, state: str, min_conf: float = 0.6,
          max_extra: int = 0, unk: str = "[unk]", extra_conf: float = 0.0,
          exact: bool = True, edge_conf: float = 0.0) -> Intent | Rejected:
    """Decide which intent (if any) the decoded ``words`` express in ``state``.

    With ``exact`` the decoded words, joined, must also be one of the intent's keys or
    phrasings, joined (a bigram salad that happens to contain a key is refused).
    """
    li = LANGUAGES[lang]
    text = " ".join(w.word for w in words)
    unknown = [w for w in words if w.word in (unk, "<UNK>", "[unk]", "<SPOKEN_NOISE>")]
    spoken = [w for w in words if w not in unknown]
    if not spoken:
        return Rejected("nothing", lang, state, text)
    result = _match(words, spoken, unknown, li, state, min_conf, max_extra, extra_conf, exact)
    # a doubtful first word may be the onset of the speech mis-decoded (slow speech: a long
    # first syllable comes out as a word of its own): when the whole is refused, try once
    # without it, and then the key words must be sure (never without a decoy: that is
    # evidence of speech for someone else)
    if (isinstance(result, Rejected) and len(spoken) > 1 and spoken[0].conf < edge_conf
            and spoken[0].word not in li.decoys):
        rest = _match(words, spoken[1:], unknown, li, state, max(min_conf, edge_conf),
                      max_extra, extra_conf, exact)
        if isinstance(rest, Intent):
            return rest
    return result


def _match(words: list[Word], spoken: list[Word], unknown: list[Word], li: LanguageIntents,
           state: str, min_conf: float, max_extra: int, extra_conf: float,
           exact: bool) -> Intent | Rejected:
    lang = li.lang
    text = " ".join(w.word for w in words)
    # the joined text, and for each character the index of the word it came from
    joined = ""
    owner: list[int] = []
    for i, w in enumerate(spoken):
        if li.joiner and joined:
            joined += li.joiner
            owner.append(-1)
        joined += w.word.lower()
        owner.extend([i] * len(w.word))
    hits: dict[str, list[tuple[int, int, str]]] = {}
    for name in intents_for_state(state):
        spec = li.intents[name]
        for key in spec.keys:
            k = key.lower()
            if not li.joiner:
                k = k.replace(" ", "")
            start = joined.find(k)
            while start >= 0:
                end = start + len(k)
                # English: whole words only
                if not li.joiner or ((start == 0 or joined[start - 1] == " ") and
                                     (end == len(joined) or joined[end] == " ")):
                    hits.setdefault(name, []).append((start, end, key))
                start = joined.find(k, start + 1)
    if not hits:
        return Rejected("no_command", lang, state, text)
    # a hit inside a longer hit of another intent does not count (영수증 in 영수증 …)
    winners = set(hits)
    for a in list(winners):
        beaten = {b for b in li.intents[a].beats if b in winners}
        winners -= beaten
    if len(winners) > 1:
        return Rejected("ambiguous", lang, state, text, ",".join(sorted(winners)))
    name = winners.pop()
    spans = [h for n in hits for h in hits[n]]  # every key heard covers its words
    key_words: set[int] = set()
    for s, e, _ in spans:
        key_words.update(owner[c] for c in range(s, e) if owner[c] >= 0)
    fillers = li.fillers_for(state)
    # a doubtful extra word (the lattice was unsure it is there at all) does not count
    extra = [w.word for i, w in enumerate(spoken) if i not in key_words and
             w.word not in fillers and w.conf >= extra_conf]
    extra += [w.word for w in unknown]
    if len(extra) > max_extra:
        return Rejected("word_salad", lang, state, text, " ".join(extra))
    own = {owner[c] for s, e, _ in hits[name] for c in range(s, e) if owner[c] >= 0}
    conf = sum(spoken[i].conf for i in own) / len(own)
    if conf < min_conf:
        return Rejected("low_confidence", lang, state, text, f"{conf:.2f}")
    spec = li.intents[name]
    if exact:
        # (a filler heard before the phrase is no longer skipped for being a filler: a
        # doubtful first word is, see match; a sure one let distractors through)
        said = _flat(" ".join(w.word for w in spoken), li.joiner)
        if said not in {_flat(p, li.joiner) for p in (*spec.keys, *spec.phrases)}:
            return Rejected("not_a_phrase", lang, state, text)
    slot = next((spec.slots[k] for _, _, k in hits[name] if k in spec.slots), None)
    return Intent(name, lang, state, text, round(conf, 3), slot)
