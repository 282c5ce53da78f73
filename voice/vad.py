"""A trained voice-activity detector: Silero VAD's ONNX model, run with onnxruntime.

The model file ships in the ``silero-vad`` wheel (``silero_vad/data/silero_vad.onnx``).
That package's own code needs PyTorch, which the kiosk does not install: the wheel is
installed without its dependencies (``setup.sh``) and only its data file is used, found
with importlib without importing the package. onnxruntime runs it on one thread.

The model takes 512 samples at 16 kHz (32 ms) at a time, after the last 64 samples of the
window before (its context), carries a recurrent state from window to window and returns
the probability that the window is speech. :class:`SileroVad` is push-based like the
endpointer: feed int16 samples of any length, read :attr:`SileroVad.probability` (the
last full window's). The state is the stream's: :meth:`SileroVad.reset` starts afresh
(the endpointer's reset, e.g. after a prompt).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

PACKAGE = "silero_vad"
MODEL_FILE = "data/silero_vad.onnx"
RATE = 16000
WINDOW = 512
CONTEXT = 64
STATE_SHAPE = (2, 1, 128)


class VadUnavailable(RuntimeError):
    """The trained VAD cannot run here (package or onnxruntime missing); one line why."""


def model_path() -> Path:
    """The ONNX file inside the installed silero-vad package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        raise VadUnavailable("silero-vad is not installed (pip install --no-deps silero-vad)")
    path = Path(spec.origin).resolve().parent / MODEL_FILE
    if not path.is_file():
        raise VadUnavailable(f"silero-vad has no {MODEL_FILE} ({path})")
    return path


@lru_cache(maxsize=1)
def _session():  # noqa: ANN202 - onnxruntime.InferenceSession
    """One inference session per process: it holds only the weights, the stream state is
    each :class:`SileroVad`'s own."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise VadUnavailable(f"onnxruntime is not installed ({exc})") from None
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path()), sess_options=opts,
                                        providers=["CPUExecutionProvider"])


class SileroVad:
    """Speech probability of a 16 kHz int16 stream, one 32 ms window at a time."""

    def __init__(self, rate: int = RATE) -> None:
        if rate != RATE:
            raise ValueError(f"the trained VAD takes {RATE} Hz audio, not {rate}")
        self.session = _session()
        self._sr = np.array(RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.probability = 0.0

    def push(self, samples: np.ndarray) -> float:
        """Feed samples; the speech probability of the last complete window."""
        x = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32) / 32768.0])
        whole = len(x) // WINDOW * WINDOW
        for off in range(0, whole, WINDOW):
            window = x[off:off + WINDOW]
            inp = np.concatenate([self._context, window])[np.newaxis, :]
            out, self._state = self.session.run(
                None, {"input": inp, "state": self._state, "sr": self._sr})
            self._context = window[-CONTEXT:]
            self.probability = float(out[0][0])
        self._pending = x[whole:]
        return self.probability
