"""Acquirer dialects are found by name through the entry-point group kiosk.acquirer_dialects:
the shipped ones and one another package registers, with no file of the project changed."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from kiosk.payments.iso8583 import DialectError, load_dialect, registered_dialects
from kiosk.resources import data_file


def _install_plugin(root: Path, name: str, target: str, module: str) -> None:
    """A distribution on sys.path as pip leaves it: a module plus dist-info with entry points."""
    (root / f"{module}.py").write_text(target)
    info = root / "acme_dialects-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-dialects\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[kiosk.acquirer_dialects]\n{name} = {module}:DIALECT\n")


def test_shipped_dialects_are_registered_package_data():
    names = registered_dialects()
    assert {"default", "alt_ascii_dual"} <= set(names)
    d = load_dialect("alt_ascii_dual")
    assert d.path == data_file("iso8583", "alt_ascii_dual.toml")
    assert d.name == "alt_ascii_dual"


def test_a_plugin_package_registers_a_dialect(tmp_path: Path, monkeypatch):
    text = load_dialect("default").path.read_text().replace('name = "default"', 'name = "acme"')
    (tmp_path / "acme.toml").write_text(text)
    _install_plugin(tmp_path, "acme", "from pathlib import Path\n"
                    "DIALECT = Path(__file__).with_name('acme.toml')\n", "acme_dialects")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        assert "acme" in registered_dialects()
        d = load_dialect("acme")
        assert d.name == "acme" and d.path == tmp_path / "acme.toml"
        assert d.framing == load_dialect("default").framing
    finally:
        sys.modules.pop("acme_dialects", None)


def test_unknown_name_is_one_clear_line_naming_the_registered_ones():
    with pytest.raises(DialectError) as err:
        load_dialect("no_such_dialect")
    text = str(err.value)
    assert "no_such_dialect" in text and "kiosk.acquirer_dialects" in text
    assert "default" in text and "alt_ascii_dual" in text and "\n" not in text


def test_a_path_still_names_a_dialect_file(tmp_path: Path):
    path = tmp_path / "site.toml"
    path.write_text(load_dialect("default").path.read_text())
    assert load_dialect(path).path == path
    assert load_dialect(str(path)).path == path
