"""espeak-ng speech: real audio per language, interruption, volume."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from kiosk_voice.tts import RATE, EspeakEngine, Speaker, TtsError, WavSink, apply_gain

from kiosk.services.voice.prompts import Prompts, sample_prompts

pytestmark = pytest.mark.voice


def wav_samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


@pytest.mark.parametrize("locale", ("en", "zh_Hans", "ko"))
def test_espeak_speaks_every_language(locale: str) -> None:
    engine = EspeakEngine()
    for text in sample_prompts(locale):
        pcm = np.frombuffer(engine.synth(text, locale), dtype="<i2")
        seconds = len(pcm) / RATE
        assert seconds > 0.5, (locale, text)
        assert rms(pcm) > 300  # speech, not silence


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(TtsError, match="no espeak-ng voice"):
        EspeakEngine().synth("bonjour", "fr")


def test_speech_is_written_in_real_time_and_reported(tmp_path: Path) -> None:
    events: list[bool] = []
    speaker = Speaker(EspeakEngine(), WavSink(tmp_path), on_speaking=events.append)
    utt = speaker.say(Prompts("ko").t("Sorry, please say that again."), "ko")
    assert speaker.speaking
    assert speaker.wait(30)
    assert events == [True, False]
    assert not utt.interrupted and utt.first_audio is not None
    played = wav_samples(speaker.sink.played[0][1])
    # written in real time: playing took about as long as the audio lasts
    assert utt.ended - utt.started >= len(played) / RATE * 0.8


def test_stop_interrupts_at_once(tmp_path: Path) -> None:
    long_text = " ".join(sample_prompts("en") * 3)
    full = len(EspeakEngine().synth(long_text, "en")) // 2
    speaker = Speaker(EspeakEngine(), WavSink(tmp_path))
    utt = speaker.say(long_text, "en")
    while utt.first_audio is None:
        time.sleep(0.01)
    time.sleep(0.3)
    took_ms = speaker.stop()
    assert not speaker.speaking and utt.interrupted
    assert took_ms > 0
    played = len(wav_samples(speaker.sink.played[0][1]))
    assert 0 < played < full / 4
    # a new prompt interrupts the one playing, too
    first = speaker.say(long_text, "en")
    second = speaker.say("Payment approved.", "en")
    assert first.interrupted and speaker.wait(30) and not second.interrupted


def test_volume_scales_the_samples_and_resets(tmp_path: Path) -> None:
    speaker = Speaker(EspeakEngine(), WavSink(tmp_path), default_volume=0.5)
    levels = {}
    for volume in (1.0, 0.25):
        speaker.set_volume(volume)
        speaker.say("Your total is twenty dollars.", "en")
        speaker.wait(30)
        levels[volume] = rms(wav_samples(speaker.sink.played[-1][1]))
    assert levels[0.25] == pytest.approx(levels[1.0] / 4, rel=0.05)
    assert speaker.volume_up() == 0.35 and speaker.set_volume(7) == 1.0
    speaker.reset_volume()
    assert speaker.volume == 0.5


def test_gain_is_exact_on_int16() -> None:
    pcm = np.array([1000, -1000, 32767, -32768], dtype="<i2").tobytes()
    out = np.frombuffer(apply_gain(pcm, 0.5), dtype="<i2")
    assert list(out) == [500, -500, 16383, -16384]


def test_headset_takes_all_speech_when_plugged(tmp_path: Path) -> None:
    speaker = Speaker(EspeakEngine(), WavSink(tmp_path / "spk", "speaker"),
                      WavSink(tmp_path / "hs", "headset"))
    speaker.say("Welcome.", "en")
    speaker.wait(30)
    speaker.headset_plugged = True
    utt = speaker.say("Your total is $20.30.", "en", private=True)
    speaker.wait(30)
    assert utt.sink == "headset"
    assert [label for label, _ in speaker.sink.played] == ["Welcome."]
    assert [label for label, _ in speaker.headset_sink.played] == ["Your total is $20.30."]


def test_stop_from_another_thread_while_synthesizing(tmp_path: Path) -> None:
    speaker = Speaker(EspeakEngine(), WavSink(tmp_path))
    speaker.say(" ".join(sample_prompts("zh_Hans") * 4), "zh_Hans")
    t = threading.Thread(target=speaker.stop)
    t.start()
    t.join(5)
    assert speaker.wait(5) and not speaker.speaking
