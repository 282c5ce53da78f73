"""Recognizer backends by name: the entry-point group ``kiosk_voice.recognizers``.

A backend is a class with the public API of :class:`kiosk_voice.recognizer.Recognizer`
(``set_state``, ``pause``, ``resume``, ``feed``, ``feed_all``, ``decode``), made as
``cls(model_dir, lang, cfg)``; the built-in ones register the same way in pyproject.toml:
``vosk`` (the Recognizer itself) and ``pocketsphinx`` (:mod:`kiosk_voice.backends.sphinx`,
English from the model in the pocketsphinx wheel). A language's ``[voice.models.<lang>]``
entry names its backend, and may name a ``fallback`` entry used when its own model is not
installed (English: the Vosk model where the device has it, else pocketsphinx).

:func:`open_recognizer` is the one way a language's recognizer is made (service, bench,
tests); :class:`ModelMissing` says, in one line, why a language has no voice.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_drivers.plugins import load_class, names
from kiosk_voice.config import ModelEntry, VoiceConfig, resolve_model_path

if TYPE_CHECKING:
    from kiosk_voice.recognizer import Recognizer

GROUP = "kiosk_voice.recognizers"


class ModelMissing(FileNotFoundError):
    """No usable model for a language; the message says which and how to install one."""


def backend_names() -> tuple[str, ...]:
    """The names of the installed recognizer backends, sorted."""
    return names(GROUP)


def load_backend(name: str) -> type[Recognizer]:
    """The backend class registered as ``name``; ValueError (one line) when there is none
    or it cannot be loaded (its engine is not installed)."""
    from kiosk_voice.recognizer import Recognizer

    return load_class(GROUP, name, Recognizer, "recognizer backend")


def _entries(entry: ModelEntry) -> list[ModelEntry]:
    out = [entry]
    while out[-1].fallback is not None:
        out.append(out[-1].fallback)
    return out


def model_location(cfg: VoiceConfig, lang: str) -> tuple[ModelEntry, Path]:
    """The first configured model of ``lang`` that is installed (its entry and directory),
    or :class:`ModelMissing` naming every place looked at."""
    if lang not in cfg.models:
        raise ModelMissing(f"no speech model configured for {lang!r}")
    tried: list[str] = []
    for entry in _entries(cfg.models[lang]):
        try:
            path = resolve_model_path(entry.path, cfg.models_dir)
        except FileNotFoundError as exc:
            tried.append(str(exc))
            continue
        if path.is_dir():
            return entry, path
        tried.append(f"{path} is not installed")
    raise ModelMissing(f"no speech model for {lang!r}: {'; '.join(tried)} (install one: "
                       f"kiosk voice install-model SOURCE --lang {lang})")


def open_recognizer(cfg: VoiceConfig, lang: str) -> Recognizer:
    """The recognizer of ``lang``: its first installed model, with that model's backend."""
    entry, path = model_location(cfg, lang)
    try:
        cls = load_backend(entry.backend)
    except ValueError as exc:
        raise ModelMissing(f"no speech recognizer for {lang!r}: {exc}") from None
    return cls(path, lang, cfg)
