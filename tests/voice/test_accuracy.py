"""Accuracy sweep (slow): the bench's command set over voices, speeds and noise.

Floors, not targets: a regression guard for the recognizer, grammar and matching. The
figures themselves come from ``kiosk bench voice``.
"""

from __future__ import annotations

import pytest

from kiosk.bench.voice import COMMANDS, evaluate, false_accepts

pytestmark = [pytest.mark.voice, pytest.mark.slow]


def test_command_set_clean_and_noisy(ko_recognizer, speech):
    clean = evaluate(ko_recognizer, COMMANDS, False, speech.cache_dir)
    noisy = evaluate(ko_recognizer, COMMANDS, True, speech.cache_dir)
    assert clean["accuracy"] >= 0.8, clean["misses"]
    assert noisy["accuracy"] >= 0.45, noisy["misses"]


def test_false_accepts_on_distractors(ko_recognizer, speech):
    fa = false_accepts(ko_recognizer, speech.cache_dir)
    assert fa["rate"] <= 0.1, fa["hits"]
