"""Synthesized Korean test speech for the voice tests (espeak-ng → sox 16 kHz mono).

A thin layer over :mod:`kiosk_voice.sim.synth` (which ``kiosk bench voice`` uses too): one cache
directory per test session, several voices/speeds, noise at a set SNR.
"""

from __future__ import annotations

from pathlib import Path

from kiosk_voice.sim.synth import Clip, utterance, write_wav

VOICES = ("ko", "ko+f2", "ko+m3")
SPEEDS = (140, 175, 210)


class Speech:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir

    def say(self, text: str, voice: str = "ko+f2", speed: int = 175,
            noise: str | None = None, snr_db: float = 10.0) -> Clip:
        return utterance(text, self.cache_dir, voice, speed, noise_kind=noise, snr_db=snr_db)

    def wav(self, text: str, path: Path, **kw) -> Clip:
        clip = self.say(text, **kw)
        write_wav(path, clip.samples)
        return clip
