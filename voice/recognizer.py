"""Recognizer: endpointed audio → Vosk ``KaldiRecognizer`` in grammar mode → Intent | Rejected.

One :class:`Recognizer` per language. At construction it reads the model's vocabulary and
builds the grammar of **every** checkout state, so a word the model lacks (and that cannot
be split into known words) stops the service at start with :class:`OutOfVocabulary`
naming it. The Vosk model is loaded once; a fresh ``KaldiRecognizer`` for the state is made for
each utterance (about 1 ms), so a result never depends on the utterance before it.

The engine sits behind four methods (``_vocabulary``, ``_compile``, ``_load_model``,
``_recognizer_for``): another engine is a subclass that overrides them, registered by name in
the entry-point group ``kiosk_voice.recognizers`` (:mod:`kiosk_voice.backends`; this class is
``vosk``). Its per-utterance decoder speaks the small part of Vosk's ``KaldiRecognizer`` used
here (``SetWords``, ``AcceptWaveform``, ``FinalResult`` JSON), so endpointing, matching and
timings are this one code path for every engine.

Audio is pushed with :meth:`Recognizer.feed` in frames of any length (the microphone's
10 ms blocks or a whole WAV). The endpointer decides where utterances start and end;
utterance audio streams into Vosk as it arrives, so at the end only the final lattice
pass and the matching are left (``endpoint_to_intent_ms``). Every result carries timings:

* ``voiced_end_s`` / ``endpoint_s``: sample times (from the first sample fed) of the last
  voiced frame and of the end decision (voiced end + hangover);
* ``endpoint_to_intent_ms``: wall time from the end decision to the result;
* ``decode_ms``: wall time spent in Vosk for this utterance, ``audio_ms`` its length.

**Determinism.** Kaldi dithers the audio before its features (``--dither`` defaults to 1
and the models' ``mfcc.conf`` leave it on) with noise drawn from the C library's global
``rand()``: a clip's scores depended on how much had been decoded before it in the
process, so the same clip could give another result in another process. The generator is
re-seeded (``srand``) at each utterance's start, on the recognizer's one thread: the
same audio gives the same n-best, scores and intent in any process.
"""

from __future__ import annotations

import ctypes
import json
import time
from pathlib import Path

import numpy as np
from kiosk_voice.config import VoiceConfig
from kiosk_voice.endpoint import Endpointer, UtteranceEnd
from kiosk_voice.grammar import build_grammar, grammar_json, vocabulary
from kiosk_voice.intents import (
    LANGUAGES,
    STATE_INTENTS,
    Alternative,
    Intent,
    Rejected,
    Word,
    match_alternatives,
    posteriors,
)
from kiosk_voice.models import verify_model

Result = Intent | Rejected
#: grammar for states without their own intent list (intents_for_state's fallback)
OTHER_STATE = "_other"
#: a word must reach this far into the voiced part to count
EDGE_S = 0.03
#: the seed of Kaldi's dither noise at each utterance (see the module docstring)
DITHER_SEED = 1


def reseed_dither() -> None:
    """Restart the C library's ``rand()``, which Kaldi's dither draws from."""
    ctypes.CDLL(None).srand(DITHER_SEED)


