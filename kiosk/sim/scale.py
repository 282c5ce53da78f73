"""``kiosk sim scale``: the scale simulator (Mettler Toledo 8217 and Magellan) on a pty pair,
run until stopped, told what it weighs on its control socket or stdin.

``kiosk/cli.py`` wires it with :func:`add_sim_scale_args` / :func:`sim_scale_main`::

    kiosk sim scale produce --pair                # scale.produce.port is the driver's end
    echo "weight 1234 400" | socat - UNIX-CONNECT:<port>-scale.ctl

Control lines: :mod:`kiosk_drivers.scale.sim.control`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from kiosk.ops import sdnotify


def add_sim_scale_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="produce",
                        help="which [scale.<name>] to simulate (default produce)")
    parser.add_argument("--pair", action="store_true",
                        help="start socat to make the pty pair (host end: --host-link)")
    parser.add_argument("--host-link", help="with --pair: where the driver's end goes"
                        " (default scale.<name>.port; never replaces a real device)")
    parser.add_argument("--port", help="the scale end of a pty pair to open"
                        " (default <host link>-scale with --pair)")
    parser.add_argument("--noise", type=int, default=0, help="+- grams on settled readings")
    parser.add_argument("--seed", type=int, default=0, help="the noise's random seed")


def sim_scale_main(args: argparse.Namespace) -> int:
    """Run the scale simulator until SIGTERM / SIGINT."""
    from kiosk_drivers.scale.config import ScaleConfig
    from kiosk_drivers.scale.sim.control import ControlServer, handle
    from kiosk_drivers.scale.sim.simulator import ScaleSimulator
    from kiosk_drivers.sim.pty import PtyError, PtyPair, start_pty_pair

    from kiosk.config import load_config_or_exit

    config = load_config_or_exit()
    cfg = config.scale.get(args.name) or ScaleConfig()
    host = Path(args.host_link or cfg.port)
    if args.pair and not args.host_link and host.is_relative_to("/dev"):
        print(f"sim scale: scale.{args.name}.port is {host}, a device path: give --host-link"
              " for the pty (and point the port at it)", file=sys.stderr)
        return 2
    port = Path(args.port) if args.port else Path(f"{host}-scale")
    pair: PtyPair | None = None
    if args.pair:
        try:
            pair = start_pty_pair(host, port)
        except PtyError as exc:
            print(f"sim scale: {exc}", file=sys.stderr)
            return 2
        print(f"sim scale: pty pair up: driver opens {pair.host}, simulator on {pair.device}")
    elif not args.port:
        print("sim scale: give --port (the scale end of a pty pair) or --pair", file=sys.stderr)
        return 2
    sim = ScaleSimulator(port, capacity_g=cfg.capacity_g, noise_g=args.noise,
                         seed=args.seed).start()
    control = ControlServer(sim, Path(f"{port}.ctl"))
    print(f"sim scale: Mettler Toledo 8217 and Magellan on {port}; control {control.path}",
          flush=True)
    stop = sdnotify.stop_on_signals()

    def read_stdin() -> None:  # control lines on stdin too (a daemon: a signal ends the run)
        for line in sys.stdin:
            print(json.dumps(handle(sim, line)), flush=True)

    threading.Thread(target=read_stdin, name="scale-sim-stdin", daemon=True).start()
    try:
        stop.wait()
    finally:
        control.close()
        sim.stop()
        if pair is not None:
            pair.close()
    return 0
