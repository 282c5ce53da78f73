"""The real receipt printer backend: ESC/POS over any transport (``devices.printer = "escpos"``).

The transport is the plug-in ``printer.transport`` names (serial by default, USB
printer class, network port 9100, file: :mod:`kiosk_drivers.printer.registry`).
``print_receipt`` keeps the receipt (JSON, for reprint and the e-receipt), checks
the printer's status, streams the encoded receipt in chunks with a status check
after each, and reports what happened as a :class:`PrintResult`: ``ok`` with an
empty reason (or ``paper_near_end`` as a warning; a transport whose printer does
not answer status queries prints with the status unknown), or not ``ok`` with the fault:
``paper_out``, ``cover_open``, ``offline``, ``printer_error``, ``cutter_error``,
``no_response``, ``write_timeout``, ``port_busy``, ``port_error``. It never
raises and never blocks past the configured timeouts; the core calls it from a
worker thread.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kiosk_drivers.printer.config import PrinterConfig
from kiosk_drivers.printer.registry import load_transport
from kiosk_drivers.printer.status import PrinterStatus
from kiosk_drivers.printer.transport import PrinterFault, Transport

from kiosk.domain.receipt import Receipt
from kiosk.printing.encoder import ReceiptEncoder
from kiosk.printing.result import PrintResult
from kiosk.printing.store import ReceiptStore

log = logging.getLogger(__name__)


class EscposPrinter:
    def __init__(self, config: PrinterConfig, receipts_dir: Path) -> None:
        self.config = config
        self.transport = load_transport(config.transport)
        self.store = ReceiptStore(receipts_dir)
        self.encoder = ReceiptEncoder(config)
        self.last_status: PrinterStatus | None = None
        self._lock = threading.Lock()  # one job at a time from this process

    def _open(self) -> Transport:
        return self.transport(self.config)

    def status(self) -> PrinterStatus | None:
        """Query the printer now (raises PrinterFault when it cannot be reached; None when
        its transport gets no status from it)."""
        with self._lock, self._open() as port:
            self.last_status = port.status()
            return self.last_status

    def print_receipt(self, receipt: Receipt) -> PrintResult:
        try:
            path = str(self.store.save(receipt))
        except (OSError, ValueError) as exc:
            log.error("cannot keep receipt %s: %s", receipt.txn, exc)
            path = ""
        try:
            encoded = self.encoder.encode(receipt)
        except Exception:
            log.exception("receipt %s could not be encoded", receipt.txn)
            return PrintResult(False, path, "encode_error")
        with self._lock:
            return self._print(encoded.segments, path, receipt.txn)

    def _print(self, segments: list[bytes], path: str, txn: str) -> PrintResult:
        cfg = self.config
        try:
            with self._open() as port:
                if cfg.status_checks:
                    before = port.status()
                    self.last_status = before
                    if before is not None and before.fault:
                        raise PrinterFault(before.fault, "before printing", before)
                try:
                    after = port.send(segments)
                except PrinterFault as fault:
                    if fault.reason not in ("port_error", "port_busy"):
                        port.clear_printer_buffers()  # do not finish half a job later
                    raise
                if after is not None:
                    self.last_status = after
        except PrinterFault as fault:
            if fault.status is not None:
                self.last_status = fault.status
            log.warning("receipt %s not printed: %s", txn, fault)
            return PrintResult(False, path, fault.reason)
        warning = self.last_status.warning if self.last_status else ""
        return PrintResult(True, path, warning)
