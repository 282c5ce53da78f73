"""Voice-only purchase with the real Vosk Korean model, through a real kiosk-core and broker.

The shopper's speech is synthesized here (espeak-ng → sox 16 kHz, :mod:`kiosk_voice.sim.synth`)
and fed through the WAV source that replaces the microphone; nothing else differs
from the device. The basket is pre-scanned; the shopper then only speaks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.sample_items import MILK
from tests.harness import kiosk_cli
from tests.voice_ux.conftest import card_auths, two_item_basket

pytestmark = [pytest.mark.voice, pytest.mark.integration]

PAY_BY_CARD = "카드"  # the pay-by-card key word (see kiosk_voice.intents)
RECEIPT_PLEASE = "영수증 주세요"


@pytest.fixture
def clips(speech) -> dict[str, Path]:
    # the espeak-ng voice each phrase decodes best with today (kiosk bench voice measures all)
    return {"pay": speech(PAY_BY_CARD, "ko+f2"), "receipt": speech(RECEIPT_PLEASE, "ko")}


def test_voice_only_purchase_in_korean(start_core, shopper, start_voice, korean, clips,
                                       lane_env) -> None:
    core = start_core(KIOSK__TIMEOUTS__RECEIPT_CHOICE_S="120")
    total = two_item_basket(shopper, "ko")

    voice = start_voice(recognizers=korean)
    voice.service.source.push(clips["pay"], state="shopping")
    voice.wait_for(lambda: voice.service.heard, timeout=30)
    st = shopper.wait_state(lambda s: s["state"] == "approved", timeout=60)
    voice.wait_spoken("영수증 주세요, 또는 필요 없어요", timeout=30)
    voice.service.source.push(clips["receipt"], state="approved")
    st = shopper.wait_state(lambda s: s["state"] == "receipt", timeout=60)

    assert st["payment"]["status"] == "approved" and st["payment"]["method"] == "card"
    assert st["payment"]["receipt_choice"] == "print"
    assert st["receipt"]["ok"] and Path(st["receipt"]["path"]).exists()
    service = voice.service
    assert service.heard == ["pay_card", "receipt"]
    assert [(c["type"], c["source"]) for c in service.sent] == [
        ("checkout", "voice"), ("pay", "voice"), ("receipt", "voice")]
    assert service.fed_while_speaking == 0
    assert card_auths(lane_env) == [(total, "approved")]
    voice.wait_spoken("영수증이 출력되고 있습니다")
    spoken = " ".join(voice.spoken())
    assert "결제가 승인되었습니다" in spoken  # every step was heard, in Korean

    core.stop()
    verify = kiosk_cli(lane_env, "journal", "verify")
    assert verify.returncode == 0, verify.stderr
    journal = kiosk_cli(lane_env, "journal", "verify").stdout
    assert "OK" in journal


def korean_basket_with_voice(shopper, start_voice, korean):
    """A Korean shopper with one item in the basket, and kiosk-voice listening."""
    shopper.wait_online()
    assert shopper.send("start", locale="ko")["ok"]
    assert shopper.send("scan", code=MILK)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping" and s["lines"])
    return start_voice(recognizers=korean)


def test_recognition_is_off_while_a_prompt_plays(core, shopper, start_voice, korean,
                                                 clips) -> None:
    voice = korean_basket_with_voice(shopper, start_voice, korean)
    service = voice.service
    source = service.source
    source.listening = lambda _state: True  # a shopper who talks over the kiosk
    voice.wait_for(lambda: service.listening())
    service.do("hear_items")
    service.do("repeat")  # a long prompt, with the command words in it
    assert service.speaker.speaking
    source.push(clips["pay"])
    voice.wait_for(lambda: not source.pending() or not service.speaker.speaking)
    assert service.speaker.speaking, "the prompt should outlast the clip"
    service.speaker.wait(60)
    assert service.heard == [] and service.sent == []
    assert service.fed_while_speaking == 0 and service.dropped_frames > 0
    # the same words once the prompt has ended are a command
    voice.wait_for(lambda: service.listening())
    source.push(clips["pay"])
    voice.wait_for(lambda: service.heard == ["pay_card"], timeout=30)
    shopper.wait_state(lambda s: s["state"] in ("authorizing", "approved", "receipt"))


def test_with_a_headset_a_command_interrupts_the_prompt(core, shopper, start_voice, korean,
                                                        clips) -> None:
    """Prompts play only in the headset, so the microphone may stay on: the shopper talks
    over a prompt and the command stops it (voice barge-in)."""
    voice = korean_basket_with_voice(shopper, start_voice, korean)
    service = voice.service
    source = service.source
    shopper.client.publish(shopper.topics.headset, {"plugged": True}).wait_for_publish(5)
    voice.wait_for(lambda: service.barge_in_by_voice())
    service.speaker.wait(60)
    service.do("hear_items")
    service.do("repeat")  # a long prompt, with the command words in it
    assert service.speaker.speaking and service.listening()
    long_prompt = service.speaker.history[-1]
    assert long_prompt.sink == "headset"
    source.push(clips["pay"])
    voice.wait_for(lambda: service.heard == ["pay_card"], timeout=30)
    assert service.barge_ins == 1 and service.fed_while_speaking > 0
    voice.wait_for(lambda: long_prompt.ended is not None)
    assert long_prompt.interrupted  # cut short, not played out
    shopper.wait_state(lambda s: s["state"] in ("authorizing", "approved", "receipt"))
    assert [c["type"] for c in service.sent][:2] == ["checkout", "pay"]
