"""Fixtures: an in-process kiosk-voice service on the test lane (real broker, real core)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kiosk_voice.tts import EspeakEngine, Speaker, WavSink

from kiosk.services.voice.accessible import SimulatedJack
from kiosk.services.voice.service import VoiceService, WavSource
from tests.fixtures.sample_items import KIMCHI, MILK
from tests.harness import bus_login


class VoiceHarness:
    def __init__(self, service: VoiceService, thread: threading.Thread,
                 stop: threading.Event) -> None:
        self.service = service
        self.thread = thread
        self.stop_event = stop
        self.ready = threading.Event()

    @property
    def speaker(self) -> Speaker:
        return self.service.speaker

    def spoken(self) -> list[str]:
        return [u.text for u in self.speaker.history]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                svc = self.service
                raise TimeoutError(
                    f"never true; spoken: {self.spoken()[-5:]}, heard: {svc.heard}, "
                    f"sent: {[c['type'] for c in svc.sent]}, state: {svc.msg.get('state')}, "
                    f"locale: {svc.msg.get('locale')}, recognizer: {svc._recognizer_lang}, "
                    f"clips played: {getattr(svc.source, 'played', None)}, "
                    f"misses: {svc.misses}, dropped frames: {svc.dropped_frames}")
            time.sleep(0.02)

    def wait_spoken(self, fragment: str, timeout: float = 20) -> str:
        self.wait_for(lambda: any(fragment in t for t in self.spoken()), timeout)
        return next(t for t in self.spoken() if fragment in t)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)




def two_item_basket(shopper, locale: str) -> int:  # noqa: ANN001 - the shopper fixture
    """A shopper in ``locale`` with milk and kimchi scanned: the basket's total (minor
    units). The voice-only purchases start here: after it the shopper only speaks."""
    shopper.wait_online()
    assert shopper.send("start", locale=locale)["ok"]
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("scan", code=KIMCHI)["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "shopping" and len(s["lines"]) == 2)
    return st["totals"]["total"]


def card_auths(lane_env: dict) -> list[tuple[int, str]]:
    """(amount, outcome) of every authorization the simulated acquirer answered."""
    path = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "sim-acquirer.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return [(r["amount"], r["result"]["outcome"]) for r in rows if r["kind"] == "auth"]


@pytest.fixture(scope="session")
def korean():
    """lang → the real Vosk Korean recognizer (loaded once: the model takes seconds)."""
    from kiosk_voice.config import VoiceConfig
    from kiosk_voice.recognizer import Recognizer

    rec = Recognizer(VoiceConfig().model_dir("ko"), "ko")
    return lambda lang: rec if lang == "ko" else None


#: the English shopper's voice: one the pocketsphinx decoder settings were not tuned on
#: (kiosk_voice.backends.sphinx.DECODER_OPTIONS)
EN_VOICE, EN_SPEED = "en-us+f2", 165


@pytest.fixture(scope="session")
def english(tmp_path_factory: pytest.TempPathFactory):
    """lang → the English recognizer on the pocketsphinx wheel's model (no Vosk English model
    is installed under this models_dir, so the configured fallback is used: it runs in CI
    with nothing to provision)."""
    from kiosk_voice.backends import open_recognizer
    from kiosk_voice.backends.sphinx import SphinxRecognizer
    from kiosk_voice.config import VoiceConfig

    rec = open_recognizer(VoiceConfig(models_dir=tmp_path_factory.mktemp("models")), "en")
    assert isinstance(rec, SphinxRecognizer)
    return lambda lang: rec if lang == "en" else None


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """A shopper's words as a 16 kHz mono WAV (espeak-ng → sox, :mod:`kiosk_voice.sim.synth`)."""
    from kiosk_voice.sim.synth import utterance, write_wav

    cache = tmp_path_factory.mktemp("speech")
    made: dict[tuple, Path] = {}

    def make(text: str, voice: str = "ko", speed: int = 175) -> Path:
        key = (text, voice, speed)
        if key not in made:
            path = cache / f"clip{len(made):03d}.wav"
            write_wav(path, utterance(text, cache, voice=voice, speed=speed).samples)
            made[key] = path
        return made[key]

    return make


@pytest.fixture
def start_voice(lane_env: dict, broker_port: int, tmp_path: Path):
    started: list[VoiceHarness] = []

    def start(recognizers: Callable = lambda _lang: None, volume: float = 0.5) -> VoiceHarness:
        speaker = Speaker(EspeakEngine(), WavSink(tmp_path / "speaker", "speaker"),
                          WavSink(tmp_path / "headset", "headset"), default_volume=volume)
        source = WavSource()
        service = VoiceService(lane_env["KIOSK__STORE__LANE_ID"],
                               bus_login(broker_port, "kiosk-voice"), speaker, recognizers, source,
                               SimulatedJack(False),
                               default_locale="en")
        source.listening = service.listening
        stop = threading.Event()
        harness = VoiceHarness(service, threading.Thread(target=lambda: None), stop)
        harness.thread = threading.Thread(
            target=service.run, args=(stop,), kwargs={"on_ready": harness.ready.set},
            name="voice", daemon=True)
        harness.thread.start()
        assert harness.ready.wait(20), "voice service never became ready"
        started.append(harness)
        harness.wait_for(lambda: "seq" in service.msg)  # the lane's retained state is in
        return harness

    yield start
    for harness in started:
        harness.stop()
