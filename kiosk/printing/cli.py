"""``kiosk receipt reprint TXN``: print a kept receipt again on the configured printer.

``kiosk/cli.py`` wires it with :func:`add_reprint_args` / :func:`reprint_main`. This module
is imported to build ``kiosk``'s argument parser, so the printer stack and the
configuration load only when the command runs. The printer simulator's command
(``kiosk sim printer``) is :mod:`kiosk.sim.printer`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk_drivers.printer.config import PrinterConfig

    from kiosk.printing.result import PrintResult

log = logging.getLogger(__name__)


# -- kiosk receipt reprint ------------------------------------------------------------------

def add_reprint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("txn", help="transaction id, e.g. S001-L01-000042")


def reprint(txn: str, receipts_dir: Path, kind: str,
            printer_config: PrinterConfig | None = None) -> PrintResult:
    """Print a kept receipt again on the configured printer, marked as a copy with the
    reprint time (:func:`kiosk.domain.receipt.mark_copy`)."""
    from datetime import datetime

    from kiosk.domain.receipt import mark_copy
    from kiosk.i18n import translator
    from kiosk.printing.port import open_printer
    from kiosk.printing.store import ReceiptStore

    receipt = mark_copy(ReceiptStore(receipts_dir).load(txn), datetime.now().astimezone(),
                        translator)
    return open_printer(kind, receipts_dir, printer_config).print_receipt(receipt)


def reprint_main(args: argparse.Namespace) -> int:
    from kiosk.config import load_config_or_exit
    from kiosk.printing.store import ReceiptNotFound

    config = load_config_or_exit()
    try:
        result = reprint(args.txn, config.receipts_dir, config.devices.printer,
                         config.printer)
    except (ReceiptNotFound, ValueError) as exc:
        print(f"reprint: {exc}", file=sys.stderr)
        return 2
    if not result.ok:
        print(f"reprint: {args.txn} not printed: {result.reason}", file=sys.stderr)
        return 1
    note = f" ({result.reason})" if result.reason else ""
    print(f"reprint: {args.txn} {went_to(config.devices.printer, config.printer, result)}{note}")
    return 0


def went_to(kind: str, printer_config: PrinterConfig, result: PrintResult) -> str:
    """Where a printed receipt went, in words: never "printed" when it became a file."""
    if kind == "sim":  # the text-file printer: result.path is the file it wrote
        return f"written to {result.path} (simulated printer: a text file, not paper)"
    if printer_config.transport == "file":
        return f"written as ESC/POS bytes to {printer_config.port} (file transport, not paper)"
    return f"printed on the {printer_config.transport} printer at {printer_config.port}"
