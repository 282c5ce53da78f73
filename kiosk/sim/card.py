"""``kiosk sim card``: a virtual EMV card in pcscd's vpcd reader, controlled on stdin.

Cards come from ``kiosk.sim.emvcard.make_card(profile)`` (imported when first used),
or from another factory given as ``--factory module:function``. Control lines on stdin,
each answered with one line on stdout (``ok ...`` or ``error ...``)::

    insert PROFILE    pull the current card (if any), insert a new one of this profile
    insert            insert the last profile again
    remove            pull the card (closes the connection to vpcd)
    status            "ok inserted PROFILE apdus=N" or "ok removed"
    quit              pull the card and exit (end of stdin does the same)

The card connects to vpcd inside pcscd's own network namespace when ``$VPCD_NETNS``
names it (kiosk_drivers.cardreader.sim.pcscd sets it): for development and CI only, never on
a device image.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable

from kiosk_drivers.cardreader.sim.vpcd import VPCD_PORT, VpcdCard

DEFAULT_FACTORY = "kiosk.sim.emvcard:make_card"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="visa", help="card profile inserted at start")
    parser.add_argument("--host", default="127.0.0.1", help="where vpcd listens")
    parser.add_argument("--port", type=int, default=VPCD_PORT,
                        help="vpcd port (35963: Virtual PCD 00 00, 35964: 00 01)")
    parser.add_argument("--no-insert", action="store_true", help="start with no card inserted")
    parser.add_argument("--hang-after", type=int, metavar="N",
                        help="stop answering after N APDUs (until removed)")
    parser.add_argument("--no-quickack", action="store_true",
                        help="leave delayed ACKs on (measures their cost)")
    parser.add_argument("--factory", default=DEFAULT_FACTORY, metavar="MODULE:FUNCTION",
                        help="card factory taking a profile name")


def load_factory(spec: str) -> Callable[[str], object]:
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"--factory must be MODULE:FUNCTION, not {spec!r}")
    return getattr(importlib.import_module(module), name)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def sim_card_main(args: argparse.Namespace) -> int:
    try:
        factory = load_factory(args.factory)
    except (ImportError, AttributeError, ValueError) as exc:
        print(f"kiosk sim card: cannot load the card factory {args.factory}: {exc}",
              file=sys.stderr)
        return 2
    slot = VpcdCard(args.host, args.port, quickack=not args.no_quickack,
                    hang_after=args.hang_after)
    profile = args.profile

    def insert(name: str) -> str:
        card = factory(name)
        slot.insert(card)
        return f"ok inserted {name}"

    try:
        first = factory(profile)  # an unknown profile is an operator error: say so, exit 2
    except (KeyError, ValueError) as exc:
        print(f"kiosk sim card: {exc}", file=sys.stderr)
        return 2
    try:
        if not args.no_insert:
            slot.insert(first)
            _say(f"ok inserted {profile}")
        else:
            _say("ok removed")
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd = words[0].lower()
            try:
                if cmd == "insert":
                    profile = words[1] if len(words) > 1 else profile
                    _say(insert(profile))
                elif cmd == "remove":
                    slot.remove()
                    _say("ok removed")
                elif cmd == "status":
                    _say(f"ok inserted {profile} apdus={slot.apdus}" if slot.inserted
                         else "ok removed")
                elif cmd == "quit":
                    break
                else:
                    _say(f"error unknown command {cmd!r} (insert PROFILE, remove, status, quit)")
            except (KeyError, ValueError) as exc:
                _say(f"error {exc}")
            except ConnectionError as exc:
                _say(f"error {exc}")
    except ConnectionError as exc:
        logging.getLogger(__name__).error("%s", exc)
        _say(f"error {exc}")
        return 1
    finally:
        slot.remove()
    _say("ok bye")
    return 0
