"""What shoppers say: test phrasings per intent and distractor sentences, per language.

Written as a shopper would speak to a checkout (polite and casual), **without looking at
the grammar** in :mod:`kiosk_voice.intents`: these are the test set's sentences, never
the recognizer's. Nothing outside ``sim/`` and the tests may import this module, and the
grammar must never be edited to contain a held-out sentence (see :mod:`.testset`).

``PHRASINGS[lang][intent]`` lists nine sentences; :mod:`.testset` holds out every third
one (indices 2, 5, 8). ``DISTRACTORS[lang]``: everyday sentences that are no command to a
kiosk, many sharing a word with one (카드, 영수증, 네, help, total …); every third is
held out too. ``STATE_OF`` is the checkout state in which each intent is said.
"""

from __future__ import annotations

#: the checkout state each intent is tested in (confirm: the voice dialog's yes/no)
STATE_OF = {
    "pay_card": "payment", "pay_phone": "payment", "cancel": "payment", "help": "payment",
    "repeat": "payment", "how_much": "shopping", "change_language": "shopping",
    "yes": "confirm", "no": "confirm", "receipt": "receipt", "no_receipt": "receipt",
    "cancel_help": "attendant_needed", "put_aside": "attendant_needed",
    "own_bag": "attendant_needed",
}

PHRASINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "ko": {
        "pay_card": ("카드로 계산할게요", "카드로 해 주세요", "신용카드로 낼게요", "카드 결제요",
                     "카드로 할래", "체크카드로 결제해 주세요", "카드로 계산해 주세요",
                     "카드로 낼게",
                     "카드 쓸게요"),
        "pay_phone": ("카카오페이로 결제할게요", "휴대폰으로 결제할게요", "핸드폰으로 낼게요",
                      "삼성페이로 할게", "네이버페이 되나요", "폰으로 계산할게요",
                      "모바일로 결제해 주세요", "페이로 할게요", "큐알로 결제할게요"),
        "cancel": ("취소할게요", "취소해 주세요", "그만할게요", "결제 취소", "전부 취소해 줘",
                   "안 살래요", "다 취소해 주세요", "취소할래", "이거 다 취소요"),
        "help": ("도와주세요", "직원 좀 불러 주세요", "여기 좀 도와주세요", "도움이 필요해요",
                 "직원 불러 줘", "잘 모르겠어요 도와주세요", "사람 좀 불러 주세요",
                 "저기요 도와주실래요", "도와줘"),
        "repeat": ("다시 말해 주세요", "뭐라고요", "한 번 더 말해 주세요", "잘 못 들었어요",
                   "다시 한번요", "뭐라고 했어요", "다시 말해 줘", "한번 더요", "다시요"),
        "yes": ("네", "예", "네 맞아요", "응", "좋아요", "네 그렇게 해 주세요", "그래요", "맞아",
                "네 할게요"),
        "no": ("아니요", "아뇨", "아니", "아니요 괜찮아요", "싫어요", "안 할래요", "아니에요",
               "아니 하지 마", "아니 안 돼요"),
        "how_much": ("얼마예요", "전부 얼마예요", "총 얼마죠", "다 해서 얼마예요", "얼마 나왔어요",
                     "가격이 얼마예요", "합계 얼마예요", "얼마야", "모두 얼마인가요"),
        "receipt": ("영수증 주세요", "영수증 뽑아 주세요", "영수증 필요해요",
                    "영수증 출력해 주세요",
                    "영수증 줘", "영수증 받을게요", "네 영수증 주세요", "영수증 있어야 돼요",
                    "영수증 부탁해요"),
        "no_receipt": ("영수증은 필요 없어요", "영수증 안 받을게요", "괜찮아요 안 주셔도 돼요",
                       "안 줘도 돼요", "영수증 됐어요", "버려 주세요", "필요 없어",
                       "영수증 안 받아요", "영수증 안 주셔도 돼요"),
        "change_language": ("영어로 바꿔 주세요", "중국어로 해 주세요", "언어 바꿀게요",
                            "영어로 해 줘", "다른 언어로 바꿔 주세요", "잉글리시",
                            "중국어로 변경해 주세요", "영어 돼요", "언어 변경해 주세요"),
        "cancel_help": ("도움 필요 없어요", "호출 취소해 주세요", "직원 안 불러도 돼요",
                        "이제 괜찮아요", "도움 취소할게요", "호출 안 해도 돼요", "직원 호출 취소",
                        "됐어요 혼자 할게요", "도움 취소"),
        "put_aside": ("이건 안 살게요", "이거 빼 주세요", "이 상품 빼고 할게요", "이건 필요 없어요",
                      "따로 둘게요", "이거 빼 줘", "이건 놔둘게요", "이 물건 빼 주세요",
                      "이건 안 사요"),
        "own_bag": ("제 가방 가져왔어요", "이거 제 장바구니예요", "제가 가져온 봉투예요",
                    "가방은 제 거예요", "장바구니 가져왔어", "이건 제 에코백이에요", "내 가방이야",
                    "봉투 제 거예요", "제 장바구니 올려놓은 거예요"),
    },
    "en": {
        "pay_card": ("I'll pay by card", "card please", "can I use my credit card",
                     "pay with card", "I want to pay with my card", "debit card",
                     "let me pay by card", "credit card please", "card"),
        "pay_phone": ("pay with my phone", "I'll use my phone", "mobile payment please",
                      "phone pay", "can I pay with my phone", "I'll tap my phone",
                      "pay by phone please", "I'll pay with the app", "phone"),
        "cancel": ("cancel", "cancel everything", "cancel my order", "I want to cancel",
                   "stop, cancel it", "never mind, cancel", "cancel the basket please",
                   "please cancel", "cancel the purchase"),
        "help": ("help", "I need help", "can someone help me", "call a staff member",
                 "help me please", "I need some help here", "can I get some help",
                 "get me an attendant", "somebody help"),
        "repeat": ("repeat that", "say that again", "sorry, what", "can you repeat",
                   "pardon", "one more time", "what did you say", "again please",
                   "repeat please"),
        "yes": ("yes", "yeah", "yes please", "sure", "okay", "yep", "that's right",
                "correct", "yes go ahead"),
        "no": ("no", "nope", "no thank you", "no thanks", "not now", "don't",
               "no, don't do that", "nah", "no I don't want that"),
        "how_much": ("how much", "how much is it", "what's the total", "how much do I owe",
                     "total please", "what do I owe", "what is my total",
                     "how much altogether", "tell me the total"),
        "receipt": ("receipt please", "I want a receipt", "print my receipt",
                    "can I have a receipt", "yes, a receipt", "give me the receipt",
                    "print the receipt", "I'd like a receipt", "receipt"),
        "no_receipt": ("no receipt", "I don't need a receipt", "no receipt thanks",
                       "skip the receipt", "don't print a receipt", "no paper please",
                       "I don't want a receipt", "no receipt needed", "no receipt for me"),
        "change_language": ("change the language", "switch to Korean", "Korean please",
                            "can I change language", "Chinese please", "language",
                            "switch language", "change to Chinese", "speak Korean"),
        "cancel_help": ("cancel help", "I don't need help anymore", "never mind the help",
                        "cancel the help call", "cancel my help request", "stop the help call",
                        "no help needed", "please cancel help", "cancel help, I'm fine"),
        "put_aside": ("put it aside", "I don't want this item", "remove this item",
                      "leave this one out", "skip this item", "take it off",
                      "put this aside please", "I'll leave it", "put the item aside"),
        "own_bag": ("I've got my own bag", "this bag is mine", "it's just my own bag",
                    "I brought a bag with me", "that's my shopping bag", "the bag is mine",
                    "it's my own bag", "that one is my bag", "I put my own bag there"),
    },
}

