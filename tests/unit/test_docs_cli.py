"""The docs and the ``kiosk`` command agree (issue 21, items 8 and 9).

* docs/cli.md holds, for every command and subcommand of the real parser, exactly what
  ``kiosk … --help`` prints (docs/cli_reference.py writes it); nothing is missing.
* Every option and positional argument has a help text.
* Every ``kiosk …`` command line in README.md and docs/*.md (the operator manuals in
  three languages included) parses with the real parser: a command, subcommand, option
  or choice that does not exist fails here. A line in a code block must parse whole; an
  inline mention (`kiosk flash --keep-data`) may leave out required arguments.
* Each operator guide's attendant station section names the station's buttons as the page
  shows them in the guide's language, and cites no label the page does not show.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import itertools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
_spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "cli_reference.py")
cli_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli_reference)  # type: ignore[union-attr]

#: the pages whose commands are checked (docs/cli.md is the parser's own output)
PAGES = [REPO / "README.md", *sorted(p for p in DOCS.glob("*.md") if p.name != "cli.md")]
#: pages that must show commands (so their check cannot pass by finding none)
MANUALS = ["README.md", "operator.md", "operator.zh_Hans.md", "operator.ko.md"]

_INLINE = re.compile(r"`((?:sudo )?kiosk [^`]+)`")
_PROMPT = re.compile(r"^\s*(?:[$#] )?(?:sudo )?(?:\S*/)?kiosk (?=[a-z-])")


@pytest.fixture(autouse=True)
def _columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", cli_reference.COLUMNS)


def test_cli_md_is_what_help_prints_for_every_command():
    written = cli_reference.sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    paths = [()] + [p for p, _ in cli_reference.command_paths(build_parser())]
    assert sorted(written) == sorted(paths), "docs/cli.md is stale: run docs/cli_reference.py"
    for path in paths:
        assert written[path] == cli_reference.help_text(path), (
            f"docs/cli.md differs from `kiosk {' '.join(path)} --help`:"
            " run .venv/bin/python docs/cli_reference.py")
    for named in ("acquirer", "voice", "sim card", "sim acquirer"):  # missing before issue 21
        assert tuple(named.split()) in written
    assert "card" in written[("bench",)] and "voice" in written[("bench",)]


def test_the_reference_matches_a_real_kiosk_process():
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "acquirer", "--help"],
                          capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "COLUMNS": cli_reference.COLUMNS})
    written = cli_reference.sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    assert written[("acquirer",)] == done.stdout


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_option_has_a_help_text():
    bare = [f"kiosk {' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
            for path, action in _walk(build_parser()) if not action.help]
    assert bare == []


# -- the commands the pages show ------------------------------------------------------------

def _command_lines(text: str) -> list[tuple[str, bool]]:
    """(command line, from a code block) for every `kiosk …` the markdown shows."""
    found: list[tuple[str, bool]] = []
    fenced = False
    pending = ""
    prose: list[str] = []  # an inline span may wrap onto the next line
    for raw in [*text.splitlines(), "```"]:
        if raw.lstrip().startswith("```"):
            found += [(" ".join(span.split()), False)
                      for span in _INLINE.findall(" ".join(prose))]
            prose = []
            fenced = not fenced
            continue
        if fenced:
            line = pending + raw
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1] + " "
                continue
            pending = ""
            for part in re.split(r" \| | && |; ", line):
                match = _PROMPT.match(part)
                if match:
                    found.append(("kiosk " + part[match.end():], True))
        else:
            prose.append(raw)
    return found


def _argvs(line: str) -> list[list[str]]:
    """The argument vectors a shown line stands for: `a|b` is each of them, `[--x]` is --x,
    a trailing `…` means "this command and what follows" (only the words before it)."""
    words = shlex.split(line, comments=True)
    words = words[words.index("kiosk") + 1:]
    words = [w.strip("[]") for w in words]
    words = [w.removesuffix("...").removesuffix("…") or "…" for w in words]
    if words and words[-1] == "…":
        words = words[:-1] + ["…"]
    choices = [w.split("|") if "|" in w and not w.startswith("-") else [w] for w in words]
    return [list(combo) for combo in itertools.product(*choices)]


def _parse_error(argv: list[str], whole: bool) -> str:
    """Why the real parser refuses ``argv`` ('' when it takes it)."""
    if argv and argv[-1] == "…":  # a command and what follows: the words must be commands
        parser = build_parser(argv)
        for word in argv[:-1]:
            subs = cli_reference.subcommands(parser)
            if word not in subs:
                return f"{word!r} is not a subcommand here (known: {', '.join(subs)})"
            parser = subs[word][1]
        return ""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser(argv).parse_args(argv)
        except SystemExit as exc:
            if exc.code not in (0, None):
                message = err.getvalue().strip().splitlines()[-1]
                if whole or "the following arguments are required" not in message:
                    return message
                return _unknown_options(argv)
    return ""


def _unknown_options(argv: list[str]) -> str:
    """An inline mention that leaves out required arguments: its options must still exist."""
    parser = build_parser(argv)
    known = set(parser._option_string_actions)
    for word in argv:
        subs = cli_reference.subcommands(parser)
        if word in subs:
            parser = subs[word][1]
            known |= set(parser._option_string_actions)
        elif word.startswith("-") and word.split("=")[0] not in known:
            return f"unrecognized option {word}"
    return ""


def test_the_operator_manual_is_there_in_three_languages():
    assert {p.name for p in PAGES} >= set(MANUALS)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_kiosk_command_a_page_shows_exists(page: Path):
    shown = _command_lines(page.read_text(encoding="utf-8"))
    if page.name in MANUALS:
        assert len(shown) >= 3, f"{page.name} shows no kiosk commands: the check finds none"
    refused = [f"{line!r}: {error}" for line, whole in shown for argv in _argvs(line)
               if (error := _parse_error(argv, whole))]
    assert refused == []


def test_the_check_refuses_what_does_not_exist():
    """The checker itself: a made-up command, option or choice is caught, in both forms."""
    text = ("Run `kiosk acquirer end-of-day`, `kiosk receipt reprint --nope`.\n"
            "```sh\n$ kiosk doctr\nkiosk bench core|nope\n# kiosk flash IMAGE\n```\n")
    shown = _command_lines(text)
    errors = [bool(_parse_error(argv, whole)) for line, whole in shown for argv in _argvs(line)]
    assert errors == [False, True, True, False, True, True]


# -- the README for newcomers ---------------------------------------------------------------

def test_the_readme_is_short_names_the_opt_in_suites_and_promises_nothing_stale():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for suite in ("kiosk bench fuzz", "./setup.sh run", "./setup.sh test"):
        assert suite in text, suite
    # every opt-in switch a test reads is named with how to run it
    switches = {m for f in (REPO / "tests").rglob("*.py")
                for m in re.findall(r"KIOSK_[A-Z]+_TESTS", f.read_text(encoding="utf-8"))}
    assert {"KIOSK_IMAGE_TESTS", "KIOSK_PHOTO_TESTS", "KIOSK_BENCH_TESTS"} <= switches
    for switch in sorted(switches):
        assert f"{switch}=1" in text, switch
    for stale in ("soon", "in their own issue", "in its own issue"):
        assert stale not in text.lower(), stale


_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", [*PAGES, DOCS / "cli.md"], ids=lambda p: p.name)
def test_every_relative_link_of_a_page_leads_to_a_file(page: Path):
    targets = [t for t in _LINK.findall(page.read_text(encoding="utf-8"))
               if "://" not in t and not t.startswith("mailto:")]
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert missing == []


@pytest.mark.parametrize(("page", "locale"), [("README.md", "en"), ("operator.md", "en"),
                                              ("operator.zh_Hans.md", "zh_Hans"),
                                              ("operator.ko.md", "ko")])
def test_the_manuals_say_the_shopper_may_cancel_help_and_put_an_item_aside(page, locale):
    """Issue 21: what the screen offers a waiting shopper is in the operator's manual, by
    the buttons' own words in its language (the README names the help call's)."""
    from kiosk.i18n import translator

    tr = translator(locale)
    text = " ".join((REPO / page if page == "README.md" else DOCS / page)
                    .read_text(encoding="utf-8").split())
    buttons = ["Cancel help"] if page == "README.md" else ["Cancel help", "Put the item aside"]
    assert [b for b in buttons if tr(b) not in text] == []


_OPERATOR_GUIDES = [("operator.md", "en"), ("operator.zh_Hans.md", "zh_Hans"),
                    ("operator.ko.md", "ko")]
#: a label the guide cites: a button in **bold** or a screen text in "quotes" (a bold
#: run-in heading ends with a full stop: "**Signing out.**", "**退出登录。**")
_CITED = re.compile(r'\*\*([^*]+)\*\*|"([^"]+)"')


def _station_section(page: str, title: str) -> str:
    """The guide's section on the attendant station: its ``##`` heading names the page's
    title in the guide's language; whitespace joined as a reader sees it."""
    text = (DOCS / page).read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    found = [p for p in parts if title.casefold() in p.splitlines()[0].casefold()]
    assert len(found) == 1, f"{page}: no section on the attendant station ({title})"
    return " ".join(found[0].split())


