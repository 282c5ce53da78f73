"""The ``pocketsphinx`` recognizer backend: CMU PocketSphinx with a JSGF grammar per state.

The pocketsphinx wheel ships an English acoustic model and the CMU pronouncing dictionary
(``package:pocketsphinx`` resolves to its ``model/`` folder): English voice commands run
wherever the wheel is installed, CI included, with no model to provision. The model
directory is searched for the acoustic model (the folder holding ``mdef``) and the
dictionary (the one ``*.dict`` file), so another PocketSphinx model laid out the same way
is configured like any model (``[voice.models.en] path = ..., backend = "pocketsphinx"``).

Everything but the engine is :class:`kiosk_voice.recognizer.Recognizer`'s: the grammar
phrases of every state (checked against the dictionary, unknown words split or refused at
start), endpointing, edge trimming, matching and timings. Each state's phrases become one
JSGF rule of alternatives, a phrase listed n times weighted ``/n/`` (the Vosk grammar's
repetition, here as a JSGF weight); one decoder holds every state's search.

Each utterance is decoded alone, whole, at its end, with the front end reset first (its
running cepstral mean would otherwise carry over: the same clip decoded twice in a row gave
two confidences), so a result never depends on the utterances before it and the same clip
gives the same result in any process. Word confidences are PocketSphinx's word
posteriors; the n-best list fills ``alternatives`` when asked for.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

from kiosk_voice.recognizer import Recognizer

#: frames per second of PocketSphinx's front end (a 10 ms shift)
FRAME_RATE = 100
#: decoder output that is not a word: silence, fillers, sentence marks
NOT_WORDS = {"<s>", "</s>", "<sil>"}
#: the grammar's unknown word (Vosk has one in its model; a grammar here does not): speech
#: that is no command decodes as a run of these everyday words, reported as the unknown
#: token, instead of being forced onto the nearest command. Short, frequent words whose
#: sounds cover most of English; none is a command word.
GARBAGE = tuple("""
    a and are at be but do for go had has he in is it like me my not of on or see she so
    that the there they this time was we what when where who will with you
    bread water weather today parking store morning thank very later nice find close""".split())
#: decoder settings: a low word insertion penalty makes a run of unknown words cost more
#: than a command's few words. Tuned on espeak-ng en-us, en-us+m3, en-gb at 150/185 wpm (12
#: commands) and 8 distractor sentences in 3 states: 82 % of commands, no false accept
#: (the default 0.65: 72 %, no false accept; without the unknown-word loop: about 90 % of
#: commands but a quarter of the distractors accepted). The tests use other voices.
DECODER_OPTIONS: dict[str, float] = {"wip": 0.03}
#: prior weight of the unknown-word loop against a phrase (each weighs 1)
GARBAGE_WEIGHT = 0.01


def model_files(model_dir: Path) -> tuple[Path, Path]:
    """(acoustic model folder, dictionary) inside ``model_dir``; FileNotFoundError when
    either is missing or ambiguous."""
    hmms = sorted(p.parent for p in model_dir.rglob("mdef"))
    dicts = sorted(p for p in model_dir.rglob("*.dict") if p.name != "noisedict")
    if len(hmms) != 1 or len(dicts) != 1:
        raise FileNotFoundError(f"{model_dir}: want one acoustic model (mdef) and one "
                                f"*.dict, found {len(hmms)} and {len(dicts)}")
    return hmms[0], dicts[0]


@lru_cache(maxsize=2)
def dictionary_words(path: Path) -> frozenset[str]:
    """The words of a PocketSphinx dictionary (``word(2)`` variants folded)."""
    with path.open(encoding="utf-8") as fh:
        return frozenset(line.split(maxsplit=1)[0].split("(")[0]
                         for line in fh if line.strip())


def garbage_for(grammar: list[str]) -> tuple[str, ...]:
    """The :data:`GARBAGE` words that are not words of the grammar (a decoded word is then
    either the grammar's or the unknown word's, never both)."""
    used = {w for phrase in grammar for w in phrase.split()}
    return tuple(w for w in GARBAGE if w not in used)


def jsgf(grammar: list[str], unk: str, garbage_weight: float = GARBAGE_WEIGHT) -> str:
    """A JSGF grammar of one public rule: the phrases as weighted alternatives; the unknown
    token, where the grammar lists it, becomes a loop of :func:`garbage_for` words."""
    counts = Counter(grammar)
    alts = [f"/{n}/ {phrase}" for phrase, n in counts.items() if phrase != unk]
    rules = ""
    if unk in counts:
        alts.append(f"/{garbage_weight}/ <unk>+")
        rules = f"<unk> = {' | '.join(garbage_for(grammar))};\n"
    return (f"#JSGF V1.0;\ngrammar kiosk;\npublic <command> = {' | '.join(alts)};\n"
            + rules)


class SphinxRecognizer(Recognizer):
    """Grammar-mode PocketSphinx for one language; see the module docstring."""

    def _vocabulary(self) -> frozenset[str]:
        self._garbage: dict[str, frozenset[str]] = {}  # grammar → its unknown words
        self._hmm, self._dict = model_files(self.model_dir)
        return dictionary_words(self._dict) | {self.unk}

    def _compile(self, grammar: list[str]) -> str:
        text = jsgf(grammar, self.unk)
        self._garbage[text] = frozenset(garbage_for(grammar))
        return text

    def _load_model(self) -> object:
        from pocketsphinx import Config, Decoder

        # no bestpath: its lattice pass over the unknown-word loop takes seconds
        config = Config(hmm=str(self._hmm), dict=str(self._dict), loglevel="FATAL",
                        bestpath=False, samprate=self.rate, **DECODER_OPTIONS)
        decoder = Decoder(config)
        for state, grammar in self.grammars.items():
            decoder.add_jsgf_string(state, grammar)
        return decoder

    def _open_recognizer(self) -> None:
        """No open pass: the wheel's language model decodes too slowly on a Pi for every
        utterance; the grammar with its unknown-word loop decides alone."""
        return None

    def _recognizer_for(self, state: str) -> _Utterance:
        search = state if state in self.grammars else "_other"
        return _Utterance(self.model, search, self.unk, self._garbage[self.grammars[search]])


class _Utterance:
    """One utterance through the shared decoder, behind the part of Vosk's
    ``KaldiRecognizer`` the Recognizer uses."""

    def __init__(self, decoder, search: str, unk: str,  # noqa: ANN001 - a Decoder
                 garbage: frozenset[str]) -> None:
        self.decoder = decoder
        self.search = search
        self.unk = unk
        self.garbage = garbage
        self.max_alternatives = 0
        self._audio = bytearray()

    def _word(self, text: str) -> str:
        """The word as the grammar has it: pronunciation variants folded, a word of the
        unknown-word loop reported as the unknown token."""
        word = text.split("(")[0]
        return self.unk if word in self.garbage else word

    def SetWords(self, on: bool) -> None:  # noqa: N802 - Vosk's name
        """Words always carry times and confidences here."""

    def SetMaxAlternatives(self, n: int) -> None:  # noqa: N802 - Vosk's name
        self.max_alternatives = n

    def AcceptWaveform(self, data: bytes) -> bool:  # noqa: N802 - Vosk's name
        self._audio += data
        return False

    def _decode(self) -> list[dict]:
        d = self.decoder
        d.activate_search(self.search)
        d.reinit_feat()  # the front end's running cepstral mean back to its start value
        d.start_utt()
        d.process_raw(bytes(self._audio), full_utt=True)
        d.end_utt()
        if d.hyp() is None:
            return []
        return [{"word": self._word(s.word), "conf": round(float(s.prob), 6),
                 "start": s.start_frame / FRAME_RATE, "end": (s.end_frame + 1) / FRAME_RATE}
                for s in d.seg() if s.word not in NOT_WORDS and s.word[:1].isalpha()]

    def FinalResult(self) -> str:  # noqa: N802 - Vosk's name
        words = self._decode()
        text = " ".join(w["word"] for w in words)
        if not self.max_alternatives:
            return json.dumps({"text": text, "result": words})
        # Vosk's n-best shape, with the best alone: PocketSphinx's n-best search over a
        # grammar with the unknown-word loop takes seconds per utterance
        return json.dumps({"alternatives": [{"text": text, "confidence": 1.0,
                                              "result": words}]})
