"""Audio sources: the microphone (sounddevice / PortAudio) or a WAV file in its place.

Both yield the same thing, int16 mono frames of ``block_ms`` at the configured rate, with
the configured gain applied, so everything after the source (endpointing, recognizer) is
the same code for a shopper at the kiosk and for a test WAV. The WAV source can pace
itself to real time (a frame is handed over when its last sample would have been
captured), or run as fast as the consumer takes frames (``realtime=False``, for tests and
benchmarks that use a simulated clock: sample index / rate).
"""

from __future__ import annotations

import queue
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from kiosk_voice.config import AudioConfig


def apply_gain(frame: np.ndarray, gain_db: float) -> np.ndarray:
    if gain_db == 0:
        return frame
    x = frame.astype(np.float32) * (10 ** (gain_db / 20))
    return np.clip(x, -32768, 32767).astype(np.int16)


class WavSource:
    """Frames of a 16-bit mono WAV (or of samples already in memory)."""

    def __init__(self, cfg: AudioConfig, path: Path | None = None,
                 samples: np.ndarray | None = None, realtime: bool = False) -> None:
        if (path is None) == (samples is None):
            raise ValueError("give a WAV path or samples")
        if path is not None:
            with wave.open(str(path), "rb") as w:
                if w.getnchannels() != 1 or w.getsampwidth() != 2:
                    raise ValueError(f"{path}: need 16-bit mono PCM")
                if w.getframerate() != cfg.sample_rate:
                    raise ValueError(f"{path}: {w.getframerate()} Hz, config wants "
                                     f"{cfg.sample_rate} Hz")
                samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        self.samples = np.asarray(samples, dtype=np.int16)
        self.cfg = cfg
        self.rate = cfg.sample_rate
        self.block = cfg.sample_rate * cfg.block_ms // 1000
        self.realtime = realtime

    def frames(self) -> Iterator[np.ndarray]:
        t0 = time.monotonic()
        for off in range(0, len(self.samples), self.block):
            frame = self.samples[off:off + self.block]
            if self.realtime:
                due = t0 + (off + len(frame)) / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield apply_gain(frame, self.cfg.gain_db)

    def close(self) -> None:
        pass


class MicSource:
    """Frames from a PortAudio input device; a bounded queue decouples the audio thread."""

    def __init__(self, cfg: AudioConfig, max_queue_s: float = 2.0) -> None:
        self.cfg = cfg
        self.rate = cfg.sample_rate
        self.block = cfg.sample_rate * cfg.block_ms // 1000
        self._q: queue.Queue[np.ndarray] = queue.Queue(
            maxsize=max(1, int(max_queue_s * 1000 / cfg.block_ms)))
        self.overflows = 0
        self._stream = None
        self._closed = False

    def _callback(self, indata, _frames, _time, status) -> None:
        if status:
            self.overflows += 1
        try:
            self._q.put_nowait(indata[:, 0].copy())
        except queue.Full:
            self.overflows += 1

    def open(self) -> MicSource:
        import sounddevice as sd

        device: int | str | None = self.cfg.device
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        self._stream = sd.InputStream(samplerate=self.rate, blocksize=self.block,
                                      channels=1, dtype="int16", device=device,
                                      callback=self._callback)
        self._stream.start()
        return self

    def frames(self) -> Iterator[np.ndarray]:
        if self._stream is None:
            self.open()
        while not self._closed:
            try:
                frame = self._q.get(timeout=0.5)
            except queue.Empty:
                continue
            yield apply_gain(frame, self.cfg.gain_db)

    def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


def list_input_devices() -> list[str]:
    """Names of PortAudio input devices (for `kiosk voice` diagnostics)."""
    import sounddevice as sd

    return [f"{i}: {d['name']}" for i, d in enumerate(sd.query_devices())
            if d["max_input_channels"] > 0]
