"""Grammar building: the model's vocabulary, re-splitting and refusing unknown words."""

from __future__ import annotations

import json
import struct

import pytest
from kiosk_voice.grammar import (
    OutOfVocabulary,
    _read_fst_symbols,
    build_grammar,
    check_words,
    split_word,
    vocabulary,
)
from kiosk_voice.intents import LANGUAGES, STATE_INTENTS

pytestmark = pytest.mark.voice


def test_korean_vocabulary_is_the_symbol_table_of_gr_fst(ko_model_dir):
    assert not (ko_model_dir / "graph" / "words.txt").exists()  # why we read Gr.fst
    vocab = vocabulary(ko_model_dir)
    assert len(vocab) > 400_000
    assert {"결제", "할게요", "카드", "<UNK>", "<SPOKEN_NOISE>"} <= vocab
    assert "결제할게요" not in vocab and "[unk]" not in vocab


def test_out_of_vocabulary_words_are_split_into_known_pieces(ko_model_dir):
    vocab = vocabulary(ko_model_dir)
    assert split_word("결제할게요", vocab) == ["결제", "할게요"]
    assert split_word("취소해", vocab) == ["취소", "해"]  # not 취 소해: longer lead piece
    mapping = check_words(["카드", "결제할게요"], vocab)
    assert mapping == {"카드": ["카드"], "결제할게요": ["결제", "할게요"]}
    grammar, _ = build_grammar(["카드로 결제할게요", "취소"], vocab, "<UNK>")
    assert grammar == ["카드로 결제 할게요", "취소", "<UNK>"]


def test_weighted_phrases_are_listed_that_many_times(ko_model_dir):
    vocab = vocabulary(ko_model_dir)
    grammar, _ = build_grammar(["취소", "취소 해 주세요", "주세요"], vocab, "<UNK>",
                               weights={"취소": 3})
    assert grammar == ["취소", "취소", "취소", "취소 해 주세요", "주세요", "<UNK>"]


def test_recognizer_weighs_the_keys_of_each_state(ko_recognizer):
    import json

    payment = json.loads(ko_recognizer.grammars["payment"])
    weight = ko_recognizer.cfg.match.key_weight
    assert payment.count("취소") == weight and payment.count("취소 해 주세요") == 1
    confirm = json.loads(ko_recognizer.grammars["confirm"])
    assert confirm.count("네") == weight and confirm.count("네 좋아요") == 1


def test_a_word_that_cannot_be_split_is_refused_by_name(ko_model_dir):
    vocab = vocabulary(ko_model_dir)
    with pytest.raises(OutOfVocabulary) as err:
        build_grammar(["카드", "뷁쒦"], vocab, "<UNK>")
    assert "'뷁쒦'" in str(err.value) and err.value.words == ["뷁쒦"]


def test_recognizer_refuses_to_start_naming_the_word(ko_model_dir, monkeypatch):
    from kiosk_voice import intents
    from kiosk_voice.recognizer import Recognizer

    ko = intents.KO
    bad = intents._spec("help", "도와줘|뷁쒦")
    patched = intents.LanguageIntents("ko", {**ko.intents, "help": bad}, ko.joiner,
                                      ko.decoys)
    monkeypatch.setitem(intents.LANGUAGES, "ko", patched)
    with pytest.raises(OutOfVocabulary, match="뷁쒦"):
        Recognizer(ko_model_dir, "ko", model=object())  # refused before the model loads


def test_every_korean_state_grammar_is_in_vocabulary(ko_model_dir):
    vocab = vocabulary(ko_model_dir)
    for state in STATE_INTENTS:
        grammar, _ = build_grammar(LANGUAGES["ko"].phrases_for(state), vocab, "<UNK>")
        assert all(w in vocab for phrase in grammar for w in phrase.split())


def _fake_model(tmp_path, words):
    graph = tmp_path / "graph"
    graph.mkdir(parents=True)
    lines = ["<eps> 0", "[unk] 1"] + [f"{w} {i + 2}" for i, w in enumerate(words)]
    (graph / "words.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_english_and_chinese_grammars_build_against_a_model_vocabulary(tmp_path, lang):
    """The en/zh models are provisioned by the site; same code, checked on a words file."""
    li = LANGUAGES[lang]
    words = sorted({w for s in STATE_INTENTS for p in li.phrases_for(s) for w in p.split()})
    model = _fake_model(tmp_path, words)
    vocab = vocabulary(model)
    for state in STATE_INTENTS:
        grammar, _ = build_grammar(li.phrases_for(state), vocab, "[unk]")
        assert grammar[-1] == "[unk]"
        assert json.loads(json.dumps(grammar)) == grammar
    missing = words[len(words) // 2]
    small = _fake_model(tmp_path / "small", [w for w in words if w != missing])
    with pytest.raises(OutOfVocabulary, match=missing):
        for state in STATE_INTENTS:
            build_grammar(li.phrases_for(state), vocabulary(small), "[unk]")


def test_fst_symbol_table_reader_on_a_written_table(tmp_path):
    """The OpenFST binary layout the reader expects, written out field by field."""
    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<i", len(b)) + b

    syms = ["<eps>", "!SIL", "가게", "결제", "<UNK>"]
    table = (struct.pack("<i", 2125658996) + s("words.txt") + struct.pack("<q", len(syms))
             + struct.pack("<q", len(syms))
             + b"".join(s(w) + struct.pack("<q", i) for i, w in enumerate(syms)))
    head = (struct.pack("<i", 2125659606) + s("ngram") + s("standard") + struct.pack("<i", 4)
            + struct.pack("<i", 3) + struct.pack("<Q", 0) + struct.pack("<qqq", 0, 1, 0))
    path = tmp_path / "Gr.fst"
    path.write_bytes(head + table + table + b"\0" * 64)
    assert _read_fst_symbols(path) == syms
    path.write_bytes(b"not an fst at all")
    with pytest.raises(ValueError, match="not an OpenFST"):
        _read_fst_symbols(path)
