"""``kiosk bench voice``: per language, how well the shopper is understood on unseen speech.

The clips come from the test set generator (:mod:`kiosk_voice.sim.testset`): natural
phrasings written apart from the grammar, every espeak-ng voice variant, 120-220 wpm,
pitches, rooms (sox ``reverb``), white / babble / hum noise at 20 / 10 / 5 dB. By
default only its **held-out** part is measured (``--part tune`` for the part thresholds
and grammar may be tuned on; misses are printed with ``-v`` for that part only, so the
held-out part is never looked into). Every clip goes the microphone's way: 10 ms frames
→ endpointer → recognizer (per-state grammar, n-best) → intent matcher.

Per language (``ko``, ``en``), in the JSON line's nested objects:

* ``acc_clean``, ``acc_20db``, ``acc_10db``, ``acc_5db``: share of command clips whose
  every non-empty result is the right intent (at least one);
* ``wrong_intent``: share of command clips (all conditions) that gave another intent;
* ``false_accepts``: share of distractor clips (everyday sentences sharing words with
  commands, said in the states where intents act) that gave any intent;
* ``voice_purchase_rate``: scripted purchases (the basket scanned, then only speech), one
  held-out voice each: say how to pay (confirmed with a "yes" phrasing when
  :func:`kiosk.services.voice.confirm.needs_confirmation` asks), then the receipt choice.
  A refused utterance is said again in the intent's next phrasing (twice at most, as a
  shopper told "sorry, please say that again" does); a wrong intent fails the purchase;
* ``endpoint_to_intent_ms_p95`` and ``rtf`` over the command clips.

Each language's recognizer is the service's own
(:func:`kiosk_voice.backends.open_recognizer`): Korean on Vosk, English on Vosk where its
model is installed, else on pocketsphinx (the model in its wheel), as in CI; the engine is
named in the JSON (``backend``). A language without a recognizer (no model installed, no
backend) is reported with ``skipped`` and the reason instead of figures. The last line
is one JSON object.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

from kiosk_voice.config import VoiceConfig
from kiosk_voice.intents import Intent

from kiosk.bench.stats import percentile

CONDITIONS = ("clean", "20db", "10db", "5db")
LANGS = ("ko", "en")
PURCHASES = 20
#: tries per purchase step: the first, and two more after "sorry, please say that again"
TRIES = 3


def judge(results: list, want: str | None) -> tuple[bool, bool, str]:
    """(right, wrong intent, what was heard) for one clip's results."""
    heard = [r for r in results if getattr(r, "reason", "") != "nothing"]
    names = [(getattr(r, "name", None) or f"rejected:{r.reason}") + f" ({r.text})"
             for r in heard]
    intents = [r.name for r in heard if isinstance(r, Intent)]
    right = bool(heard) and want is not None and all(n == want for n in
                                                    (getattr(r, "name", None) for r in heard))
    return right, any(n != want for n in intents), ",".join(names)


def _clip(item, cache: Path):  # noqa: ANN001, ANN202 - testset.Item → synth.Clip
    from kiosk_voice.sim.synth import utterance  # numpy: loaded when speech is made

    return utterance(item.text, cache, item.voice, item.speed, noise_kind=item.noise,
                     snr_db=item.snr_db, seed=item.seed, pitch=item.pitch, reverb=item.reverb)


def evaluate(rec, items: list, cache: Path) -> dict:
    """Decode every item; accuracy, wrong intents, timings and the misses."""
    ok = wrong = 0
    e2i: list[float] = []
    wall = audio = 0.0
    misses: list[str] = []
    for item in items:
        clip = _clip(item, cache)
        t0 = time.perf_counter()
        results = rec.decode(clip.samples, item.state)
        wall += time.perf_counter() - t0
        audio += clip.duration_s
        right, bad, heard = judge(results, item.intent)
        ok += right
        wrong += bad
        e2i.extend(r.timings["endpoint_to_intent_ms"] for r in results)
        if not right:
            misses.append(f"{item.text} [{item.state} {item.voice} {item.speed} p{item.pitch}"
                          f" r{item.reverb} {item.noise or 'clean'} {item.condition}]"
                          f" → {heard or '-'}")
    n = len(items)
    return {"accuracy": ok / n if n else 0.0, "wrong": wrong / n if n else 0.0, "n": n,
            "e2i_ms": e2i, "rtf": wall / audio if audio else 0.0, "misses": misses}


