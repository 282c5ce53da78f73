"""Layered configuration: packaged defaults, site files, environment, one-line errors."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.config import DEFAULTS_FILE, ConfigError, KioskConfig, load_config
from kiosk.domain.money import Currency


def _site(tmp_path: Path, **files: str) -> Path:
    """A site config dir in tmp_path holding ``<name>.toml`` for each of ``files``."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    for name, text in files.items():
        (site / f"{name}.toml").write_text(text, encoding="utf-8")
    return site


def _load(site: Path, **env: str) -> KioskConfig:
    return load_config(site_dir=site, environ=dict(env))


def _error(site: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(site, **env)
    text = str(info.value)
    assert "\n" not in text and "\r" not in text, f"not one line: {text!r}"
    assert text.startswith("config error: ")
    return text


# -- loading ------------------------------------------------------------------


def test_packaged_defaults_load(config: KioskConfig, tmp_path: Path) -> None:
    assert config.store.store_id == "S001"
    assert config.store.lane_id == "L01"
    assert config.store.locales == ["en", "zh_Hans", "ko"]
    assert config.store.default_locale == "en"
    assert config.currency == Currency("USD", 840, 2)
    assert config.tax.mode == "exclusive"
    assert config.tax.rates == {
        "standard": Decimal("8.875"),
        "reduced": Decimal("2.25"),
        "zero": Decimal("0"),
    }
    assert [layout.value for layout in config.variable_measure.layouts] == ["price", "weight"]
    assert [p.id for p in config.promotions] == [
        "CUPNOODLE-3FOR2",
        "COLA-2FOR4",
        "TOFU-MIX-2FOR3",
    ]
    # promotion gtins are normalised to 14 digits at load
    assert config.promotions[0].gtins == ["00070666928444"]
    assert config.bus.host == "127.0.0.1"
    assert config.bus.port == 1883
    # the fixture's environment override of the state dir took effect
    assert config.paths.state_dir == tmp_path / "state"
    assert config.catalog_path == tmp_path / "state" / "catalog.sqlite"
    assert config.journal_path == tmp_path / "state" / "journal.sqlite"


def test_missing_site_dir_is_fine(tmp_path: Path) -> None:
    cfg = _load(tmp_path / "does-not-exist")
    assert cfg.store.lane_id == "L01"


def test_site_file_overrides_a_value_and_keeps_the_rest(tmp_path: Path) -> None:
    site = _site(tmp_path, lane='[store]\nlane_id = "L05"\n')
    cfg = _load(site)
    assert cfg.store.lane_id == "L05"
    assert cfg.store.store_id == "S001"  # sibling key from the defaults survives the merge
    assert cfg.store.currency.code == "USD"


def test_site_files_apply_in_name_order(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        **{
            "20-later": '[store]\nlane_id = "L20"\n',
            "10-earlier": '[store]\nlane_id = "L10"\nname = "Early Name"\n',
        },
    )
    cfg = _load(site)
    assert cfg.store.lane_id == "L20"
    assert cfg.store.name == "Early Name"


def test_non_toml_files_in_site_dir_are_ignored(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "notes.txt").write_text("[store\nthis is not toml", encoding="utf-8")
    assert _load(site).store.lane_id == "L01"


def test_environment_wins_over_site_file(tmp_path: Path) -> None:
    site = _site(tmp_path, lane='[store]\nlane_id = "L05"\n')
    cfg = _load(site, KIOSK__STORE__LANE_ID="L07")
    assert cfg.store.lane_id == "L07"


def test_environment_values_are_typed_as_toml(tmp_path: Path) -> None:
    cfg = _load(
        _site(tmp_path),
        KIOSK__BUS__PORT="2883",
        KIOSK__TIMEOUTS__RECEIPT_S="7.5",
        KIOSK__SIM__PAYMENT__DECLINE_SUFFIXES='["13", "99"]',
    )
    assert cfg.bus.port == 2883
    assert cfg.timeouts.receipt_s == 7.5
    assert cfg.sim.payment.decline_suffixes == ["13", "99"]


def test_os_environ_and_kiosk_config_dir_are_used_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("KIOSK"):
            monkeypatch.delenv(key)
    site = _site(tmp_path, lane='[store]\nlane_id = "L05"\nstore_id = "S009"\n')
    monkeypatch.setenv("KIOSK_CONFIG_DIR", str(site))
    monkeypatch.setenv("KIOSK__STORE__LANE_ID", "L07")
    cfg = load_config()
    assert (cfg.store.store_id, cfg.store.lane_id) == ("S009", "L07")


def test_krw_with_exponent_0_loads(tmp_path: Path) -> None:
    site = _site(tmp_path, krw='[store.currency]\ncode = "KRW"\nnumeric = 410\nexponent = 0\n')
    cfg = _load(site)
    assert cfg.currency == Currency("KRW", 410, 0)
    assert cfg.currency.parse("3500") == 3500


# -- errors -------------------------------------------------------------------


def test_krw_with_exponent_2_is_rejected_on_one_line(tmp_path: Path) -> None:
    site = _site(tmp_path, krw='[store.currency]\ncode = "KRW"\nnumeric = 410\nexponent = 2\n')
    text = _error(site)
    assert ": store.currency: " in text
    assert "exponent 2 does not match ISO 4217 for KRW (0)" in text


@pytest.mark.parametrize(
    ("files", "env", "source"),
    [
        ({"krw": '[store.currency]\ncode = "KRW"\nnumeric = 410\nexponent = 2\n'}, {}, "krw.toml"),
        ({}, {"KIOSK__STORE__CURRENCY__CODE": "KRW"}, "KIOSK__STORE__CURRENCY__CODE"),
        ({"loc": '[store]\ndefault_locale = "fr"\n'}, {}, "loc.toml"),
    ],
    ids=["krw-site-file", "krw-env", "default-locale-site-file"],
)
def test_model_level_error_names_the_layer_that_set_the_key(
    tmp_path: Path, files: dict[str, str], env: dict[str, str], source: str
) -> None:
    text = _error(_site(tmp_path, **files), **env)
    assert source in text
    assert str(DEFAULTS_FILE) not in text


def test_bad_tax_mode_names_site_file_key_and_value(tmp_path: Path) -> None:
    site = _site(tmp_path, tax='[tax]\nmode = "sometimes"\n')
    text = _error(site)
    assert f"config error: {site / 'tax.toml'}: tax.mode: " in text
    assert "'inclusive' or 'exclusive'" in text
    assert "'sometimes'" in text


def test_non_loopback_bus_host_from_environment_names_the_variable(tmp_path: Path) -> None:
    text = _error(_site(tmp_path), KIOSK__BUS__HOST="10.0.0.5")
    assert "config error: environment KIOSK__BUS__HOST: bus.host: " in text
    assert "loopback" in text
    assert "10.0.0.5" in text


def test_non_loopback_bus_host_from_site_file(tmp_path: Path) -> None:
    site = _site(tmp_path, bus='[bus]\nhost = "10.0.0.5"\n')
    text = _error(site)
    assert f"{site / 'bus.toml'}: bus.host: " in text
    assert "loopback" in text


def test_an_update_settle_that_could_never_commit_is_refused(tmp_path: Path) -> None:
    """A timeout shorter than the settle would leave every tried update uncommitted."""
    site = _site(tmp_path, update="[update]\nsettle_timeout_s = 60\n")
    text = _error(site)
    assert f"{site / 'update.toml'}: update: " in text
    assert "settle_timeout_s (60) is shorter than settle_s (120)" in text
    assert _load(site, KIOSK__UPDATE__SETTLE_S="30").update.settle_timeout_s == 60


def test_unknown_key_typo_in_site_file(tmp_path: Path) -> None:
    site = _site(tmp_path, typo='[store]\nlane_idd = "L05"\n')
    text = _error(site)
    assert f"{site / 'typo.toml'}: store.lane_idd: " in text
    assert "Extra inputs are not permitted" in text


def test_unknown_section_typo_in_site_file(tmp_path: Path) -> None:
    site = _site(tmp_path, typo='[stor]\nlane_id = "L05"\n')
    text = _error(site)
    assert f"{site / 'typo.toml'}: stor: " in text
    assert "Extra inputs are not permitted" in text


def test_unknown_key_typo_in_environment(tmp_path: Path) -> None:
    text = _error(_site(tmp_path), KIOSK__STORE__LANEID="L07")
    assert "environment KIOSK__STORE__LANEID: store.laneid: " in text
    assert "Extra inputs are not permitted" in text


def test_several_errors_still_give_one_line_with_a_count(tmp_path: Path) -> None:
    site = _site(tmp_path, bad='[tax]\nmode = "sometimes"\n[bus]\nhost = "10.0.0.5"\nport = 0\n')
    text = _error(site)
    assert "[+2 more]" in text


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    site = _site(tmp_path, broken='[store\nlane_id = "L05"\n')
    text = _error(site)
    assert text.startswith(f"config error: {site / 'broken.toml'}: ")
    assert "line 1" in text


def test_promotion_with_wrong_gtin_check_digit_is_rejected(tmp_path: Path) -> None:
    promo = (
        "[[promotions]]\n"
        'id = "BAD"\n'
        'name = { en = "Bad promo" }\n'
        'kind = "buy_n_pay_m"\n'
        "n = 3\n"
        "m = 2\n"
        'gtins = ["070666928445"]\n'  # real check digit is 4
    )
    site = _site(tmp_path, promo=promo)
    text = _error(site)
    assert f"{site / 'promo.toml'}: promotions.0.gtins: " in text
    assert "'070666928445' has a wrong check digit (expected 4)" in text


def test_promotion_with_valid_gtin_loads_normalised(tmp_path: Path) -> None:
    promo = (
        "[[promotions]]\n"
        'id = "GOOD"\n'
        'name = { en = "Good promo", ko = "좋은" }\n'
        'kind = "n_for_price"\n'
        "n = 2\n"
        'price = "1.50"\n'
        'gtins = ["96385074"]\n'
    )
    cfg = _load(_site(tmp_path, promo=promo))
    assert [p.id for p in cfg.promotions] == ["GOOD"]  # a site list replaces the default list
    assert cfg.promotions[0].gtins == ["00000096385074"]


def test_all_digit_lane_id_from_environment(tmp_path: Path) -> None:
    cfg = _load(_site(tmp_path), KIOSK__STORE__LANE_ID="12")
    assert cfg.store.lane_id == "12"


def test_production_device_refuses_simulators(monkeypatch, tmp_path):

    for key in list(os.environ):
        if key.startswith("KIOSK"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KIOSK_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("KIOSK__SECURITY__PRODUCTION", "true")
    with pytest.raises(ConfigError, match="cannot use simulators.*devices.payment"):
        load_config()
    for key, value in (("SCANNER", "camera"), ("PRINTER", "escpos"), ("PAYMENT", "card")):
        monkeypatch.setenv(f"KIOSK__DEVICES__{key}", value)
    # the phone method is a real one now (its gateway's files are checked when kiosk-core
    # opens it: tests/integration/test_payment_methods.py); a simulated method is refused
    # (tests/unit/test_payment_registry.py)
    assert load_config().payments.methods == ["card", "qr"]
    monkeypatch.setenv("KIOSK__PAYMENTS__METHODS", '["card"]')
    assert load_config().security.production is True


# -- hostile and mistaken files (issue 14 item 6) ------------------------------------------------


@pytest.mark.parametrize(("code", "numeric", "exponent", "iso"), [
    ("KRW", 840, 0, 410), ("USD", 410, 2, 840), ("CNY", 840, 2, 156), ("USD", 84, 2, 840)])
def test_a_numeric_code_that_does_not_match_the_letter_code_is_refused(
        tmp_path: Path, code: str, numeric: int, exponent: int, iso: int) -> None:
    # the number goes into EMV tag 5F2A and ISO 8583 field 49: KRW with 840 charges dollars
    site = _site(tmp_path, cur=f'[store.currency]\ncode = "{code}"\nnumeric = {numeric}\n'
                              f'exponent = {exponent}\n')
    text = _error(site)
    assert f"{site / 'cur.toml'}: store.currency: " in text
    assert f"numeric {numeric:03d} does not match ISO 4217 for {code} ({iso:03d})" in text


@pytest.mark.parametrize(("code", "numeric", "exponent"), [
    ("KRW", 410, 0), ("CNY", 156, 2), ("EUR", 978, 2), ("JPY", 392, 0)])
def test_matching_numeric_codes_load(tmp_path: Path, code: str, numeric: int,
                                     exponent: int) -> None:
    site = _site(tmp_path, cur=f'[store.currency]\ncode = "{code}"\nnumeric = {numeric}\n'
                              f'exponent = {exponent}\n')
    assert _load(site).currency == Currency(code, numeric, exponent)


def test_a_currency_without_a_known_numeric_code_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path, cur='[store.currency]\ncode = "ZWL"\nnumeric = 932\nexponent = 2\n')
    assert "ZWL is not supported" in _error(site)


def test_the_iso_4217_table_agrees_with_babel_on_every_code() -> None:
    from babel.numbers import list_currencies

    from kiosk.domain.money import ISO_4217_NUMERIC

    assert set(ISO_4217_NUMERIC) <= list_currencies()
    assert len(set(ISO_4217_NUMERIC.values())) == len(ISO_4217_NUMERIC)


@pytest.mark.parametrize("encoding", ["gbk", "euc_kr", "latin-1"])
def test_a_non_utf8_site_file_is_one_line_naming_file_line_and_byte(
        tmp_path: Path, encoding: str) -> None:
    site = _site(tmp_path)
    text = '[store]\nname = "Harbour Street Market"\nreceipt_header = ["海港街市场 Crème"]\n'
    raw = text.encode(encoding, errors="replace")
    (site / "zz-site.toml").write_bytes(raw)
    message = _error(site)
    offset = text.index("[store]\nname = \"Harbour Street Market\"\n") + len(
        '[store]\nname = "Harbour Street Market"\nreceipt_header = ["')
    if encoding == "latin-1":
        offset += len("海港街市场 Cr")
    assert message.startswith(f"config error: {site / 'zz-site.toml'}: line 3, column ")
    assert f"(byte offset {offset}): not UTF-8 text" in message


def test_a_utf8_bom_in_a_site_file_is_accepted(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "bom.toml").write_bytes('[store]\nlane_id = "L09"\n'.encode("utf-8-sig"))
    assert _load(site).store.lane_id == "L09"


def test_cli_config_check_on_a_gbk_file_is_one_line(tmp_path: Path) -> None:
    from tests.harness import kiosk_cli

    site = _site(tmp_path)
    (site / "gbk.toml").write_bytes('[store]\nname = "海港街市场"\n'.encode("gbk"))
    env = {"PATH": "/usr/bin:/bin", "KIOSK_CONFIG_DIR": str(site)}
    done = kiosk_cli(env, "config", "check")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"config error: {site / 'gbk.toml'}: line 2, column 9 (byte offset")


@pytest.mark.parametrize("value", ["[" * 2000 + "]" * 2000, "{a = " * 600 + "1" + "}" * 600])
def test_a_deeply_nested_value_is_one_line_not_a_recursion_error(tmp_path: Path,
                                                                 value: str) -> None:
    # found by the config fuzz (tests/fuzz): tomllib recurses once per level
    site = _site(tmp_path, deep=f"[store]\nname = {value}\n")
    assert _error(site) == f"config error: {site / 'deep.toml'}: arrays or tables nested too deeply"
