"""Staff credentials: the lasting, growing lockout; the sealed PIN; the demo-PIN guard."""

from __future__ import annotations

import json
import stat

import pytest

from kiosk.bus.messages import encode, parse_command
from kiosk.config import ConfigError, load_config
from kiosk.security.pinseal import KEY_FILE, PinOpener, SealError, seal_pin, staff_pin_command
from kiosk.security.staff import (
    DEMO_BADGE,
    DEMO_PIN,
    LOCKOUT_FILE,
    StaffAuthenticator,
    demo_credentials,
    hash_secret,
)

T0 = 1_700_000_000.0


def wrong_pins(auth: StaffAuthenticator, count: int, at: float) -> list[str]:
    return [auth.check_pin("1357", at)[1] for _ in range(count)]


def test_five_wrong_pins_lock_and_a_restart_keeps_the_lock(config, tmp_path):
    path = tmp_path / LOCKOUT_FILE
    auth = StaffAuthenticator(config.staff, path)
    assert wrong_pins(auth, 5, T0) == ["pin_wrong"] * 4 + ["pin_locked"]
    again = StaffAuthenticator(config.staff, path)  # kiosk-core restarted
    assert again.check_pin(DEMO_PIN, T0 + 1) == (None, "pin_locked")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    member, reason = again.check_pin(DEMO_PIN, T0 + config.staff.lockout_s + 1)
    assert (member.id, reason) == ("S100", "")
    assert json.loads(path.read_text())["pin"]["failures"] == 0


def test_each_further_failure_doubles_the_lock_up_to_the_cap(config, tmp_path):
    staff = config.staff.model_copy(update={"lockout_s": 10, "lockout_max_s": 35})
    auth = StaffAuthenticator(staff, tmp_path / LOCKOUT_FILE)
    wrong_pins(auth, 5, T0)
    delays, now = [], T0
    for _ in range(4):
        delays.append(auth.lockouts["pin"].locked_until - now)
        now = auth.lockouts["pin"].locked_until
        assert auth.check_pin("1357", now - 0.5) == (None, "pin_locked")  # not counted
        assert auth.check_pin("1357", now) == (None, "pin_locked")         # counted
    assert delays == [10, 20, 35, 35]


def test_badges_lock_out_on_their_own_count(config, tmp_path):
    auth = StaffAuthenticator(config.staff, tmp_path / LOCKOUT_FILE)
    wrong_pins(auth, 5, T0)
    member, reason = auth.check_badge(DEMO_BADGE, T0 + 1)  # a PIN lock leaves badges alone
    assert (member.id, reason) == ("S100", "")
    got = [auth.check_badge("STAFF:S100-0000", T0 + 2)[1] for _ in range(5)]
    assert got == ["badge_unknown"] * 4 + ["badge_locked"]
    restarted = StaffAuthenticator(config.staff, tmp_path / LOCKOUT_FILE)
    assert restarted.check_badge(DEMO_BADGE, T0 + 3) == (None, "badge_locked")


def test_an_unreadable_lockout_file_fails_closed(config, tmp_path):
    path = tmp_path / LOCKOUT_FILE
    path.write_text("{not json")
    auth = StaffAuthenticator(config.staff, path)
    import time

    assert auth.check_pin(DEMO_PIN, time.time()) == (None, "pin_locked")


def test_sealed_pin_opens_once_and_only_under_its_own_id(tmp_path):
    core = PinOpener(tmp_path)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    msg = staff_pin_command("2468", core.offer(), source="ui")
    raw = encode(msg)
    assert b"2468" not in raw
    cmd = parse_command(raw, 16384)
    assert core.open(cmd) == "2468"
    with pytest.raises(SealError, match="stale"):  # the same message again
        core.open(cmd)
    # the same ciphertext under another id, with the new challenge: does not open
    forged = dict(cmd, id="another-id-1", challenge=core.offer()["challenge"])
    with pytest.raises(SealError, match="does not open"):
        core.open(forged)
    # a restart keeps the key but retires every challenge issued before it
    fresh = staff_pin_command("13579", core.offer())
    restarted = PinOpener(tmp_path)
    assert restarted.offer()["key"] == core.offer()["key"]
    with pytest.raises(SealError, match="stale"):
        restarted.open(fresh)


def test_sealed_pins_all_have_one_length(tmp_path):
    core = PinOpener(tmp_path)
    sizes = {len(seal_pin(pin, core.offer(), "abcd1234")["sealed"])
             for pin in ("1234", "123456789012")}
    assert len(sizes) == 1


def test_demo_credentials_are_found_by_the_secret_not_the_hash(config):
    assert demo_credentials(config.staff) == ["S100 PIN", "S100 badge"]
    rehashed = config.staff.members[0].model_copy(update={
        "pin_hash": hash_secret(DEMO_PIN), "badge_hash": hash_secret("STAFF:S100-9999")})
    assert demo_credentials(config.staff.model_copy(update={"members": [rehashed]})) == [
        "S100 PIN"]


PRODUCTION = {"KIOSK__SECURITY__PRODUCTION": "true", "KIOSK__DEVICES__SCANNER": "camera",
              "KIOSK__DEVICES__PRINTER": "escpos", "KIOSK__DEVICES__PAYMENT": "card"}


def test_production_refuses_an_empty_staff_list(tmp_path):
    site = tmp_path / "etc"
    site.mkdir()
    (site / "20-staff.toml").write_text("[staff]\nmembers = []\n")
    with pytest.raises(ConfigError) as err:
        load_config(site_dir=site, environ=PRODUCTION)
    assert "no staff configured" in str(err.value)
    assert "\n" not in str(err.value)
