"""``kiosk sim printer``: the ESC/POS printer simulator on a pty pair, run until stopped.

``kiosk/cli.py`` wires it with :func:`add_sim_printer_args` / :func:`sim_printer_main`.
It reads the layered configuration (the ``[printer]`` table's port, baud rate and ROM
font).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from kiosk.ops import sdnotify

# -- kiosk sim printer ----------------------------------------------------------------------

def add_sim_printer_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", help="the printer end of the pty pair to open"
                        " (default: <printer.port>-printer with --pair)")
    parser.add_argument("--pair", action="store_true",
                        help="start socat to make the pty pair (host end: --host-link)")
    parser.add_argument("--host-link", help="with --pair: where the driver's end goes"
                        " (default printer.port; never replaces a real device)")
    parser.add_argument("--baud", type=int, default=None,
                        help="throttle reads to this baud rate (default printer.baudrate;"
                             " 0: no throttle)")
    parser.add_argument("--out", help="folder for the rendered PNGs"
                        " (default <state dir>/printer-sim)")
    parser.add_argument("--cjk-font", choices=["gbk", "ksc5601", "none"], default=None,
                        help="the simulated printer's double-byte ROM font")
    parser.add_argument("--width", type=int, choices=[58, 80], default=None,
                        help="paper width in mm (default printer.paper_width_mm)")
    parser.add_argument("--paper-mm", type=float, default=None,
                        help="paper left on the roll (default: endless)")
    parser.add_argument("--near-end", action="store_true", help="report paper near end")


def sim_printer_main(args: argparse.Namespace) -> int:
    """Run the printer simulator until SIGTERM / SIGINT.

    SIGUSR1 toggles paper out (and loads a fresh roll), SIGUSR2 toggles the cover.
    """
    from kiosk_drivers.printer.sim.simulator import PrinterSimulator
    from kiosk_drivers.sim.pty import PtyError, PtyPair, start_pty_pair

    from kiosk.config import load_config_or_exit

    config = load_config_or_exit()
    pcfg = config.printer
    pair: PtyPair | None = None
    host = Path(args.host_link or pcfg.port)
    if args.pair and not args.host_link and host.is_relative_to("/dev"):
        print(f"sim printer: printer.port is {host}, a device path: give --host-link for the"
              " pty (and point printer.port at it)", file=sys.stderr)
        return 2
    port = Path(args.port) if args.port else Path(f"{host}-printer")
    if args.pair:
        try:
            pair = start_pty_pair(host, port)
        except PtyError as exc:
            print(f"sim printer: {exc}", file=sys.stderr)
            return 2
        print(f"sim printer: pty pair up: driver opens {pair.host}, simulator on {pair.device}")
    elif not args.port:
        print("sim printer: give --port (the printer end of a pty pair) or --pair",
              file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else config.paths.state_dir / "printer-sim"
    baud = pcfg.baudrate if args.baud is None else args.baud
    sim = PrinterSimulator(port, out, baudrate=baud,
                           cjk_font=args.cjk_font or pcfg.cjk_font,
                           paper_width_mm=args.width or pcfg.paper_width_mm,
                           paper_length_mm=args.paper_mm)
    sim.set_near_end(args.near_end)

    def toggle_paper(*_: object) -> None:
        if sim.status.paper_out:
            sim.load_paper(args.paper_mm)
            print("sim printer: paper loaded", flush=True)
        else:
            sim.set_paper_out(True)
            print("sim printer: paper out", flush=True)

    def toggle_cover(*_: object) -> None:
        sim.set_cover_open(not sim.status.cover_open)
        print(f"sim printer: cover {'open' if sim.status.cover_open else 'closed'}", flush=True)

    stop = sdnotify.stop_on_signals()
    signal.signal(signal.SIGUSR1, toggle_paper)
    signal.signal(signal.SIGUSR2, toggle_cover)
    try:
        sim.start()
    except OSError as exc:
        print(f"sim printer: cannot open {port}: {exc}", file=sys.stderr)
        if pair:
            pair.close()
        return 2
    print(f"sim printer: listening on {port} at {baud or 'unthrottled'} baud,"
          f" PNGs in {out}", flush=True)
    seen = 0
    try:
        while not stop.wait(0.2):
            while seen < len(sim.receipts):
                rec = sim.receipts[seen]
                seen += 1
                state = "printed" if rec.complete else "aborted (incomplete)"
                print(f"sim printer: {state} {rec.png}", flush=True)
    finally:
        sim.stop()
        if pair:
            pair.close()
    return 0