def purchases(rec, lang: str, part: str, cache: Path, n: int, sure_above: float) -> dict:
    """Voice-only purchases, one voice each: pay, (yes), receipt choice."""
    from kiosk_voice.sim.testset import Item, phrasings, purchase_voices

    from kiosk.services.voice.confirm import needs_confirmation

    said = {}
    for state, text, intent in phrasings(lang, part):
        said.setdefault(intent, []).append((state, text))

    def step(k: int, intent: str, voice: tuple[str, int, int]) -> Intent | None:
        """The intent heard for ``intent`` said by ``voice`` (None: refused every try)."""
        options = said[intent]
        for t in range(TRIES):
            state, text = options[(k + t) % len(options)]
            item = Item(lang, state, text, intent, *voice, 0, None, 0.0, 7)
            heard = [r for r in rec.decode(_clip(item, cache).samples, state)
                     if isinstance(r, Intent)]
            if heard:
                return heard[0]
        return None

    done = 0
    failures = []
    for k, voice in enumerate(purchase_voices(lang, part, n)):
        pay = ("pay_card", "pay_phone")[k % 2]
        receipt = ("receipt", "no_receipt")[(k // 2) % 2]
        got = step(k, pay, voice)
        ok = got is not None and got.name == pay
        if ok and needs_confirmation(got.name, got.confidence, False, sure_above):
            yes = step(k, "yes", voice)
            ok = yes is not None and yes.name == "yes"
        if ok:
            got = step(k, receipt, voice)
            ok = got is not None and got.name == receipt
        done += ok
        if not ok:
            failures.append(f"{voice}: {pay}/{receipt}")
    return {"rate": done / n if n else 0.0, "n": n, "failures": failures}


def bench_language(lang: str, part: str, cfg: VoiceConfig, cache: Path, verbose: bool,
                   n_purchases: int = PURCHASES) -> dict:
    from kiosk_voice.backends import ModelMissing, open_recognizer
    from kiosk_voice.sim.testset import commands, distractor_items

    try:
        t0 = time.perf_counter()
        rec = open_recognizer(cfg, lang)
        load_s = time.perf_counter() - t0
    except ModelMissing as exc:
        print(f"{lang}: skipped ({exc})")
        return {"skipped": str(exc)}
    out: dict = {}
    e2i: list[float] = []
    wrong = n = 0
    rtf = []
    for cond in CONDITIONS:
        r = evaluate(rec, commands(lang, part, cond), cache)
        out[f"acc_{cond}"] = round(r["accuracy"], 3)
        wrong += round(r["wrong"] * r["n"])
        n += r["n"]
        e2i += r["e2i_ms"]
        rtf.append(r["rtf"])
        print(f"{lang} {part} {cond}: {r['accuracy']:.3f} right, {r['wrong']:.3f} wrong intent"
              f" ({r['n']} clips)")
        if verbose and part != "heldout":
            for m in r["misses"]:
                print("   miss:", m)
    fa = evaluate(rec, distractor_items(lang, part), cache)
    fa_rate = fa["wrong"]  # any intent on a distractor is wrong
    print(f"{lang} {part} distractors: {fa_rate:.3f} accepted ({fa['n']} clips)")
    if verbose and part != "heldout":
        for m in fa["misses"]:
            if "rejected" not in m.split("→")[-1] and "→ -" not in m:
                print("   false accept:", m)
    buy = purchases(rec, lang, part, cache, n_purchases, cfg.match.sure_above)
    print(f"{lang} {part} voice-only purchases: {buy['rate']:.3f} ({buy['n']})")
    if verbose and part != "heldout":
        for f in buy["failures"]:
            print("   purchase failed:", f)
    out.update({
        "wrong_intent": round(wrong / n, 3) if n else 0.0,
        "false_accepts": round(fa_rate, 3),
        "voice_purchase_rate": round(buy["rate"], 3),
        "clips": n + fa["n"],
        "endpoint_to_intent_ms_p95": round(percentile(e2i, 95), 1) if e2i else 0.0,
        "rtf": round(max(rtf), 4),
        "model_load_s": round(load_s, 2),
        "backend": type(rec).__name__,
    })
    return out


def bench_voice(verbose: bool = False, part: str = "heldout",
                langs: tuple[str, ...] = LANGS, n_purchases: int = PURCHASES) -> int:
    cfg = VoiceConfig()
    cache = Path(tempfile.gettempdir()) / "kiosk-bench-voice"
    out: dict = {"part": part}
    for lang in langs:
        out[lang] = bench_language(lang, part, cfg, cache, verbose, n_purchases)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0
