"""The import graph has no cycle (``python -m tests.packaging.cycles`` says where one is).
The layer contracts are checked by ``lint-imports`` in the test command (setup.sh)."""

from __future__ import annotations

from tests.packaging.cycles import _groups, _loop, import_cycles


def test_the_cycle_finder_names_every_module_of_a_circle():
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e2"], "e2": ["e"]}
    groups = _groups(edges)
    assert groups == [["a", "b", "c"], ["e", "e2"]]
    assert _loop(groups[0], edges) == ["a", "b", "c", "a"]
    assert _groups({"a": ["b"], "b": []}) == []


def test_no_import_cycle():
    assert [" -> ".join(loop) for _group, loop in import_cycles()] == []

