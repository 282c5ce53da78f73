"""What the serial-device simulator commands share (``kiosk sim printer``, ``kiosk sim
scale``): the ``--pair`` / ``--host-link`` / ``--port`` options, the simulator's end of the
pty pair they name (the socat pair started and closed with ``--pair``; a real device path is
never replaced), and one-line errors that end the command with status 2.

A command builds its simulator inside :func:`device_end` and starts it with :func:`start`;
:func:`run` turns a :class:`SimSetupError` into ``sim <device>: <reason>`` on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from kiosk_drivers.sim.device import PtyDevice
from kiosk_drivers.sim.pty import PtyError, start_pty_pair

Device = TypeVar("Device", bound=PtyDevice)


class SimSetupError(Exception):
    """The simulator cannot be set up as asked: one line for stderr, exit status 2."""


def add_pty_args(parser: argparse.ArgumentParser, device: str, key: str) -> None:
    """The pty options of ``kiosk sim <device>``; ``key`` names the configured port."""
    parser.add_argument("--pair", action="store_true",
                        help="start socat to make the pty pair (host end: --host-link)")
    parser.add_argument("--host-link", help="with --pair: where the driver's end goes"
                        f" (default {key}; never replaces a real device)")
    parser.add_argument("--port", help=f"the {device} end of a pty pair to open"
                        f" (default <host link>-{device} with --pair)")


@contextmanager
def device_end(args: argparse.Namespace, device: str, key: str, configured: str
               ) -> Iterator[Path]:
    """The simulator's end of the pty: ``--port``, or the pair ``--pair`` starts (closed when
    the block ends). ``configured`` is the port the config gives the driver (``key``)."""
    host = Path(args.host_link or configured)
    if args.pair and not args.host_link and host.is_relative_to("/dev"):
        raise SimSetupError(f"{key} is {host}, a device path: give --host-link for the pty"
                            f" (and point {key} at it)")
    port = Path(args.port) if args.port else Path(f"{host}-{device}")
    if not args.pair:
        if not args.port:
            raise SimSetupError(f"give --port (the {device} end of a pty pair) or --pair")
        yield port
        return
    try:
        pair = start_pty_pair(host, port)
    except PtyError as exc:
        raise SimSetupError(str(exc)) from None
    with pair:
        print(f"sim {device}: pty pair up: driver opens {pair.host}, simulator on"
              f" {pair.device}", flush=True)
        yield port


def start(sim: Device) -> Device:
    """``sim`` started on its end of the pty, or :class:`SimSetupError`."""
    try:
        return sim.start()
    except OSError as exc:
        raise SimSetupError(f"cannot open {sim.device}: {exc}") from None


def run(device: str, main: Callable[[], int]) -> int:
    """``main()``'s status; a :class:`SimSetupError` is printed as one line, status 2."""
    try:
        return main()
    except SimSetupError as exc:
        print(f"sim {device}: {exc}", file=sys.stderr)
        return 2
