"""The real Korean Vosk model on synthesized speech, through our endpointing.

Speech: espeak-ng voices → sox 16 kHz mono (tests/voice/speech.py). The WAV source
replaces the microphone; everything after it is the service's code path.
"""

from __future__ import annotations

import numpy as np
import pytest
from kiosk_voice.audio import WavSource
from kiosk_voice.intents import Intent, Rejected

pytestmark = pytest.mark.voice


def heard(rec, clip, state):
    results = rec.decode(clip.samples, state)
    return [r for r in results if not (isinstance(r, Rejected) and r.reason == "nothing")]


@pytest.mark.parametrize(("text", "state", "intent"), [
    # the grammar of many phrasings (issue 20) decodes this one voice's 신용카드 as a salad
    # (직원 좀 카드) that the matcher refuses: a known regression against the key-word
    # grammar, outweighed on the test set (kiosk bench voice); strict: noticed when fixed
    pytest.param("신용카드", "payment", "pay_card", marks=pytest.mark.xfail(
        strict=True, reason="decoded as 직원 좀 카드 with the phrasings grammar")),
    ("카카오페이", "payment", "pay_phone"),
    ("취소", "payment", "cancel"),
    ("도와줘", "payment", "help"),
    ("다시", "payment", "repeat"),
    ("얼마에요", "payment", "how_much"),
    ("차이니즈", "payment", "change_language"),
    ("네", "confirm", "yes"),
    ("아니", "confirm", "no"),
    ("영수증", "receipt", "receipt"),
    ("됐어요", "receipt", "no_receipt"),
    ("도움 취소", "attendant_needed", "cancel_help"),
    ("필요 없어요", "attendant_needed", "put_aside"),
])
def test_each_intent_from_synthesized_korean(ko_recognizer, speech, text, state, intent):
    results = heard(ko_recognizer, speech.say(text, voice="ko+f2", speed=175), state)
    assert [getattr(r, "name", r) for r in results] == [intent]
    r = results[0]
    assert r.state == state and r.lang == "ko" and 0 < r.confidence <= 1
    assert r.timings["endpoint_s"] > r.timings["voiced_end_s"]


@pytest.mark.parametrize("voice", ["ko", "ko+f2", "ko+m3"])
@pytest.mark.parametrize("text,intent", [("카카오페이", "pay_phone"), ("얼마에요", "how_much")])
def test_several_voices(ko_recognizer, speech, voice, text, intent):
    results = heard(ko_recognizer, speech.say(text, voice=voice, speed=175), "payment")
    assert [getattr(r, "name", r) for r in results] == [intent]


@pytest.mark.parametrize("noise", ["pink", "babble"])
def test_in_noise_at_10_db(ko_recognizer, speech, noise):
    clip = speech.say("신용카드", voice="ko+f2", speed=175, noise=noise, snr_db=10)
    assert [getattr(r, "name", r) for r in heard(ko_recognizer, clip, "payment")] == ["pay_card"]


@pytest.mark.parametrize("text", ["어제 친구를 만났어요", "주차장이 어디에 있어요",
                                  "우리 아이가 학교에 가요", "이 사과 얼마나 신선해요"])
@pytest.mark.parametrize("state", ["payment", "receipt"])
def test_distractor_sentences_never_act_unasked(ko_recognizer, speech, text, state):
    """Speech for someone else may be heard as a harmless intent (repeat, how much) but
    never as one that pays or calls staff without being asked back first."""
    from kiosk.services.voice.confirm import needs_confirmation

    results = ko_recognizer.decode(speech.say(text, voice="ko+f2", speed=175).samples, state)
    acted = [r.name for r in results if isinstance(r, Intent) and
             r.name not in ("repeat", "how_much") and
             not needs_confirmation(r.name, r.confidence, False,
                                    ko_recognizer.cfg.match.sure_above)]
    assert not acted


def test_grammar_follows_the_state(ko_recognizer, speech):
    clip = speech.say("영수증", voice="ko+f2", speed=175)
    assert [r.name for r in heard(ko_recognizer, clip, "receipt")] == ["receipt"]
    assert not [r for r in heard(ko_recognizer, clip, "payment") if isinstance(r, Intent)]


def test_wav_file_source_gives_the_microphone_path_the_same_frames(ko_recognizer, speech,
                                                                   tmp_path):
    from kiosk_voice.config import AudioConfig

    path = tmp_path / "cmd.wav"
    clip = speech.wav("카카오페이", path, voice="ko+f2", speed=175)
    src = WavSource(AudioConfig(), path=path)
    frames = list(src.frames())
    assert {len(f) for f in frames[:-1]} == {160}
    assert np.array_equal(np.concatenate(frames), clip.samples)
    ko_recognizer.set_state("payment")
    ko_recognizer.pause()
    ko_recognizer.resume()
    got = [r for f in [*frames, np.zeros(8000, dtype=np.int16)]
           if (r := ko_recognizer.feed(f)) is not None]
    assert [r.name for r in got] == ["pay_phone"]


def test_paused_recognizer_hears_nothing(ko_recognizer, speech):
    clip = speech.say("취소", voice="ko+f2", speed=175)
    ko_recognizer.set_state("payment")
    ko_recognizer.pause()
    assert ko_recognizer.feed(clip.samples) is None
    ko_recognizer.resume()


def test_wav_in_the_wrong_format_is_a_clear_error(tmp_path):
    import wave

    from kiosk_voice.config import AudioConfig

    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0" * 640)
    with pytest.raises(ValueError, match="mono"):
        WavSource(AudioConfig(), path=path)


def test_portaudio_is_usable():
    from kiosk_voice.audio import list_input_devices

    assert isinstance(list_input_devices(), list)  # no microphone on CI: possibly empty