DISTRACTORS: dict[str, tuple[str, ...]] = {
    "ko": (
        "카드 어디서 만들어요", "영수증 버리는 곳이 어디예요", "친구한테 전화해야 돼요",
        "취소된 비행기 때문에 늦었어요", "네 번째 줄에 서 있어요", "도움이 많이 됐어요 고마워요",
        "다시 와야겠네요", "얼마 전에 이사했어요", "영어 공부 하고 있어요",
        "핸드폰 배터리가 없어요",
        "오늘 날씨가 좋네요", "점심 뭐 먹을까", "주차장이 어디에 있어요", "아이가 학교에 가요",
        "가방이 너무 무거워요", "우산 가져왔어요", "엄마한테 물어볼게요", "이 과자 맛있어요",
        "내일 또 올게요", "배고파 죽겠다", "카드 지갑을 잃어버렸어요", "직원 식당은 몇 층이에요",
    ),
    "en": (
        "where is the card shop", "my phone is dead", "I'll help you later",
        "can you hear me", "the weather is nice today", "how was your weekend",
        "my kids are at school", "where is the parking lot", "I forgot my umbrella",
        "this bag is heavy", "let me call my wife", "the total eclipse was amazing",
        "we cancelled our trip", "print the photos tomorrow", "yesterday I met a friend",
        "I like this song", "is the bakery still open", "the receipt printer at home is broken",
        "she speaks three languages", "no idea where my keys are", "we should go home soon",
        "that movie was great",
    ),
}
