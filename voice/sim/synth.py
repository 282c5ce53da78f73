"""Synthesized test speech: espeak-ng → sox (16 kHz mono), noise mixed in at a set SNR.

Used by the voice tests and ``kiosk bench voice`` (no hardware, no recordings to ship):

* :func:`speak` renders a sentence with an espeak-ng voice (``ko``, ``ko+f2``, ``ko+m3`` …)
  at a speed in words per minute and a pitch (espeak-ng ``-p``, 0-99), resampled by sox to
  16 kHz mono int16, optionally in a room (sox ``reverb``, reverberance 0-100);
* :func:`noise` makes white / pink / brown noise (sox ``synth``), babble (other espeak-ng
  sentences overlapped) or mains hum (50 Hz and its harmonics, as a fridge or a light
  ballast gives);
* :func:`utterance` pads the speech with silence, mixes noise at an SNR over the whole
  clip (noise in the pauses too, as a shop has) and returns the samples plus the index of
  the last voiced sample, the reference point for latency.

Every render is cached as a WAV under ``cache_dir`` keyed by its parameters; sox runs
with a fixed random seed (``-R``), so the noise, and every figure, is repeatable.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
NOISE_KINDS = ("white", "pink", "brown", "babble", "hum")
#: mains frequency of the hum noise and how many harmonics it carries
HUM_HZ = 50
HUM_HARMONICS = 12
BABBLE_TEXT = [
    ("ko+m1", "오늘은 시장에 사람이 정말 많았어요 그래서 늦었어요"),
    ("en+f3", "Did you see the game last night, it was a long one"),
    ("ko+f4", "내일 아침에 회의가 있으니까 일찍 와야 해요"),
    ("cmn", "我们明天早上一起去公园散步吧"),
]


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # int16, RATE Hz, mono
    speech_start: int  # first voiced sample of the speech
    speech_end: int  # one past the last voiced sample

    @property
    def duration_s(self) -> float:
        return len(self.samples) / RATE


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: want {RATE} Hz mono 16-bit")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    tmp.replace(path)


def speak(text: str, cache_dir: Path, voice: str = "ko", speed: int = 175,
          pitch: int | None = None, reverb: int = 0) -> np.ndarray:
    """espeak-ng speech for ``text``, 16 kHz mono int16, leading/trailing silence trimmed.

    ``pitch`` is espeak-ng's ``-p`` (None: the voice's own); ``reverb`` > 0 puts the
    speaker in a room (sox ``reverb`` with that reverberance, wet only after the dry).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    # the key of a plain render is unchanged, so existing caches stay valid
    parts = (text, voice, speed) if pitch is None and not reverb else (
        text, voice, speed, pitch, reverb)
    out = cache_dir / f"tts-{_key(*parts)}.wav"
    if not out.exists():
        cmd = ["espeak-ng", "-v", voice, "-s", str(speed)]
        if pitch is not None:
            cmd += ["-p", str(pitch)]
        espeak = subprocess.run([*cmd, "--stdout", text], capture_output=True, check=True)
        # a unique temporary name: parallel test workers may render the same clip
        tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.wav")
        room = ["reverb", str(reverb), "50", "80"] if reverb else []
        subprocess.run(["sox", "-q", "-V1", "-t", "wav", "-", "-r", str(RATE), "-c", "1",
                        "-b", "16", "-e", "signed-integer", str(tmp), *room],
                       input=espeak.stdout, check=True)
        tmp.replace(out)
    return _trim(read_wav(out))


def _trim(x: np.ndarray, thresh: int = 120) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x.astype(np.int32)) > thresh)
    if len(loud) == 0:
        return x[:0]
    return x[loud[0]:loud[-1] + 1]


def noise(kind: str, seconds: float, cache_dir: Path, seed: int = 1) -> np.ndarray:
    """Noise of ``kind`` (see NOISE_KINDS), float64 with unit RMS."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    n = int(seconds * RATE)
    if kind == "babble":
        rnd = np.random.default_rng(seed)
        mix = np.zeros(n)
        for voice, text in BABBLE_TEXT:
            s = speak(text, cache_dir, voice, 160).astype(np.float64)
            reps = np.tile(s, n // max(1, len(s)) + 2)
            off = int(rnd.integers(0, len(s)))
            mix += reps[off:off + n]
        x = mix
    elif kind == "hum":
        rnd = np.random.default_rng(seed)
        t = np.arange(n) / RATE
        x = sum(np.sin(2 * np.pi * HUM_HZ * h * t + rnd.uniform(0, 2 * np.pi)) / h
                for h in range(1, HUM_HARMONICS + 1))
        x = np.asarray(x, dtype=np.float64)
    else:
        out = cache_dir / f"noise-{kind}-{seed}-{n}.wav"
        if not out.exists():
            tmp = out.with_suffix(".tmp.wav")
            subprocess.run(["sox", "-q", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16",
                            str(tmp), "synth", f"{n / RATE:.4f}", f"{kind}noise", "vol", "0.3"],
                           check=True, env={"PATH": "/usr/bin:/bin", "SOX_OPTS": ""})
            tmp.replace(out)
        x = read_wav(out).astype(np.float64)
        x = x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))
    x = x - x.mean()
    rms = float(np.sqrt(np.mean(x ** 2))) or 1.0
    return x / rms


def utterance(text: str, cache_dir: Path, voice: str = "ko", speed: int = 175,
              noise_kind: str | None = None, snr_db: float = 10.0, lead_s: float = 0.6,
              tail_s: float = 0.8, level_dbfs: float = -22.0, seed: int = 1,
              floor_dbfs: float = -70.0, pitch: int | None = None, reverb: int = 0) -> Clip:
    """Speech padded with silence, optionally with noise at ``snr_db`` over the whole clip.

    SNR is speech RMS (over the speech itself) to noise RMS. The speech is scaled to
    ``level_dbfs`` RMS first, as a microphone at arm's length with fixed gain gives.
    A "clean" clip still has a faint white floor (``floor_dbfs``): a real microphone
    never delivers digital silence.
    """
    speech = speak(text, cache_dir, voice, speed, pitch, reverb).astype(np.float64)
    speech_rms = float(np.sqrt(np.mean(speech ** 2))) or 1.0
    speech *= (32768 * 10 ** (level_dbfs / 20)) / speech_rms
    lead, tail = int(lead_s * RATE), int(tail_s * RATE)
    total = lead + len(speech) + tail
    x = np.zeros(total)
    x[lead:lead + len(speech)] = speech
    x += np.random.default_rng(seed).standard_normal(total) * 32768 * 10 ** (floor_dbfs / 20)
    if noise_kind:
        nz = noise(noise_kind, total / RATE + 0.1, cache_dir, seed)[:total]
        target = float(np.sqrt(np.mean(speech ** 2))) / 10 ** (snr_db / 20)
        x += nz * target
    x = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    return Clip(x, lead, lead + len(speech))
