"""Voice-only purchase in English with the pocketsphinx backend (the model in its wheel: it
runs in CI with nothing to provision), through a real kiosk-core and broker.

The shopper's voice (espeak-ng en-us+f2) is one the English decoder settings were not tuned
on (kiosk_voice.backends.sphinx.DECODER_OPTIONS)."""

from __future__ import annotations

import pytest

from tests.voice_ux.conftest import EN_SPEED, EN_VOICE, card_auths, two_item_basket

pytestmark = [pytest.mark.voice, pytest.mark.integration]


def test_voice_only_purchase_in_english(start_core, shopper, start_voice, english, speech,
                                        lane_env) -> None:
    start_core(KIOSK__TIMEOUTS__RECEIPT_CHOICE_S="120")
    total = two_item_basket(shopper, "en")

    voice = start_voice(recognizers=english)
    voice.service.source.push(speech("pay by card", EN_VOICE, EN_SPEED), state="shopping")
    voice.wait_for(lambda: voice.service.heard, timeout=30)
    shopper.wait_state(lambda s: s["state"] == "approved", timeout=60)
    voice.wait_spoken("Say receipt, or no receipt", timeout=30)
    voice.service.source.push(speech("receipt please", EN_VOICE, EN_SPEED), state="approved")
    st = shopper.wait_state(lambda s: s["state"] == "receipt", timeout=60)

    assert st["payment"]["status"] == "approved" and st["payment"]["method"] == "card"
    assert st["payment"]["receipt_choice"] == "print"
    service = voice.service
    assert service.heard == ["pay_card", "receipt"]
    assert [(c["type"], c["source"]) for c in service.sent] == [
        ("checkout", "voice"), ("pay", "voice"), ("receipt", "voice")]
    assert card_auths(lane_env) == [(total, "approved")]
    assert not any("not available" in t for t in voice.spoken())  # English has voice
