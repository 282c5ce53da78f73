"""The doctor's device checks: printer and its paper, card reader, scanner, GPIO.

Each configured device is asked whether it is there and answering, through the project's own
port where there is one (the printer's status through :class:`EscposPrinter`); a simulated
device is said to be one. Hardware libraries (pyscard, evdev) load only when a device of
theirs is configured. :mod:`kiosk.ops.doctor` runs these with the lane's other checks.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.ops.doctor_report import Finding, fail, ok, warn

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

PRINTER_FIXES = {
    "paper_out": "load a new paper roll (docs/operator.md, refill paper)",
    "paper_near_end": "the roll is nearly out: have a new one ready",
    "cover_open": "close the printer cover",
    "cutter_error": "clear the jam at the cutter (docs/operator.md), then close the cover",
    "printer_error": "open and close the cover; power-cycle the printer if it stays",
    "offline": "check the printer's power and cable",
    "no_response": "check the printer's power, cable and printer.baudrate",
    "port_busy": "a receipt is printing (kiosk-core holds the port per job): run again",
    "port_error": "check printer.port and the cable (is the device node there?)",
}


def existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (a state dir not made yet)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_printer(config: KioskConfig) -> Iterator[Finding]:
    if config.devices.printer == "sim":
        where = existing(config.receipts_dir)
        if os.access(where, os.W_OK):
            yield ok("printer", f"simulated: receipts are text files in {config.receipts_dir}")
        else:
            yield fail("printer", f"simulated, but {where} is not writable",
                       f"chown the state dir {config.paths.state_dir} to the kiosk user")
        return
    from kiosk_drivers.printer.transport import PrinterFault

    from kiosk.printing.escpos import EscposPrinter

    cfg = config.printer
    where = f"{cfg.transport} {cfg.port}"
    try:
        status = EscposPrinter(cfg, config.receipts_dir).status()
    except PrinterFault as fault:
        verdict = warn if fault.reason == "port_busy" else fail  # busy: a job is printing
        yield verdict("printer", f"{where}: {fault}", PRINTER_FIXES.get(
            fault.reason, "check the printer's power and cable"))
        yield warn("printer paper", "unknown (the printer did not answer)")
        return
    if status is None:
        yield ok("printer", f"{where}: reachable, gives no status")
        yield warn("printer paper", f"unknown: the {cfg.transport} transport reports no status")
        return
    fault = status.fault
    if fault and fault != "paper_out":
        yield fail("printer", f"{where}: {fault}", PRINTER_FIXES.get(fault, ""))
    else:
        yield ok("printer", f"{where}: answers, online")
    if status.paper_out:
        yield fail("printer paper", "out of paper", PRINTER_FIXES["paper_out"])
    elif status.paper_near_end:
        yield warn("printer paper", "near end", PRINTER_FIXES["paper_near_end"])
    else:
        yield ok("printer paper", "loaded")


def check_card_reader(config: KioskConfig) -> Iterator[Finding]:
    if config.devices.payment == "sim":
        yield ok("card reader", "simulated (devices.payment = \"sim\")")
        return
    import re

    from smartcard import scard  # pyscard: only when a reader is configured

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        yield fail("card reader", f"pcscd not available: {scard.SCardGetErrorMessage(hresult)}",
                   "systemctl status pcscd.socket; systemctl restart pcscd")
        return
    try:
        hresult, readers = scard.SCardListReaders(ctx, [])
    finally:
        scard.SCardReleaseContext(ctx)
    pattern = config.cardreader.reader_pattern
    found = [r for r in (readers if hresult == scard.SCARD_S_SUCCESS else [])
             if not pattern or re.search(pattern, r)]
    if found:
        yield ok("card reader", f"pcscd sees {', '.join(found)}")
    else:
        like = f" matching {pattern!r}" if pattern else ""
        yield fail("card reader", f"pcscd sees no reader{like}",
                   "plug the reader in (USB); check cardreader.reader_pattern")


def _device_node(path: str, check: str, what: str, fix: str) -> Finding:
    if not os.path.exists(path):
        return fail(check, f"{what} {path} missing", fix)
    if not os.access(path, os.R_OK):
        return fail(check, f"{what} {path} not readable by this user",
                    "run kiosk doctor as root, or check the unit's DeviceAllow=")
    return ok(check, f"{what} {path} present")


def check_scanner(config: KioskConfig) -> Iterator[Finding]:
    kind = config.devices.scanner
    if kind == "sim":
        yield ok("scanner", "simulated (devices.scanner = \"sim\")")
    elif kind == "camera":
        source = config.scanner.camera.source
        if source.isdigit():
            source = f"/dev/video{source}"
        if "://" in source:
            yield warn("scanner", f"camera stream {source}: not checked")
        else:
            yield _device_node(source, "scanner", "camera", "plug the camera in; check"
                               " [scanner.camera] source (ls /dev/video*)")
    else:
        from kiosk_drivers.scanner.wedge import find_device

        try:
            path = find_device(config.scanner.wedge)
        except (FileNotFoundError, OSError) as exc:
            yield fail("scanner", f"wedge: {exc}", "plug the scanner in; check [scanner.wedge]")
            return
        yield _device_node(path, "scanner", "wedge", "plug the scanner in")


def check_gpio(config: KioskConfig) -> Iterator[Finding]:
    factory = config.gpio.pin_factory
    if factory == "mock":
        if config.security.production:
            yield fail("gpio", "mock pins on a production lane: no light, buttons or door",
                       "set [gpio] pin_factory = \"lgpio\" in /etc/kiosk")
        else:
            yield ok("gpio", "mock pins (no hardware)")
        return
    chips = sorted(glob.glob("/dev/gpiochip*"))
    if not chips:
        yield fail("gpio", "no /dev/gpiochip*: not a Pi, or the GPIO driver is missing",
                   "on a dev box set KIOSK__GPIO__PIN_FACTORY=mock")
    else:
        yield _device_node(chips[0], "gpio", "GPIO chip", "")
