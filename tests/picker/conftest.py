"""The picker's voice test uses the voice fixtures (an in-process kiosk-voice, espeak speech)."""

from tests.voice_ux.conftest import speech, start_voice  # noqa: F401 - fixtures
