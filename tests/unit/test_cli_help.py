"""`kiosk --help` imports only what it shows: argparse and the CLI, no service, no pydantic;
each command still gets its own arguments when it is the one being run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kiosk.cli import COMMANDS, build_parser

PROBE = """
import contextlib, io, json, sys
from kiosk.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps({"modules": sorted(sys.modules), "help": out.getvalue()}))
"""


def _run(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_help_loads_no_project_module_but_the_cli():
    seen = _run("--help")
    project = [m for m in seen["modules"] if m.split(".")[0] in
               ("kiosk", "kiosk_drivers", "kiosk_voice", "kiosk_config")]
    assert project == ["kiosk", "kiosk.cli"]
    heavy = {"pydantic", "paho", "babel", "PIL", "numpy", "cv2", "kivy", "smartcard", "iso8583"}
    assert not heavy & {m.split(".")[0] for m in seen["modules"]}
    for name in COMMANDS:
        assert name in seen["help"]


def test_a_command_help_builds_only_that_command():
    seen = _run("version", "--help")
    assert "kiosk.ops.version" in seen["modules"]
    assert "kiosk.sim.acquirer" not in seen["modules"] and "--json" in seen["help"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_builds_the_same_arguments_alone(name: str):
    alone = build_parser([name])._subparsers._group_actions[0].choices[name]
    full = build_parser()._subparsers._group_actions[0].choices[name]
    assert alone.format_help() == full.format_help()
