"""Write docs/cli.md, the reference of the ``kiosk`` command, from its parser (kiosk/cli.py).

    .venv/bin/python docs/cli_reference.py           # rewrite docs/cli.md
    .venv/bin/python docs/cli_reference.py --check   # exit 1 if docs/cli.md is stale

Every command and subcommand gets a section holding exactly what ``kiosk … --help`` prints
at a terminal 100 columns wide (tests/unit/test_docs_cli.py compares them). Edit the help
texts in the code, never docs/cli.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

#: the terminal width the reference is written for (argparse reads $COLUMNS)
COLUMNS = "100"
CLI_MD = Path(__file__).resolve().parent / "cli.md"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """A parser's subcommands in order: name → (one-line help, parser); {} for a leaf."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return {name: (helps.get(name, ""), sub) for name, sub in action.choices.items()}
    return {}


def command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                  ) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every command path under ``parser`` (``("sim", "card")`` …) with its one-line help,
    depth first in the parser's order."""
    for name, (text, sub) in subcommands(parser).items():
        yield (*path, name), text
        yield from command_paths(sub, (*path, name))


def help_text(path: tuple[str, ...]) -> str:
    """What ``kiosk <path> --help`` prints (the real entry point, as a shopper's terminal)."""
    import contextlib
    import io

    from kiosk.cli import main

    os.environ["COLUMNS"] = COLUMNS
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*path, "--help"])
    return out.getvalue()


def render() -> str:
    """The whole of docs/cli.md."""
    from kiosk.cli import build_parser

    paths = list(command_paths(build_parser()))
    parts = [
        "# The `kiosk` command\n",
        "Generated from the parser in `kiosk/cli.py` by `docs/cli_reference.py`: do not edit"
        " by hand (change the help texts in the code and run"
        " `.venv/bin/python docs/cli_reference.py`). `tests/unit/test_docs_cli.py` checks that"
        " each section is what `kiosk … --help` prints.\n",
        "| command | what it does |", "|---|---|",
    ]
    parts += [f"| [`kiosk {' '.join(p)}`](#{_anchor(p)}) | {t} |" for p, t in paths]
    parts += ["", "## kiosk", "", "```text", help_text(()).rstrip("\n"), "```"]
    for path, _text in paths:
        parts += ["", f"## kiosk {' '.join(path)}", "", "```text",
                  help_text(path).rstrip("\n"), "```"]
    return "\n".join(parts) + "\n"


def sections(markdown: str) -> dict[tuple[str, ...], str]:
    """docs/cli.md read back: command path → the help text in its section."""
    found: dict[tuple[str, ...], str] = {}
    path: tuple[str, ...] | None = None
    block: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## kiosk"):
            path = tuple(line.split()[2:])
        elif line == "```text" and path is not None:
            block = []
        elif line == "```" and block is not None and path is not None:
            found[path] = "\n".join(block) + "\n"
            block, path = None, None
        elif block is not None:
            block.append(line)
    return found


def _anchor(path: tuple[str, ...]) -> str:
    return "kiosk-" + "-".join(path)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if CLI_MD.read_text(encoding="utf-8") != text:
            print(f"{CLI_MD} is stale: run .venv/bin/python docs/cli_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    CLI_MD.write_text(text, encoding="utf-8")
    print(f"wrote {CLI_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
