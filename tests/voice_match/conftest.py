"""Fixtures of the matching tests: the voice tests' speech cache and real Korean model, and
the in-process kiosk-voice service of the dialog tests."""

from tests.voice.conftest import ko_model_dir, ko_recognizer, speech  # noqa: F401
from tests.voice_ux.conftest import korean, start_voice  # noqa: F401
