"""The same clip gives the same result in any process (issue 20, item 1).

Kaldi dithers the audio with noise from the C library's global ``rand()``: before the
recognizer re-seeded it per utterance, a clip's n-best scores depended on what the
process had decoded before, so another process (or the same one later) could hear
something else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_voice.sim.synth import write_wav

pytestmark = pytest.mark.voice

#: a fresh process that decodes only the clip
DECODE = """
import json, sys
from pathlib import Path
from kiosk_voice.config import VoiceConfig
from kiosk_voice.recognizer import Recognizer
from kiosk_voice.sim.synth import read_wav
from tests.voice_match.test_determinism import summary
rec = Recognizer(VoiceConfig().model_dir("ko"), "ko")
print(json.dumps(summary(rec.decode(read_wav(Path(sys.argv[1])), "payment"))))
"""


def summary(results) -> list:
    """Everything a result says, floats exact."""
    return [[getattr(r, "name", None), getattr(r, "reason", None), r.text,
             getattr(r, "confidence", None),
             [[a.text, a.confidence, [[w.word, w.conf] for w in a.words]]
              for a in r.alternatives]] for r in results]


def test_the_same_clip_gives_the_same_result_in_another_process(ko_recognizer, speech,
                                                                 tmp_path):
    clip = speech.say("카드로 계산할게요", voice="ko+m2", speed=160, noise="white", snr_db=10)
    other = speech.say("영수증 주세요", voice="ko+f3", speed=190)
    wav = tmp_path / "clip.wav"
    write_wav(wav, clip.samples)
    ko_recognizer.decode(other.samples, "receipt")  # this process has decoded before
    here = summary(ko_recognizer.decode(clip.samples, "payment"))
    out = subprocess.run([sys.executable, "-c", DECODE, str(wav)], capture_output=True,
                         text=True, check=True, timeout=300, cwd=Path(__file__).parents[2])
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert here and here[0][4], "no n-best alternatives"
    assert json.loads(json.dumps(here)) == there
