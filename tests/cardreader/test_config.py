"""The [cardreader] configuration table."""

from __future__ import annotations

import pytest

from kiosk.config import ConfigError, load_config


def test_defaults_load(config):
    assert config.cardreader.reader_pattern == ""
    assert config.cardreader.reader_poll_s > 0


def test_bad_reader_pattern_is_a_one_line_error(config, monkeypatch):
    monkeypatch.setenv("KIOSK__CARDREADER__READER_PATTERN", "Virtual PCD (")
    with pytest.raises(ConfigError, match="reader_pattern"):
        load_config()
