"""The trained VAD (Silero's ONNX model from the silero-vad wheel, onnxruntime) behind the
endpointer: speech found in noise, pre-roll kept, reset (a prompt, barge-in) honoured."""

from __future__ import annotations

import numpy as np
import pytest
from kiosk_voice.config import EndpointConfig, VoiceConfig
from kiosk_voice.endpoint import Endpointer
from kiosk_voice.intents import Intent
from kiosk_voice.recognizer import Recognizer
from kiosk_voice.sim.synth import RATE, utterance
from kiosk_voice.vad import WINDOW, SileroVad, model_path
from pydantic import ValidationError

pytestmark = pytest.mark.voice

SILERO = EndpointConfig(detector="silero")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    cache = tmp_path_factory.mktemp("speech-vad")
    return lambda text, **kw: utterance(text, cache, "ko+f2", 170, **kw)


def events(cfg: EndpointConfig, samples: np.ndarray, ep: Endpointer | None = None):
    ep = ep or Endpointer(cfg, RATE)
    out = []
    x = np.concatenate([samples, np.zeros(RATE // 2, dtype=np.int16)])
    for off in range(0, len(x), RATE // 100):
        out += [(k, p) for k, p in ep.push(x[off:off + RATE // 100]) if k != "audio"]
    return out


def test_the_model_ships_in_the_wheel_and_tells_speech_from_silence(clip) -> None:
    assert model_path().name == "silero_vad.onnx"
    c = clip("카드로 결제할게요")
    vad = SileroVad()
    lead = vad.push(c.samples[:c.speech_start - WINDOW])
    mid = c.speech_start + (c.speech_end - c.speech_start) // 2
    speech = vad.push(c.samples[c.speech_start - WINDOW:mid])
    assert lead < SILERO.stay_prob < SILERO.speech_prob < speech
    vad.reset()
    assert vad.probability == 0.0


def test_speech_in_5_db_white_noise_starts_an_utterance_with_its_pre_roll(clip) -> None:
    """The energy endpointer's 6 dB start margin leaves half of such clips unstarted
    (``kiosk bench vad``); the trained VAD hears the speech through the noise."""
    c = clip("영수증 주세요", noise_kind="white", snr_db=5.0)
    evs = events(SILERO, c.samples)
    starts = [p for k, p in evs if k == "start"]
    ends = [p for k, p in evs if k == "end"]
    assert len(ends) == 1 and len(starts) == 1
    end = ends[0]
    assert end.onset_sample < c.speech_end and end.voiced_end_sample > c.speech_start
    # the pre-roll: the utterance audio begins 500 ms before the first voiced frame
    assert end.onset_sample - end.start_sample == SILERO.pre_roll_ms * RATE // 1000
    assert len(starts[0]) >= SILERO.pre_roll_ms * RATE // 1000


def test_reset_drops_the_utterance_in_progress_and_the_next_is_heard(clip) -> None:
    """What a prompt starting (or a barge-in) does: nothing half heard survives."""
    first, second = clip("카드로 결제할게요"), clip("취소")
    ep = Endpointer(SILERO, RATE)
    half = first.speech_start + (first.speech_end - first.speech_start) // 2
    got = []
    for off in range(0, half, 160):
        got += [k for k, _ in ep.push(first.samples[off:off + 160])]
    assert "start" in got and "end" not in got
    ep.reset()
    ends = [p for k, p in events(SILERO, second.samples, ep) if k == "end"]
    assert len(ends) == 1
    assert ends[0].onset_sample >= half + second.speech_start - second.speech_start // 2


def test_the_recognizer_runs_on_the_trained_vad() -> None:
    base = VoiceConfig()
    cfg = base.model_copy(update={"endpoint": SILERO})
    rec = Recognizer(base.model_dir("ko"), "ko", cfg)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        c = utterance("취소", Path(tmp), "ko+f2", 170)
        results = rec.decode(c.samples, "payment")
    assert [r.name for r in results if isinstance(r, Intent)] == ["cancel"]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValidationError, match="stay_prob must not exceed speech_prob"):
        VoiceConfig(endpoint={"detector": "silero", "speech_prob": 0.3, "stay_prob": 0.5})
    with pytest.raises(ValidationError):
        EndpointConfig(detector="webrtc")
