"""A new language is one catalog file plus one line of config: with a Japanese kiosk.po
beside the shipped ones and `ja` in store.locales, the configuration accepts it, the tag
aliases find it, the screens and the language switch speak it; nothing else changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kiosk.i18n
from kiosk.config import load_config
from kiosk.i18n import canonical_locale, messages, shipped_locales
from kiosk.resources import i18n_dir

JA_PO = '''msgid ""
msgstr ""
"Language: ja\\n"
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Pay by card"
msgstr "カードで支払う"

msgid "Payment"
msgstr "お支払い"
'''


def _caches_clear() -> None:
    for cached in (shipped_locales, canonical_locale, messages):
        cached.cache_clear()


@pytest.fixture
def with_japanese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    catalogs = tmp_path / "i18n"
    shutil.copytree(i18n_dir(), catalogs)
    (catalogs / "ja" / "LC_MESSAGES").mkdir(parents=True)
    (catalogs / "ja" / "LC_MESSAGES" / "kiosk.po").write_text(JA_PO, encoding="utf-8")
    monkeypatch.setattr(kiosk.i18n, "I18N_DIR", catalogs)
    _caches_clear()
    yield
    monkeypatch.undo()
    _caches_clear()


def test_one_catalog_and_one_config_line_add_a_language(with_japanese, tmp_path: Path):
    from kiosk.ui.i18n import Translator, endonym, translations

    translations.cache_clear()
    assert shipped_locales() == ("en", "ja", "ko", "zh_Hans")
    assert canonical_locale("ja-JP") == canonical_locale("ja_JP") == "ja"
    config = load_config(tmp_path / "no-site", {
        "KIOSK__STORE__LOCALES": '["en", "zh_Hans", "ko", "ja"]',
        "KIOSK__PATHS__STATE_DIR": str(tmp_path / "state")})
    assert config.store.locales == ["en", "zh_Hans", "ko", "ja"]
    assert Translator("ja").tr("Pay by card") == "カードで支払う"
    assert endonym("ja") == "日本語"
    translations.cache_clear()


def test_without_the_catalog_the_config_line_is_refused(tmp_path: Path):
    from kiosk.config import ConfigError

    with pytest.raises(ConfigError, match="ja"):
        load_config(tmp_path / "no-site", {"KIOSK__STORE__LOCALES": '["en", "ja"]',
                                           "KIOSK__PATHS__STATE_DIR": str(tmp_path / "s")})
