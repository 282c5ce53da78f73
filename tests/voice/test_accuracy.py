"""Accuracy sweep (slow): the test set's tune part through the bench's evaluation.

Floors, not targets: a regression guard for the recognizer, grammar and matching (the
held-out figures come from ``kiosk bench voice`` only; no test looks at them). The
thresholds were chosen on this part for precision (measured with them: 0.372 clean, 0.090
at 10 dB, 0.026 wrong intents each, 0.053 of distractors accepted), so wrong intents and
false accepts have ceilings as well as understanding a floor.
"""

from __future__ import annotations

import pytest
from kiosk_voice.sim.testset import commands, distractor_items

from kiosk.bench.voice import evaluate

# the sweep is `kiosk bench voice`'s evaluation (~90 s of CPU): opt-in, KIOSK_BENCH_TESTS=1
pytestmark = [pytest.mark.voice, pytest.mark.slow, pytest.mark.bench]


def test_tune_part_clean_and_noisy(ko_recognizer, speech):
    clean = evaluate(ko_recognizer, commands("ko", "tune", "clean", per_phrase=1),
                     speech.cache_dir)
    noisy = evaluate(ko_recognizer, commands("ko", "tune", "10db", per_phrase=1),
                     speech.cache_dir)
    assert clean["accuracy"] >= 0.33, clean["misses"]
    assert noisy["accuracy"] >= 0.07, noisy["misses"]
    assert clean["wrong"] <= 0.05 and noisy["wrong"] <= 0.05, clean["misses"] + noisy["misses"]


def test_false_accepts_on_distractors(ko_recognizer, speech):
    fa = evaluate(ko_recognizer, distractor_items("ko", "tune"), speech.cache_dir)
    assert fa["wrong"] <= 0.1, fa["misses"]
