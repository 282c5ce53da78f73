"""``kiosk sim printer``: the ESC/POS printer simulator on a pty pair, run until stopped.

``kiosk/cli.py`` wires it with :func:`add_sim_printer_args` / :func:`sim_printer_main`.
It reads the layered configuration (the ``[printer]`` table's port, baud rate and ROM
font). The pty options and their errors are :mod:`kiosk.sim.ptyend`'s, shared with ``kiosk sim
scale``.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from kiosk.ops import sdnotify
from kiosk.sim import ptyend


def add_sim_printer_args(parser: argparse.ArgumentParser) -> None:
    ptyend.add_pty_args(parser, "printer", "printer.port")
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
    return ptyend.run("printer", lambda: _serve(args))


def _serve(args: argparse.Namespace) -> int:
    from kiosk_drivers.printer.sim.simulator import PrinterSimulator

    from kiosk.config import load_config_or_exit

    config = load_config_or_exit()
    pcfg = config.printer
    with ptyend.device_end(args, "printer", "printer.port", pcfg.port) as port:
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
            print(f"sim printer: cover {'open' if sim.status.cover_open else 'closed'}",
                  flush=True)

        stop = sdnotify.stop_on_signals()
        signal.signal(signal.SIGUSR1, toggle_paper)
        signal.signal(signal.SIGUSR2, toggle_cover)
        ptyend.start(sim)
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
    return 0
