"""The screen says when the shopper's language has no voice commands (issue 20, item 5): the
view of kiosk-voice's retained status, in the screen's language (no Kivy)."""

from __future__ import annotations

import pytest

from kiosk.ui.viewmodel import build_view
from tests.ui.test_viewmodel import state

pytestmark = pytest.mark.ui


@pytest.mark.parametrize(("locale", "want"), [
    ("en", "Voice commands are not available in this language. Voice commands work in 한국어."),
    ("zh_Hans", "此语言不支持语音指令。以下语言支持语音指令：한국어。"),
])
def test_a_language_without_voice_is_said_with_where_voice_works(locale, want) -> None:
    for screen_state in ("attract", "shopping", "payment"):
        v = build_view(state(state=screen_state, locale=locale), True, voice_locales=("ko",))
        assert v.voice_note == want


def test_nothing_is_said_where_voice_works_or_before_the_voice_service_spoke() -> None:
    assert build_view(state(locale="ko"), True, voice_locales=("ko",)).voice_note == ""
    assert build_view(state(locale="en"), True).voice_note == ""
    none = build_view(state(locale="ko"), True, voice_locales=()).voice_note
    assert none == "이 언어에서는 음성 명령을 사용할 수 없습니다."