class Recognizer:
    """Grammar-mode speech → intents for one language; see the module docstring."""

    def __init__(self, model_dir: Path | str, lang: str, cfg: VoiceConfig | None = None,
                 unk: str | None = None, model: object | None = None) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"no intents for language {lang!r}")
        self.cfg = cfg or VoiceConfig()
        self.lang = lang
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise FileNotFoundError(f"voice model for {lang!r} not found at {self.model_dir}"
                                    f" (install it: kiosk voice install-model SOURCE"
                                    f" --lang {lang})")
        entry = self.cfg.models.get(lang)
        self.unk = unk or (entry.unk if entry else "[unk]")
        self.rate = self.cfg.audio.sample_rate
        vocab = self._vocabulary()
        self.grammars: dict[str, str] = {}
        if self.cfg.verify_on_load:
            verify_model(self.model_dir)
        for state in (*STATE_INTENTS, OTHER_STATE):
            li = LANGUAGES[lang]
            phrases = li.phrases_for(state)
            weights = dict.fromkeys(li.keys_for(state), self.cfg.match.key_weight)
            grammar, _ = build_grammar(phrases, vocab, self.unk, model=str(self.model_dir),
                                       weights=weights)
            self.grammars[state] = self._compile(grammar)
        t0 = time.perf_counter()
        self.model = model if model is not None else self._load_model()
        self.model_load_s = time.perf_counter() - t0
        self.state = "payment"
        self.endpointer = Endpointer(self.cfg.endpoint, self.rate)
        self._rec = None
        self._open = None  # the open-vocabulary pass of the utterance (decode "open"/"both")
        self._decode_s = 0.0
        self._utt_audio = 0
        self.listening = True

    # -- the engine (a backend of another engine overrides these four) --------------------

    def _vocabulary(self) -> frozenset[str]:
        """Every word the model can output."""
        return vocabulary(self.model_dir)

    def _compile(self, grammar: list[str]) -> str:
        """One state's grammar phrases in the engine's form."""
        return grammar_json(grammar)

    def _load_model(self) -> object:
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        return Model(str(self.model_dir))

    # -- control -------------------------------------------------------------------------

    def _recognizer_for(self, state: str):
        """A fresh KaldiRecognizer for ``state`` (about 1 ms to make): every utterance is
        decoded alone, so a result never depends on what was said before it."""
        from vosk import KaldiRecognizer

        grammar = self.grammars.get(state) or self.grammars[OTHER_STATE]
        reseed_dither()
        rec = KaldiRecognizer(self.model, self.rate, grammar)
        rec.SetWords(True)
        rec.SetMaxAlternatives(self.cfg.match.max_alternatives)
        return rec

    def _open_recognizer(self):
        """A fresh open-vocabulary KaldiRecognizer (the model's own vocabulary and language
        model: an unseen sentence decodes as the words said, not as command words), or
        None where the engine has no open pass. Made before the grammar pass's, both
        drawing their dither noise from the one re-seeded generator in a fixed order."""
        from vosk import KaldiRecognizer

        reseed_dither()
        rec = KaldiRecognizer(self.model, self.rate)
        rec.SetWords(True)
        rec.SetMaxAlternatives(self.cfg.match.max_alternatives)
        return rec

    def set_state(self, state: str) -> None:
        """Listen for the intents of ``state`` from the next utterance on."""
        self.state = state

    def pause(self) -> None:
        """Stop listening (a prompt is playing); drops any utterance in progress."""
        self.listening = False
        self._abort()

    def resume(self) -> None:
        self.listening = True

    def _abort(self) -> None:
        self.endpointer.reset()
        self._rec = self._open = None

    # -- audio ---------------------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> Result | None:
        """Push int16 samples; the result of an utterance that ended in them, else None.

        If several utterances end within one call (a whole WAV at once), the last result
        is returned; :meth:`feed_all` returns all of them.
        """
        results = self.feed_all(samples)
        return results[-1] if results else None

    def feed_all(self, samples: np.ndarray) -> list[Result]:
        if not self.listening:
            self.endpointer.samples_seen += len(samples)
            return []
        out: list[Result] = []
        for kind, payload in self.endpointer.push(samples):
            if kind == "start":
                mode = self.cfg.match.decode
                self._open = self._open_recognizer() if mode != "grammar" else None
                self._rec = (self._recognizer_for(self.state)
                             if self._open is None or mode == "both" else None)
                self._decode_s = 0.0
                self._utt_audio = 0
                self._accept(payload)
            elif kind == "audio":
                self._accept(payload)
            elif kind == "end":
                out.append(self._finish(payload))
        return out

    def _accept(self, audio) -> None:
        t0 = time.perf_counter()
        data = np.ascontiguousarray(audio, dtype="<i2").tobytes()
        if self._rec is not None:
            self._rec.AcceptWaveform(data)
        if self._open is not None:
            self._open.AcceptWaveform(data)
        self._decode_s += time.perf_counter() - t0
        self._utt_audio += len(audio)

    def _finish(self, end: UtteranceEnd) -> Result:
        t_end = time.perf_counter()
        raws = [json.loads(r.FinalResult()) for r in (self._rec, self._open) if r is not None]
        self._rec = self._open = None
        # a word decoded wholly from the pre-roll or the hangover (times are from the
        # utterance's first sample) is the noise around the speech, not speech
        onset = (end.onset_sample - end.start_sample) / self.rate
        offset = (end.voiced_end_sample - end.start_sample) / self.rate
        m = self.cfg.match
        window = (onset + EDGE_S, offset - EDGE_S)
        passes = [match_alternatives(alternatives_of(raw, m.nbest_scale, window), self.lang,
                                     self.state, m.min_score, m.min_margin, m.min_conf)
                  for raw in raws]
        result = passes[0] if len(passes) == 1 else agreed(*passes)
        if end.truncated and isinstance(result, Intent):
            result = Rejected("too_long", self.lang, self.state, result.text,
                              alternatives=result.alternatives)
        t_done = time.perf_counter()
        self._decode_s += t_done - t_end
        timings = {
            "utterance_start_s": end.start_sample / self.rate,
            "voiced_end_s": end.voiced_end_sample / self.rate,
            "voiced_ms": (end.voiced_end_sample - end.onset_sample) / self.rate * 1000,
            "endpoint_s": end.end_sample / self.rate,
            "endpoint_to_intent_ms": (t_done - t_end) * 1000,
            "decode_ms": self._decode_s * 1000,
            "audio_ms": self._utt_audio / self.rate * 1000,
            "decided_wall": t_done,
        }
        result.timings.update(timings)
        return result

    def decode(self, samples: np.ndarray, state: str | None = None,
               flush_s: float = 0.5) -> list[Result]:
        """Every result in a clip, fed as 10 ms frames (as the microphone does), with
        ``flush_s`` of silence appended so a clip ending in speech still ends."""
        if state is not None:
            self.set_state(state)
        self.endpointer = Endpointer(self.cfg.endpoint, self.rate)
        block = self.rate * self.cfg.audio.block_ms // 1000
        pad = np.zeros(int(flush_s * self.rate), dtype=np.int16)
        x = np.concatenate([np.asarray(samples, dtype=np.int16), pad])
        out: list[Result] = []
        for off in range(0, len(x), block):
            out.extend(self.feed_all(x[off:off + block]))
        return out


