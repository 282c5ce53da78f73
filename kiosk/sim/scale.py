"""``kiosk sim scale``: the scale simulator (Mettler Toledo 8217 and Magellan) on a pty pair,
run until stopped, told what it weighs on its control socket or stdin.

``kiosk/cli.py`` wires it with :func:`add_sim_scale_args` / :func:`sim_scale_main`::

    kiosk sim scale produce --pair                # scale.produce.port is the driver's end
    echo "weight 1234 400" | socat - UNIX-CONNECT:<port>-scale.ctl

Control lines: :mod:`kiosk_drivers.scale.sim.control`. The pty options and their errors are
:mod:`kiosk.sim.ptyend`'s, shared with ``kiosk sim printer``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from kiosk.ops import sdnotify
from kiosk.sim import ptyend


def add_sim_scale_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="produce",
                        help="which [scale.<name>] to simulate (default produce)")
    ptyend.add_pty_args(parser, "scale", "scale.<name>.port")
    parser.add_argument("--noise", type=int, default=0, help="+- grams on settled readings")
    parser.add_argument("--seed", type=int, default=0, help="the noise's random seed")


def sim_scale_main(args: argparse.Namespace) -> int:
    """Run the scale simulator until SIGTERM / SIGINT."""
    return ptyend.run("scale", lambda: _serve(args))


def _serve(args: argparse.Namespace) -> int:
    from kiosk_drivers.scale.config import ScaleConfig
    from kiosk_drivers.scale.sim.control import ControlServer, handle
    from kiosk_drivers.scale.sim.simulator import ScaleSimulator

    from kiosk.config import load_config_or_exit

    config = load_config_or_exit()
    cfg = config.scale.get(args.name) or ScaleConfig()
    with ptyend.device_end(args, "scale", f"scale.{args.name}.port", cfg.port) as port:
        sim = ptyend.start(ScaleSimulator(port, capacity_g=cfg.capacity_g, noise_g=args.noise,
                                          seed=args.seed))
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
    return 0
