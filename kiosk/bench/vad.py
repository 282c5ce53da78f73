"""``kiosk bench vad``: the energy endpointer against the trained VAD, on the same noisy clips.

Korean commands (several espeak-ng voices) in noise at clean / 20 / 10 / 5 dB SNR, each
clip through the whole recognizer (real Korean model) twice: with
``[voice.endpoint] detector = "energy"`` and with ``"silero"``; nothing else differs.
Per detector and SNR:

* **started**: share of clips where an utterance started while the command was spoken
  (the issue's "never start" failure is ``1 - started``);
* **understood**: share of clips whose only intent is the right one (the figure a shopper
  feels; the matcher and grammar are the same for both detectors);
* **onset_ms_median**: how late the utterance's first voiced frame is after the speech
  starts (negative: early, noise taken for speech);
* **false_starts_per_min**: utterances started on noise alone (each noise kind, at the
  level it has in the 10 dB clips), per minute;
* **vad_ms_per_s**: wall time of the endpointer alone per second of audio.

The last line is one JSON object: ``{"energy": {...}, "silero": {...}}``, each with the
figures above keyed by SNR (``clean``, ``20db``, ``10db``, ``5db``) where they depend on it.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from kiosk_voice.config import EndpointConfig, VoiceConfig
from kiosk_voice.endpoint import Endpointer
from kiosk_voice.intents import Intent
from kiosk_voice.recognizer import Recognizer
from kiosk_voice.sim.synth import NOISE_KINDS, RATE, noise, utterance

DETECTORS = ("energy", "silero")
SNRS: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)
VOICES = ("ko+f2", "ko+m3")
SPEED = 170
#: hum where the generator has it; white and babble always
NOISE_SET = tuple(k for k in ("white", "babble", "hum", "pink") if k in NOISE_KINDS)[:3]
#: (state, spoken text, expected intent)
COMMANDS = [
    ("payment", "카드로 결제할게요", "pay_card"), ("payment", "취소", "cancel"),
    ("payment", "도와줘", "help"), ("confirm", "네", "yes"), ("confirm", "아니요", "no"),
    ("receipt", "영수증 주세요", "receipt"), ("payment", "얼마에요", "how_much"),
    ("payment", "삼성페이 할게요", "pay_phone"),
]
NOISE_ONLY_S = 20.0


def _snr_key(snr: float | None) -> str:
    return "clean" if snr is None else f"{snr:g}db"


def _endpoint(cfg: EndpointConfig, samples: np.ndarray) -> tuple[list[tuple[int, int]], float]:
    """(onset, voiced end) sample pairs of every utterance, and the wall time taken."""
    ep = Endpointer(cfg, RATE)
    block = RATE // 100
    spans: list[tuple[int, int]] = []
    # the recognizer's decode appends the same silence, so a clip ending in speech ends
    samples = np.concatenate([samples, np.zeros(RATE // 2, dtype=np.int16)])
    t0 = time.perf_counter()
    for off in range(0, len(samples), block):
        for kind, info in ep.push(samples[off:off + block]):
            if kind == "end":
                spans.append((info.onset_sample, info.voiced_end_sample))
    return spans, time.perf_counter() - t0


def bench_vad(verbose: bool = False) -> int:
    base = VoiceConfig()
    recs = {d: Recognizer(base.model_dir("ko"), "ko", base.model_copy(update={
        "endpoint": base.endpoint.model_copy(update={"detector": d})})) for d in DETECTORS}
    out: dict[str, dict] = {d: {"started": {}, "understood": {}, "onset_ms_median": {}}
                            for d in DETECTORS}
    vad_time = dict.fromkeys(DETECTORS, 0.0)
    audio_s = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-vad-") as tmp:
        cache = Path(tmp)
        for snr in SNRS:
            kinds = [None] if snr is None else list(NOISE_SET)
            counts = {d: [0, 0, 0] for d in DETECTORS}  # started, understood, clips
            onsets: dict[str, list[float]] = {d: [] for d in DETECTORS}
            for kind in kinds:
                for voice in VOICES:
                    for state, text, want in COMMANDS:
                        clip = utterance(text, cache, voice, SPEED, noise_kind=kind,
                                         snr_db=snr or 0.0)
                        audio_s += clip.duration_s
                        for d in DETECTORS:
                            rec = recs[d]
                            spans, wall = _endpoint(rec.cfg.endpoint, clip.samples)
                            vad_time[d] += wall
                            hit = [s for s in spans
                                   if s[0] < clip.speech_end and s[1] > clip.speech_start]
                            results = [r for r in rec.decode(clip.samples, state)
                                       if not getattr(r, "reason", "") == "nothing"]
                            ok = (len(results) == 1 and isinstance(results[0], Intent)
                                  and results[0].name == want)
                            c = counts[d]
                            c[0] += bool(hit)
                            c[1] += ok
                            c[2] += 1
                            if hit:
                                onsets[d].append((hit[0][0] - clip.speech_start) / RATE * 1000)
                            if verbose and not ok:
                                got = [getattr(r, "name", None) or r.reason for r in results]
                                print(f"  {d} {_snr_key(snr)} {kind} {voice} {text}: {got}")
            key = _snr_key(snr)
            for d in DETECTORS:
                started, understood, n = counts[d]
                out[d]["started"][key] = round(started / n, 3)
                out[d]["understood"][key] = round(understood / n, 3)
                out[d]["onset_ms_median"][key] = (round(statistics.median(onsets[d]))
                                                  if onsets[d] else None)
                print(f"{d:7} {key:6} started {started}/{n}  understood {understood}/{n}")
        # false starts: noise alone, at the level it has in a 10 dB clip
        ref = utterance(COMMANDS[0][1], cache, VOICES[0], SPEED)
        speech = ref.samples[ref.speech_start:ref.speech_end].astype(np.float64)
        level = float(np.sqrt(np.mean(speech ** 2))) / 10 ** (10 / 20)
        for d in DETECTORS:
            starts = 0
            for kind in NOISE_SET:
                x = noise(kind, NOISE_ONLY_S, cache, seed=5) * level
                spans, wall = _endpoint(recs[d].cfg.endpoint,
                                        np.clip(x, -32768, 32767).astype(np.int16))
                starts += len(spans)
                vad_time[d] += wall
            minutes = NOISE_ONLY_S * len(NOISE_SET) / 60
            out[d]["false_starts_per_min"] = round(starts / minutes, 2)
            out[d]["vad_ms_per_s"] = round(vad_time[d] * 1000
                                           / (audio_s + NOISE_ONLY_S * len(NOISE_SET)), 2)
            print(f"{d:7} false starts {starts} in {minutes:.1f} min of "
                  f"{'/'.join(NOISE_SET)} noise; {out[d]['vad_ms_per_s']} ms per s of audio")
    out["noise_kinds"] = list(NOISE_SET)
    out["clips_per_snr"] = {_snr_key(s): len(COMMANDS) * len(VOICES) *
                            (1 if s is None else len(NOISE_SET)) for s in SNRS}
    print(json.dumps(out))
    return 0