@pytest.mark.parametrize(("page", "locale"), _OPERATOR_GUIDES)
def test_the_operator_guides_name_the_station_s_buttons_as_the_page_shows_them(page, locale):
    """Staff read the operator guide in their language: its attendant station section
    names the station's sign-in, sign-out, sound toggle and every remote action by the
    words the page shows in that language (kiosk.attendant.web TEXTS through the same
    translator), and every label it cites is one the page shows."""
    from kiosk.attendant.web import TEXTS
    from kiosk.domain.vocabulary import REMOTE_ACTIONS
    from kiosk.i18n import translator

    tr = translator(locale)
    section = _station_section(page, tr(TEXTS["title"]))
    keys = ["sign_in", "sign_out", "pin", "sound_on", "sound_off", "sound_blocked",
            *(f"action_{action}" for action in REMOTE_ACTIONS)]
    assert [tr(TEXTS[k]) for k in keys if tr(TEXTS[k]) not in section] == []
    shown = {tr(msgid) for msgid in TEXTS.values()}
    # a template is cited by its words before the value ("Total:", "合计：")
    shown |= {text.split("{")[0].strip() for text in shown if "{" in text}
    cited = [bold or quoted for bold, quoted in _CITED.findall(section)
             if not bold.endswith((".", "。"))]
    assert [label for label in cited if label not in shown] == []


def test_every_screenshot_in_the_docs_is_shown_by_a_page():
    """A picture no page shows is never looked at again, so it goes stale: each file under
    docs/screenshots is linked from the README or a page of docs/."""
    shown = {(page.parent / t).resolve() for page in PAGES
             for t in _LINK.findall(page.read_text(encoding="utf-8"))}
    unshown = sorted(p.name for p in (DOCS / "screenshots").iterdir()
                     if p.resolve() not in shown)
    assert unshown == []
