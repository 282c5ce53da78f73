"""Language tags: one normalisation (kiosk.i18n.canonical_locale), used everywhere a
language is named; a tag with no shipped catalog is refused, never silently English."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.domain.checkout import CheckoutState, Context, Rejected, apply, decide
from kiosk.i18n import UnknownLocale, canonical_locale, messages, page_locale, shipped_locales

ALIASES = [
    ("zh", "zh_Hans"), ("zh-CN", "zh_Hans"), ("zh_CN", "zh_Hans"), ("zh-Hans", "zh_Hans"),
    ("zh_Hans", "zh_Hans"), ("zh-hans-cn", "zh_Hans"), ("ko-KR", "ko"), ("ko_KR", "ko"),
    ("ko", "ko"), ("en-US", "en"), ("en_US", "en"), ("en", "en"),
]
#: no catalog: German, Traditional Chinese (never shown Simplified), junk
REFUSED = ["de", "zh-TW", "zh-Hant", "fr_FR", "xx", "", "en-", "_", "중국어", "a" * 40]


def test_shipped_locales_are_the_catalogs_in_config_i18n() -> None:
    assert shipped_locales() == ("en", "ko", "zh_Hans")
    for locale in shipped_locales():
        assert messages(locale) or locale == "en"


@pytest.mark.parametrize(("tag", "want"), ALIASES)
def test_usual_aliases_name_the_shipped_catalog(tag: str, want: str) -> None:
    assert canonical_locale(tag) == want


@pytest.mark.parametrize("tag", REFUSED)
def test_a_tag_without_a_catalog_is_refused(tag: str) -> None:
    with pytest.raises(UnknownLocale) as info:
        canonical_locale(tag)
    assert "shipped: en, ko, zh_Hans" in str(info.value)


# -- config ------------------------------------------------------------------------------------


def _site(tmp_path: Path, text: str) -> Path:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "store.toml").write_text(text, encoding="utf-8")
    return site


def test_config_locales_and_default_accept_aliases_and_store_the_catalog_name(
        tmp_path: Path) -> None:
    site = _site(tmp_path, '[store]\nlocales = ["en-US", "zh-CN", "ko_KR"]\n'
                           'default_locale = "zh"\n')
    store = load_config(site_dir=site, environ={}).store
    assert (store.locales, store.default_locale) == (["en", "zh_Hans", "ko"], "zh_Hans")


@pytest.mark.parametrize(("text", "key"), [
    ('[store]\nlocales = ["en", "de"]\n', "store.locales"),
    ('[store]\nlocales = ["en", "zh-TW"]\n', "store.locales"),
    ('[store]\ndefault_locale = "de"\n', "store.default_locale"),
])
def test_config_refuses_a_locale_without_a_catalog(tmp_path: Path, text: str, key: str) -> None:
    site = _site(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(site_dir=site, environ={})
    message = str(info.value)
    assert f"{site / 'store.toml'}: {key}" in message and "no catalog" in message
    assert "\n" not in message


def test_config_refuses_the_same_locale_named_twice(tmp_path: Path) -> None:
    site = _site(tmp_path, '[store]\nlocales = ["en", "zh", "zh_Hans"]\n')
    with pytest.raises(ConfigError, match="named twice"):
        load_config(site_dir=site, environ={})


# -- commands ----------------------------------------------------------------------------------


def _decide(config, catalog, state: CheckoutState, cmd: dict) -> list[dict]:
    ctx = Context(config, catalog.by_gtin, catalog.by_plu, lambda pin, now: (None, "x"),
                  lambda code: None, 1_700_000_000.0, payment_methods=("card", "qr"))
    return decide(state, cmd, ctx)


@pytest.mark.parametrize(("tag", "want"), [("zh-CN", "zh_Hans"), ("zh", "zh_Hans"),
                                           ("ko-KR", "ko"), ("en_US", "en")])
def test_start_and_set_language_accept_aliases(config, catalog, tag: str, want: str) -> None:
    state = CheckoutState()
    events = _decide(config, catalog, state, {"type": "start", "locale": tag})
    assert events[-1]["type"] == "session_started" and events[-1]["locale"] == want
    for event in events:
        apply(state, {**event, "ts": 1_700_000_000.0})
    assert state.locale == want
    other = "ko" if want != "ko" else "en"
    (event,) = _decide(config, catalog, state, {"type": "set_language", "locale": tag})
    assert event["locale"] == want
    (event,) = _decide(config, catalog, state, {"type": "set_language", "locale": other})
    assert event["locale"] == other


@pytest.mark.parametrize("tag", ["de", "zh-TW", "zh_Hant", "x" * 16])
def test_commands_refuse_a_locale_without_a_catalog(config, catalog, tag: str) -> None:
    for kind in ("set_language", "start"):
        with pytest.raises(Rejected) as info:
            _decide(config, catalog, CheckoutState(), {"type": kind, "locale": tag})
        assert info.value.reason == "unknown_locale"


# -- provisioning ------------------------------------------------------------------------------

PROVISION = '''[store]
store_id = "S014"
lane_id = "L07"
locales = {locales}
default_locale = "{default}"

[system]
time_zone = "Asia/Seoul"
ntp = ["192.0.2.10"]
'''


def test_provisioning_accepts_aliases_and_refuses_a_locale_without_a_catalog(
        tmp_path: Path) -> None:
    from kiosk.ops.provision import ProvisionError, validate_bytes

    path = tmp_path / "kiosk-provision.toml"
    good = PROVISION.format(locales='["ko-KR", "zh-CN", "en"]', default="ko_KR").encode()
    assert validate_bytes(good, path).store.default_locale == "ko_KR"
    bad = PROVISION.format(locales='["ko", "de"]', default="ko").encode()
    with pytest.raises(ProvisionError, match="store.locales: .*no catalog for locale 'de'"):
        validate_bytes(bad, path)


# -- voice -------------------------------------------------------------------------------------


def test_voice_model_languages_accept_aliases(tmp_path: Path) -> None:
    site = _site(tmp_path, '[voice.models.zh-CN]\npath = "zh-model"\n'
                           '[voice.models.ko_KR]\npath = "ko-model"\n')
    models = load_config(site_dir=site, environ={}).voice.models
    assert models["zh"].path == "zh-model" and models["ko"].path == "ko-model"
    assert "zh-CN" not in models


def test_voice_install_model_lang_accepts_aliases() -> None:
    from kiosk.cli import build_parser

    args = build_parser().parse_args(["voice", "install-model", "m.zip", "--lang", "zh-CN"])
    assert args.lang == "zh"


@pytest.mark.parametrize("lang, header, shown", [
    ("", "ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
    ("", "en;q=0.5,zh-CN;q=0.9", "zh_Hans"),        # by q, not by order
    ("", "de-DE,zh;q=0.7,ko;q=0.7", "zh_Hans"),     # equal q: the first
    ("", "zh-TW,de;q=0.9", "en"),                   # no catalog for either: English
    ("ko", "zh-CN", "ko"),                          # the page's ?lang= first
    ("xx", "zh", "zh_Hans"),                        # an unknown ?lang= is passed over
    ("", "ko;q=0,en", "en"),                        # q=0: "not this one"
    ("", "*", "en"),
    ("", ";;;,q=,,ko;q=abc," + "x" * 100, "en"),   # junk is no language, and no error
    ("", ",".join(["de"] * 16 + ["ko"]), "en"),     # the header is read only so far
])
def test_a_web_page_is_shown_in_the_browsers_language(lang, header, shown):
    assert page_locale(lang, header) == shown