def agreed(grammar: Result, open_: Result) -> Result:
    """One result from the grammar pass's and the open pass's (decode ``both``).

    The grammar pass forces every sound onto the state's command words, so a sentence it
    was not written for comes out as a salad of them; the open pass hears the words said,
    but mishears short commands. An intent stands only when both found it: then with the
    lower of the two confidences. Two different intents are ``ambiguous``; an intent of
    the open pass alone was nearly a command (``low_confidence``: asked again at once);
    one of the grammar pass alone is the salad above (``no_command``: a quiet miss, as
    speech for someone else is). Never guessed.
    """
    gi, oi = isinstance(grammar, Intent), isinstance(open_, Intent)
    if gi and oi and grammar.name == open_.name:
        return Intent(grammar.name, grammar.lang, grammar.state, open_.text,
                      min(grammar.confidence, open_.confidence),
                      grammar.slot or open_.slot, alternatives=open_.alternatives)
    if gi and oi:
        return Rejected("ambiguous", grammar.lang, grammar.state, open_.text,
                        f"grammar={grammar.name} open={open_.name}",
                        alternatives=open_.alternatives)
    if oi:
        return Rejected("low_confidence", open_.lang, open_.state, open_.text,
                        f"open pass only: {open_.name}", alternatives=open_.alternatives)
    if gi:
        return Rejected("no_command", grammar.lang, grammar.state, open_.text,
                        f"grammar pass only: {grammar.name}",
                        alternatives=open_.alternatives)
    return open_ if open_.reason != "nothing" else grammar


def alternatives_of(raw: dict, scale: float = 1.0,
                    window: tuple[float, float] | None = None) -> list[Alternative]:
    """Vosk's final result (n-best or a single best) as :class:`Alternative` s, best first.

    The n-best scores become posteriors (:func:`~kiosk_voice.intents.posteriors`); a
    word's confidence is the posterior mass of the alternatives that have the same word
    overlapping it in time (Vosk gives no word confidences with alternatives). Words
    outside ``window`` (seconds from the utterance's first sample) are dropped. Same
    input, same output: ties keep Vosk's order, no set is iterated.
    """
    if "alternatives" in raw:
        items = [(a.get("text", ""), float(a.get("confidence", 0.0)), a.get("result", []))
                 for a in raw["alternatives"]]
        shares = posteriors([c for _, c, _ in items], scale)
    else:  # one best (max alternatives 0): words carry Vosk's own confidence
        items = [(raw.get("text", ""), 1.0, raw.get("result", []))]
        shares = [1.0]

    def inside(w: dict) -> bool:
        return window is None or (w.get("end", 0.0) > window[0] and
                                  w.get("start", 0.0) < window[1])

    kept = [[w for w in ws if inside(w)] for _, _, ws in items]
    out = []
    for share, ws in zip(shares, kept, strict=True):
        words = []
        for w in ws:
            if "conf" in w:
                conf = float(w["conf"])
            else:
                conf = sum(sh for sh, other in zip(shares, kept, strict=True)
                           if any(o["word"] == w["word"] and o["start"] < w["end"] and
                                  o["end"] > w["start"] for o in other))
            words.append(Word(w["word"], round(min(conf, 1.0), 6), w.get("start", 0.0),
                              w.get("end", 0.0)))
        out.append(Alternative(" ".join(x.word for x in words), share, words))
    return out
