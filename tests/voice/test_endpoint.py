"""Endpointing on synthesized speech: where utterances start and end, noise ignored."""

from __future__ import annotations

import numpy as np
import pytest
from kiosk_voice.config import EndpointConfig, VoiceConfig
from kiosk_voice.endpoint import Endpointer
from kiosk_voice.sim.synth import noise
from pydantic import ValidationError

pytestmark = pytest.mark.voice


def run(samples: np.ndarray, cfg: EndpointConfig | None = None, frame: int = 160):
    ep = Endpointer(cfg or EndpointConfig())
    events = []
    x = np.concatenate([samples, np.zeros(16000, dtype=np.int16)])
    for off in range(0, len(x), frame):
        events += [e for e in ep.push(x[off:off + frame]) if e[0] != "audio"]
    return events


@pytest.mark.parametrize("noise_kind", [None, "pink", "babble"])
def test_one_utterance_ends_one_hangover_after_the_speech(speech, noise_kind):
    clip = speech.say("신용카드", noise=noise_kind, snr_db=10)
    cfg = EndpointConfig()
    events = run(clip.samples, cfg)
    assert [e[0] for e in events] == ["start", "end"]
    end = events[1][1]
    assert end.start_sample <= clip.speech_start  # the pre-roll holds the onset
    assert end.end_sample - end.voiced_end_sample == cfg.hangover_ms * 16
    # the last voiced frame is the speech's end, to within two frames; in noise the
    # faint end of the last syllable may drown (up to 200 ms)
    early = 2 * 160 if noise_kind is None else 3200
    assert -early <= end.voiced_end_sample - clip.speech_end <= 2 * 160
    assert not end.truncated


def test_frame_size_of_the_source_does_not_matter(speech):
    clip = speech.say("취소")
    a = run(clip.samples, frame=160)
    b = run(clip.samples, frame=1000)
    assert a[1][1] == b[1][1]


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_steady_noise_alone_is_no_utterance(speech, kind):
    x = noise(kind, 3.0, speech.cache_dir) * 32768 * 10 ** (-30 / 20)
    assert run(x.astype(np.int16)) == []


def test_two_utterances_in_one_stream(speech):
    a, b = speech.say("네"), speech.say("취소")
    events = run(np.concatenate([a.samples, b.samples]))
    assert [e[0] for e in events] == ["start", "end", "start", "end"]


def test_hangover_is_capped_at_250_ms():
    with pytest.raises(ValidationError):
        EndpointConfig(hangover_ms=300)
    with pytest.raises(ValidationError):
        VoiceConfig(endpoint={"start_margin_db": 3, "stay_margin_db": 5})
