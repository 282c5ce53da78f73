"""``kiosk voice``: run kiosk-voice, or install a speech model.

* ``kiosk voice run [--wav FILE[@state] ...] [--tts-out DIR]`` runs the service.
  Without ``--wav`` it listens to the microphone (``[voice.audio]`` config); each
  ``--wav`` replaces the microphone with that recording, played in real time once
  the kiosk is listening (and, with ``@state``, in that checkout state). Speech
  goes to the audio device, or with ``--tts-out`` into WAV files (no sound card).
* ``kiosk voice install-model SOURCE --lang L [--sha256 HEX]`` installs a model
  from a local zip or folder (or a reachable URL), checked against the pinned
  SHA-256; the work is done by :mod:`kiosk_voice.models`, with the ``[voice]``
  configuration loaded here.
* ``kiosk voice measure-tts [--runs N]`` times espeak-ng on the sample prompts of each
  language (:func:`kiosk_voice.tts.measure`) and prints one JSON line.

This module is imported to build ``kiosk``'s argument parser, so the voice engine, the
bus and the configuration load only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

from kiosk_voice.models import add_install_model_args, install_model_main

log = logging.getLogger("kiosk.voice")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="voice_cmd", required=True)
    run = sub.add_parser("run", help="run kiosk-voice (microphone, or WAV files)")
    run.add_argument("--wav", action="append", default=[], metavar="FILE[@STATE]",
                     help="a 16 kHz mono WAV as microphone input, optionally once in STATE")
    run.add_argument("--exit-when-done", action="store_true",
                     help="with --wav: stop once every clip was heard and speech ended")
    run.add_argument("--tts-out", metavar="DIR", help="write speech to WAV files here")
    run.add_argument("--speaker-device", help="PortAudio output device for the loudspeaker")
    run.add_argument("--headset-device", help="PortAudio output device for the headset jack")
    run.add_argument("--jack", choices=("sim", "alsa"), default="sim",
                     help="headset detection: simulated (bus event/headset) or ALSA kcontrol")
    run.add_argument("--jack-card", default="0", help="ALSA card for --jack alsa")
    run.add_argument("--volume", type=float, default=None, help="store default volume 0..1")
    run.add_argument("--rate", type=int, default=150, help="speech rate, words per minute")
    run.set_defaults(voice_fn=voice_run)
    inst = sub.add_parser("install-model", help="install a Vosk model (pinned SHA-256)")
    add_install_model_args(inst)
    inst.set_defaults(voice_fn=voice_install_model)
    tts = sub.add_parser("measure-tts", help="time speech synthesis on the sample prompts")
    tts.add_argument("--runs", type=int, default=5, help="runs per prompt (default 5)")
    tts.set_defaults(voice_fn=voice_measure_tts)


def _recognizers(config):  # noqa: ANN001, ANN202 - KioskConfig, a factory
    """lang → the recognizer of that language's first installed model, with its backend
    (None when there is none: the service then says so to the shopper)."""
    from kiosk_voice.backends import ModelMissing, open_recognizer
    from kiosk_voice.config import VoiceConfig

    from kiosk.services.voice.payments import listen_for_payments

    listen_for_payments(config)  # the grammar hears the lane's ways to pay, and only those
    from kiosk.services.voice.items import listen_for_items

    listen_for_items(config)  # and the loose items by name ("bananas": sold from the scale)
    voice_cfg = getattr(config, "voice", None) or VoiceConfig()
    cache: dict[str, object] = {}

    def get(lang: str):  # noqa: ANN202
        if lang not in cache:
            try:
                cache[lang] = open_recognizer(voice_cfg, lang)
            except ModelMissing as exc:
                log.warning("voice commands off in %s: %s", lang, exc)
                cache[lang] = None
        return cache[lang]

    return get


def voice_run(args: argparse.Namespace) -> int:
    from kiosk_voice.tts import DEFAULT_VOLUME, DeviceSink, EspeakEngine, Speaker, WavSink

    from kiosk.bus.credentials import login_for
    from kiosk.config import load_config_or_exit
    from kiosk.ops import sdnotify
    from kiosk.services.voice.accessible import AlsaJack, SimulatedJack
    from kiosk.services.voice.service import VoiceService, WavError, WavSource, parse_wav_arg

    config = load_config_or_exit()
    if args.tts_out:
        out = Path(args.tts_out)
        sink, headset = WavSink(out, "speaker"), WavSink(out, "headset")
    else:
        sink = DeviceSink(args.speaker_device, "speaker")
        headset = DeviceSink(args.headset_device, "headset") if args.headset_device else None
    speaker = Speaker(EspeakEngine(speed=args.rate), sink, headset,
                      default_volume=args.volume if args.volume is not None else DEFAULT_VOLUME)
    jack = AlsaJack(args.jack_card) if args.jack == "alsa" else SimulatedJack()
    service: VoiceService
    if args.wav:
        source = WavSource()
    else:
        from kiosk_voice.audio import MicSource
        from kiosk_voice.config import VoiceConfig

        from kiosk.services.voice.service import IterSource

        mic = MicSource((getattr(config, "voice", None) or VoiceConfig()).audio).open()
        source = IterSource(mic.frames(), on_close=mic.close)
    service = VoiceService(config.store.lane_id,
                           login_for(config.bus, "kiosk-voice", config.security.production),
                           speaker,
                           _recognizers(config), source, jack,
                           default_locale=config.store.default_locale,
                           locales=config.store.locales,
                           headset_barge_in=config.voice.headset_barge_in,
                           sure_above=config.voice.match.sure_above)
    from kiosk.services.voice.items import key_items

    try:  # the loose items the tactile keys reach through "look up" (none: no such action)
        service.accessible.items = key_items(config.catalog_path)
    except Exception:
        log.exception("loose items not read for the keys")
    if isinstance(source, WavSource):
        source.listening = service.listening
        try:
            for item in args.wav:
                path, state = parse_wav_arg(item)
                source.push(path, state)
        except (WavError, OSError) as exc:
            print(f"kiosk voice: {exc}", file=sys.stderr)
            return 2
    stop = sdnotify.stop_on_signals()
    if args.exit_when_done and isinstance(source, WavSource):
        def watch() -> None:
            while not stop.is_set():
                time.sleep(0.5)
                if not source.pending() and not speaker.speaking:
                    time.sleep(3)  # the last command's effects and prompts
                    if not source.pending() and not speaker.speaking:
                        stop.set()
        threading.Thread(target=watch, daemon=True).start()
    watchdog = sdnotify.Watchdog()
    service.run(stop, on_ready=lambda: sdnotify.ready(f"voice up, lane {config.store.lane_id}"),
                on_tick=watchdog.tick)
    print(f"heard: {' '.join(service.heard) or '-'}; sent: "
          f"{' '.join(c['type'] for c in service.sent) or '-'}")
    return 0


def voice_install_model(args: argparse.Namespace) -> int:
    from kiosk.config import load_config_or_exit

    return install_model_main(args, load_config_or_exit().voice)


def voice_measure_tts(args: argparse.Namespace) -> int:
    from kiosk_voice.tts import measure

    from kiosk.i18n import shipped_locales
    from kiosk.services.voice.prompts import sample_prompts

    prompts = {locale: sample_prompts(locale) for locale in shipped_locales()}
    print(json.dumps(measure(prompts, args.runs)))
    return 0
