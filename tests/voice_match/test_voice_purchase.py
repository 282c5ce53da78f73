"""A voice-only purchase in Korean with a held-out voice, through the real Vosk model,
kiosk-core and broker (issue 20: "Done when").

The shopper is the first scripted purchase of ``kiosk bench voice``'s held-out part (an
espeak-ng variant, speed and pitch that no tuning used) and says the held-out
phrasings of the test set: how to pay, "yes" when the kiosk asks back, then the receipt
choice. Refused speech is said again in the intent's next phrasing, as a shopper told
"sorry" does (twice at most).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kiosk_voice.sim.synth import utterance, write_wav
from kiosk_voice.sim.testset import phrasings, purchase_voices

from tests.voice_ux.conftest import card_auths, two_item_basket

pytestmark = [pytest.mark.voice, pytest.mark.integration]

TRIES = 3


@pytest.fixture
def shopper_voice(tmp_path: Path):
    voice, speed, pitch = purchase_voices("ko", "heldout", 1)[0]
    said = {}
    for _state, text, intent in phrasings("ko", "heldout"):
        said.setdefault(intent, []).append(text)

    def clips(intent: str) -> list[Path]:
        out = []
        for i, text in enumerate(said[intent][:TRIES]):
            path = tmp_path / f"{intent}-{i}.wav"
            write_wav(path, utterance(text, tmp_path, voice, speed, pitch=pitch).samples)
            out.append(path)
        return out

    return clips


def say(voice, clips: list[Path], state: str, intent: str) -> None:
    """Say ``intent`` (its phrasings in turn) until the service heard something."""
    service = voice.service
    for clip in clips:
        heard, missed = len(service.heard), len(service.misheard)
        service.source.push(clip, state=state)
        voice.wait_for(lambda h=heard, m=missed: len(service.heard) > h or
                       len(service.misheard) > m, timeout=60)
        if len(service.heard) > heard:
            assert service.heard[-1] == intent, service.heard
            return
    raise AssertionError(f"{intent} never heard: refused {service.misheard}")


@pytest.mark.skipif(os.environ.get("KIOSK_SOAK_TESTS") != "1",
                    reason="KIOSK_SOAK_TESTS=1 (~30 s of real-time speech; a known failure)")
@pytest.mark.xfail(strict=True, reason="payment and the asked-back yes work; the held-out "
                   "voice's receipt phrasings decode as mixtures of grammar words (docs/voice.md"
                   ", 'Where Korean falls short'), refused, and a retry is taken as no_receipt")
def test_voice_only_purchase_in_korean_with_a_heldout_voice(start_core, shopper, start_voice,
                                                           korean, shopper_voice,
                                                           lane_env) -> None:
    start_core(KIOSK__TIMEOUTS__RECEIPT_CHOICE_S="120")
    total = two_item_basket(shopper, "ko")
    voice = start_voice(recognizers=korean)
    service = voice.service

    say(voice, shopper_voice("pay_card"), "shopping", "pay_card")
    if service.confirming == "pay_card":  # not sure enough: the kiosk asked back
        voice.wait_spoken("카드로 결제할까요?", timeout=30)
        say(voice, shopper_voice("yes"), "shopping", "yes")
    st = shopper.wait_state(lambda s: s["state"] == "approved", timeout=60)
    say(voice, shopper_voice("receipt"), "approved", "receipt")
    st = shopper.wait_state(lambda s: s["state"] == "receipt", timeout=60)

    assert st["payment"]["status"] == "approved" and st["payment"]["method"] == "card"
    assert st["payment"]["receipt_choice"] == "print"
    assert card_auths(lane_env) == [(total, "approved")]
    assert [c["type"] for c in service.sent] == ["checkout", "pay", "receipt"]
