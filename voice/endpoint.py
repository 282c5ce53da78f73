"""Voice-activity endpointing: cut a frame stream into utterances (energy, or a trained VAD).

Per frame (``frame_ms``, 10 ms by default) a detector says whether the frame is voiced:

* ``energy`` (the default): the level in dBFS is compared with a tracked noise floor:
  voiced to start when the level is ``start_margin_db`` above the floor (and above
  ``min_level_db``), to stay when ``stay_margin_db`` above it. Frames with a very high
  zero-crossing rate and little energy over the floor (hiss, fricative-like noise) do not
  count as voiced. The floor follows the level slowly during silence, so a steady fan or
  white noise raises the threshold instead of triggering.
* ``silero``: Silero VAD's speech probability (:mod:`kiosk_voice.vad`, 32 ms windows; a
  frame takes the last complete window's) against ``speech_prob`` to start and
  ``stay_prob`` to stay, and the level at least ``vad_margin_db`` over the same noise floor
  (babble is speech to the model, but quieter than a shopper at the kiosk).
  ``kiosk bench vad`` measures both on the same noisy clips.

Around the detector everything is the same: speech starts after ``min_speech_ms`` of voiced
frames (short gaps allowed), keeps the ``pre_roll_ms`` before it, and ends after
``hangover_ms`` of unvoiced frames.

:class:`Endpointer` is push-based: ``push(frame)`` returns events — ``("start", audio)``
with the pre-roll and the onset frames, ``("audio", frame)`` while speech continues,
``("end", info)`` when the hangover has run out (or the utterance hit its maximum).
The recognizer streams the audio into Vosk as it comes, so at the end only the final
result is left to compute. Sample times are counted from the first frame pushed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from kiosk_voice.config import EndpointConfig


@dataclass(frozen=True)
class UtteranceEnd:
    start_sample: int  # first sample of the utterance audio (pre-roll included)
    onset_sample: int  # first frame judged voiced
    voiced_end_sample: int  # one past the last frame judged voiced
    end_sample: int  # sample at which the end was decided (voiced end + hangover)
    truncated: bool  # hit max_utterance_s


def frame_level_db(frame: np.ndarray) -> float:
    x = frame.astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    return 20 * np.log10(max(rms, 1.0) / 32768.0)


def zero_crossing_rate(frame: np.ndarray) -> float:
    if len(frame) < 2:
        return 0.0
    signs = np.signbit(frame)
    return float(np.count_nonzero(signs[1:] != signs[:-1])) / (len(frame) - 1)


#: the level is measured after a causal high-pass, x minus its moving average over this
#: many samples (16 kHz: about 160 Hz): rumble and brown noise, whose power is mostly
#: below that, hardly count; speech keeps its level
HPF_TAPS = 100
#: longest quiet stretch inside a speech onset (between syllables)
ONSET_GAP_MS = 150
#: share of voiced frames an onset keeps (scattered loud noise frames are no speech)
ONSET_DENSITY = 0.6


class Endpointer:
    """Push frames of int16 samples; get utterance start / audio / end events."""

    def __init__(self, cfg: EndpointConfig, rate: int = 16000) -> None:
        self.cfg = cfg
        self.rate = rate
        self.frame_len = rate * cfg.frame_ms // 1000
        self._pre: deque[np.ndarray] = deque(maxlen=max(1, cfg.pre_roll_ms // cfg.frame_ms))
        self._onset: list[np.ndarray] = []
        self._floor: float | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self.samples_seen = 0
        self._in_speech = False
        self._onset_voiced = 0
        self._quiet_ms = 0
        self._utt_start = 0
        self._voiced_end = 0
        self._utt_samples = 0
        self._onset_at = 0
        self._onset_gap = 0
        self._hist = np.zeros(HPF_TAPS - 1)
        self._vad = None
        if cfg.detector == "silero":
            from kiosk_voice.vad import SileroVad  # onnxruntime, only when configured

            self._vad = SileroVad(rate)

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def noise_floor_db(self) -> float:
        return self._floor if self._floor is not None else self.cfg.min_level_db

    def reset(self) -> None:
        """Drop any utterance in progress (e.g. while a prompt plays); keep the noise floor."""
        self._in_speech = False
        self._onset.clear()
        self._onset_voiced = 0
        self._onset_gap = 0
        self._pre.clear()
        if self._vad is not None:
            self._vad.reset()

    def push(self, samples: np.ndarray) -> list[tuple[str, object]]:
        """Feed any number of samples; returns the events they caused, in order."""
        buf = np.concatenate([self._pending, np.asarray(samples, dtype=np.int16)])
        events: list[tuple[str, object]] = []
        n = self.frame_len
        whole = len(buf) // n * n
        for off in range(0, whole, n):
            events.extend(self._frame(buf[off:off + n]))
        self._pending = buf[whole:]
        return events

    def _voiced(self, level: float, zcr: float, margin: float) -> bool:
        floor = self.noise_floor_db
        if self._vad is not None:
            # speech, and louder than the background: the store's babble is speech too,
            # but further from the microphone than the shopper
            prob = self.cfg.stay_prob if self._in_speech else self.cfg.speech_prob
            return (self._vad.probability >= prob
                    and level >= max(self.cfg.min_level_db, floor + self.cfg.vad_margin_db))
        if level < max(self.cfg.min_level_db, floor + margin):
            return False
        # a hiss-like frame barely above the floor is noise, not a voice
        return not (zcr > 0.45 and level < floor + margin + 6)

    def _frame(self, frame: np.ndarray) -> list[tuple[str, object]]:
        cfg = self.cfg
        ext = np.concatenate([self._hist, frame.astype(np.float64)])
        self._hist = ext[-(HPF_TAPS - 1):]
        high = ext[HPF_TAPS - 1:] - np.convolve(ext, np.full(HPF_TAPS, 1 / HPF_TAPS), "valid")
        level = frame_level_db(high)
        zcr = zero_crossing_rate(frame)
        if self._vad is not None:
            self._vad.push(frame)
        if self._floor is None:
            self._floor = level
        frame_start = self.samples_seen
        self.samples_seen += len(frame)
        events: list[tuple[str, object]] = []
        if not self._in_speech:
            voiced = self._voiced(level, zcr, cfg.start_margin_db)
            if voiced or self._onset:
                # an onset may have short dips (between syllables, in noise): it lasts
                # while the gaps stay under ONSET_GAP_MS
                self._onset.append(frame)
                self._onset_voiced += voiced
                self._onset_gap = 0 if voiced else self._onset_gap + cfg.frame_ms
                if self._onset_voiced * cfg.frame_ms >= cfg.min_speech_ms:
                    audio = np.concatenate([*self._pre, *self._onset])
                    self._onset_at = self.samples_seen - sum(len(f) for f in self._onset)
                    self._in_speech = True
                    self._utt_start = self.samples_seen - len(audio)
                    self._utt_samples = len(audio)
                    self._voiced_end = self.samples_seen
                    self._quiet_ms = 0
                    self._pre.clear()
                    self._onset.clear()
                    events.append(("start", audio))
                elif (self._onset_gap > ONSET_GAP_MS
                      or self._onset_voiced < ONSET_DENSITY * len(self._onset)):
                    # a blip too short to be speech: it becomes pre-roll
                    for f in self._onset:
                        self._pre.append(f)
                    self._onset.clear()
                    self._onset_voiced = 0
                    self._onset_gap = 0
                return events
            self._pre.append(frame)
            # track the floor near the noise's mean level (not its minimum: noise whose
            # level wanders, like brown noise, would cross a minimum + margin); never
            # during a possible onset, so speech does not raise its own threshold
            a = 2 * cfg.noise_adapt if level < self._floor else cfg.noise_adapt
            self._floor += a * (level - self._floor)
            return events
        events.append(("audio", frame))
        self._utt_samples += len(frame)
        if self._voiced(level, zcr, cfg.stay_margin_db):
            self._quiet_ms = 0
            self._voiced_end = frame_start + len(frame)
        else:
            self._quiet_ms += cfg.frame_ms
        truncated = self._utt_samples >= cfg.max_utterance_s * self.rate
        if self._quiet_ms >= cfg.hangover_ms or truncated:
            self._in_speech = False
            self._onset_voiced = 0
            events.append(("end", UtteranceEnd(self._utt_start, self._onset_at, self._voiced_end,
                                               self.samples_seen, truncated)))
        return events
