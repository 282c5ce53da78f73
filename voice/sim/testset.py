"""The voice test set: phrasings × espeak-ng voice variants × speed × pitch × room × noise.

Every item is one clip to decode in one checkout state, with the intent it should give
(``None`` for a distractor: any intent is a false accept). The set is split, once and
for all, into a **tune** part (what thresholds, grammar and matching may be tuned on)
and a **held-out** part (only ever measured, by ``kiosk bench voice``):

* phrasings (:mod:`.phrasings`): every third sentence of each intent, and every third
  distractor, is held out;
* voices: every espeak-ng variant installed (``espeak-ng --voices=variant``) on the
  language's base voice; a variant is held out when the first byte of the SHA-256 of its
  name is divisible by 3 (about a third of them, fixed by the name alone);
* the noise seed: 1 for tune, 7 for held-out.

Held-out items combine held-out phrasings with held-out voices only, so a clip of the
held-out part shares neither its sentence nor its voice with any tuned clip. Speeds
(120-220 wpm), pitches (20-80), rooms (none or sox ``reverb`` 30-70) and noises
(white, babble, hum at 20 / 10 / 5 dB SNR) vary over both parts, deterministically from
the item's index: the same call gives the same list in any process.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from kiosk_voice.sim.phrasings import DISTRACTORS, PHRASINGS, STATE_OF

PARTS = ("tune", "heldout")
#: the espeak-ng base voice of each language
BASE_VOICE = {"ko": "ko", "en": "en-us"}
NOISES = ("white", "babble", "hum")
SNRS = (20, 10, 5)
SPEEDS = tuple(range(120, 221, 10))
PITCHES = (20, 35, 50, 65, 80)
REVERBS = (0, 30, 0, 50, 0, 70)
SEED = {"tune": 1, "heldout": 7}
#: distractors are said in the states where an intent acts (pay, cancel, help, yes)
DISTRACTOR_STATES = ("shopping", "payment", "confirm", "receipt", "attendant_needed")


@dataclass(frozen=True)
class Item:
    lang: str
    state: str
    text: str
    intent: str | None  # None: a distractor, no intent is right
    voice: str
    speed: int
    pitch: int
    reverb: int
    noise: str | None  # None: clean
    snr_db: float
    seed: int

    @property
    def condition(self) -> str:
        """``clean``, or the SNR (``20db`` …)."""
        return "clean" if self.noise is None else f"{self.snr_db:g}db"


def _byte(name: str) -> int:
    return hashlib.sha256(name.encode()).digest()[0]


@lru_cache(maxsize=1)
def variants() -> tuple[str, ...]:
    """Every espeak-ng voice variant installed (file names, sorted), "" for the plain voice."""
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        _, sep, name = line.partition("!v/")
        name = name.strip()
        # a variant whose file name has a space ("Mr serious") cannot be named after "+"
        if sep and name and " " not in name:
            names.add(name)
    return ("", *sorted(names, key=str.lower))


def is_heldout_variant(variant: str) -> bool:
    return _byte(variant) % 3 == 0


def voices(lang: str, part: str) -> tuple[str, ...]:
    """The espeak-ng voices (``ko``, ``ko+f2`` …) of ``part`` for ``lang``."""
    base = BASE_VOICE[lang]
    want = part == "heldout"
    return tuple(base + (f"+{v}" if v else "") for v in variants()
                 if is_heldout_variant(v) == want)


def _held(i: int) -> bool:
    return i % 3 == 2


def phrasings(lang: str, part: str) -> list[tuple[str, str, str]]:
    """(state, text, intent) of ``part``."""
    want = part == "heldout"
    return [(STATE_OF[intent], text, intent)
            for intent, texts in PHRASINGS[lang].items()
            for i, text in enumerate(texts) if _held(i) == want]


def distractors(lang: str, part: str) -> list[str]:
    want = part == "heldout"
    return [t for i, t in enumerate(DISTRACTORS[lang]) if _held(i) == want]


def _check(lang: str, part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"part is one of {PARTS}, not {part!r}")
    if lang not in PHRASINGS:
        raise ValueError(f"no test phrasings for language {lang!r}")


def _item(lang: str, part: str, k: int, state: str, text: str, intent: str | None,
          noise: str | None, snr: float) -> Item:
    vs = voices(lang, part)
    # co-prime strides: voice, speed, pitch and room vary independently over the items
    return Item(lang, state, text, intent, vs[(k * 7) % len(vs)],
                SPEEDS[(k * 5) % len(SPEEDS)], PITCHES[(k * 3) % len(PITCHES)],
                REVERBS[k % len(REVERBS)], noise, float(snr), SEED[part])


def commands(lang: str, part: str, condition: str = "clean", per_phrase: int = 2) -> list[Item]:
    """Command clips of ``part`` in ``condition`` (``clean``, ``20db``, ``10db``, ``5db``):
    each phrasing ``per_phrase`` times, in different voices/speeds/pitches/rooms, the
    noise kinds taking turns."""
    _check(lang, part)
    snr = 0.0 if condition == "clean" else float(condition.removesuffix("db"))
    if condition != "clean" and snr not in SNRS:
        raise ValueError(f"condition is clean or one of {[f'{s}db' for s in SNRS]}")
    out = []
    offset = {"clean": 0, "20db": 1, "10db": 2, "5db": 3}[condition]
    for j, (state, text, intent) in enumerate(phrasings(lang, part)):
        for r in range(per_phrase):
            k = j * per_phrase + r + offset * 11
            noise = None if condition == "clean" else NOISES[k % len(NOISES)]
            out.append(_item(lang, part, k, state, text, intent, noise, snr))
    return out


def distractor_items(lang: str, part: str) -> list[Item]:
    """Each distractor of ``part`` in every distractor state; clean and at 10 dB in turn."""
    _check(lang, part)
    out = []
    for j, text in enumerate(distractors(lang, part)):
        for s, state in enumerate(DISTRACTOR_STATES):
            k = j * len(DISTRACTOR_STATES) + s
            noisy = k % 2 == 1
            out.append(_item(lang, part, k, state, text, None,
                             NOISES[k % len(NOISES)] if noisy else None, 10.0))
    return out


def purchase_voices(lang: str, part: str, n: int) -> list[tuple[str, int, int]]:
    """(voice, speed, pitch) for ``n`` scripted purchases, one shopper each."""
    vs = voices(lang, part)
    return [(vs[(k * 7 + 3) % len(vs)], SPEEDS[(k * 5 + 2) % len(SPEEDS)],
             PITCHES[(k * 3 + 1) % len(PITCHES)]) for k in range(n)]
