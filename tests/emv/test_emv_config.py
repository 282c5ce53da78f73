"""CardConfig / TerminalConfig validation and the [card] section of the packaged config."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kiosk.payments.emv_config import AidConfig, CardConfig, TerminalConfig


def test_defaults_are_an_unattended_online_only_no_cvm_terminal():
    term = CardConfig().terminal
    assert term.terminal_type == "24"
    caps = bytes.fromhex(term.capabilities)
    assert caps[1] == 0x08 and caps[2] & 0xC8 == 0
    assert term.floor_limit == 0
    assert [a.brand for a in term.aids][:3] == ["visa", "visa", "mastercard"]


@pytest.mark.parametrize("field, value, message", [
    ("capabilities", "20C800", "No CVM required"),  # plus PIN capabilities
    ("capabilities", "2008C0", "SDA, DDA or CDA"),
    ("capabilities", "2008", "3 bytes"),
    ("terminal_type", "22", "unattended"),  # attended, offline with online capability
    ("floor_limit", 5000, "floor_limit 0"),
    ("tac_denial", "00100000", "5 bytes"),
    ("terminal_id", "KIOSK", "at least 8"),
    ("unknown_key", 1, "Extra inputs"),
])
def test_invalid_terminal(field, value, message):
    with pytest.raises(ValidationError, match=message):
        TerminalConfig(**{field: value})


def test_offline_capable_unattended_may_have_a_floor_limit():
    assert TerminalConfig(terminal_type="25", floor_limit=1000).floor_limit == 1000


def test_aid_validation():
    assert AidConfig(name="v", aid="a0 00 00 00 03", brand="visa").aid == "A000000003"
    with pytest.raises(ValidationError):
        AidConfig(name="v", aid="A000", brand="visa")
    with pytest.raises(ValidationError, match="unique"):
        TerminalConfig(aids=[AidConfig(name="a", aid="A000000003", brand="x")] * 2)
    with pytest.raises(ValidationError):
        CardConfig(terminal=TerminalConfig(), session_limit_s=0)


def test_packaged_config_has_the_card_section(config):
    assert isinstance(config.card, CardConfig)
    assert config.card.terminal == TerminalConfig()
    assert config.card.session_limit_s > 0
