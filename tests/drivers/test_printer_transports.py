"""Printer transports as plug-ins: the ESC/POS backend prints through the one
``printer.transport`` names (entry-point group ``kiosk.printer_transports``).

* ``network``: a local TCP listener stands in for a printer's port 9100; it answers
  DLE EOT from the shared status table and feeds what it received to the simulator's
  ESC/POS interpreter, whose transcript must show every field of the receipt;
* ``usb``: the host end of a socat pty pair stands in for ``/dev/usb/lp0`` (the printer
  simulator on the other end answers status), and a regular file for a device that
  never answers (status unknown);
* ``file``: the bytes land in the file, job after job.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from kiosk_drivers.printer.config import PrinterConfig
from kiosk_drivers.printer.network import parse_address
from kiosk_drivers.printer.registry import load_transport, transport_names
from kiosk_drivers.printer.status import DLE, EOT, PrinterStatus
from kiosk_drivers.printer.transport import PrinterFault
from kiosk_drivers.printer.usblp import UsbTransport
from pydantic import ValidationError

from kiosk.printing.escpos import EscposPrinter
from tests.drivers.receipts import TXN, make_receipt
from tests.drivers.test_printer_units import _shows_all, _transcript


class NetworkPrinter:
    """A printer's raw TCP port on loopback: one job per connection, status answered
    as the queries arrive (or never, with ``answers=False``)."""

    def __init__(self, status: PrinterStatus | None = None, answers: bool = True) -> None:
        self.status = status or PrinterStatus()
        self.answers = answers
        self.jobs: list[bytes] = []
        self.job_done = threading.Semaphore(0)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data, scanned = bytearray(), 0
                while chunk := conn.recv(65536):
                    data += chunk
                    while (i := data.find(DLE, scanned)) >= 0 and i + 2 < len(data):
                        if data[i + 1] == EOT and self.answers:
                            conn.sendall(bytes((self.status.encode(data[i + 2]),)))
                        scanned = i + 1
                self.jobs.append(bytes(data))
            self.job_done.release()

    def wait_job(self) -> bytes:
        assert self.job_done.acquire(timeout=10), "the printer saw no complete job"
        return self.jobs[-1]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def net_printer():
    printers: list[NetworkPrinter] = []

    def start(**kwargs: object) -> NetworkPrinter:
        printers.append(NetworkPrinter(**kwargs))  # type: ignore[arg-type]
        return printers[-1]

    yield start
    for p in printers:
        p.close()


def _cfg(transport: str, port: str, **fields: object) -> PrinterConfig:
    return PrinterConfig(transport=transport, port=port, status_timeout_s=0.5,
                         write_timeout_s=2.0, **fields)  # type: ignore[arg-type]


def test_the_built_in_transports_are_entry_points():
    assert {"serial", "usb", "network", "file"} <= set(transport_names())
    assert load_transport("usb") is UsbTransport
    with pytest.raises(ValueError, match="unknown printer transport 'lpt'.*serial"):
        load_transport("lpt")


def test_transport_config_defaults_to_serial_and_refuses_an_unknown_one():
    assert PrinterConfig().transport == "serial"  # an old [printer] table stays valid
    with pytest.raises(ValidationError, match="unknown printer transport 'parallel'"):
        PrinterConfig(transport="parallel")
    # the baud-rate rule for raster receipts is a serial line's; a socket has no baud rate
    with pytest.raises(ValidationError, match="need baudrate >= 38400"):
        PrinterConfig(baudrate=9600)
    assert PrinterConfig(transport="network", baudrate=9600).raster_fallback


@pytest.mark.parametrize(("text", "want"), [
    ("192.0.2.7", ("192.0.2.7", 9100)), ("printer.local:9101", ("printer.local", 9101)),
    ("[fe80::1]:9100", ("fe80::1", 9100)), ("[::1]", ("::1", 9100))])
def test_network_addresses(text, want):
    assert parse_address(text) == want


@pytest.mark.parametrize("text", ["host:0", "host:x", ":9100", "[::1", "[::1]9100"])
def test_malformed_network_addresses_are_refused(text):
    with pytest.raises(ValueError, match="printer address"):
        parse_address(text)


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_a_receipt_over_the_network_prints_every_field(config, tmp_path, net_printer, locale):
    printer_sim = net_printer()
    printer = EscposPrinter(_cfg("network", f"127.0.0.1:{printer_sim.port}", cjk_font="gbk"),
                            tmp_path / "r")
    receipt = make_receipt(config, locale)
    result = printer.print_receipt(receipt)
    assert (result.ok, result.reason) == (True, "")
    assert printer.last_status == PrinterStatus()  # it answered DLE EOT over the socket
    lines, pages = _transcript(printer_sim.wait_job(), "gbk")
    assert _shows_all(receipt, lines) == [] and [ok for _, ok in pages] == [True]


def test_a_network_printer_reports_paper_out(config, tmp_path, net_printer):
    printer_sim = net_printer(status=PrinterStatus(paper_out=True))
    printer = EscposPrinter(_cfg("network", f"127.0.0.1:{printer_sim.port}"), tmp_path / "r")
    result = printer.print_receipt(make_receipt(config, "en"))
    assert (result.ok, result.reason) == (False, "paper_out")
    assert (tmp_path / "r" / f"{TXN}.json").exists()  # kept for reprint


def test_a_network_printer_that_never_answers_prints_with_status_unknown(
        config, tmp_path, net_printer):
    printer_sim = net_printer(answers=False)
    printer = EscposPrinter(_cfg("network", f"127.0.0.1:{printer_sim.port}"), tmp_path / "r")
    receipt = make_receipt(config, "en")
    result = printer.print_receipt(receipt)
    assert (result.ok, result.reason) == (True, "")
    assert printer.last_status is None
    lines, _ = _transcript(printer_sim.wait_job(), "none")
    assert _shows_all(receipt, lines) == []


def test_no_network_printer_is_a_fault_not_a_hang(config, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again: nothing listens there
    printer = EscposPrinter(_cfg("network", f"127.0.0.1:{port}"), tmp_path / "r")
    result = printer.print_receipt(make_receipt(config, "en"))
    assert (result.ok, result.reason) == (False, "port_error")


def test_file_transport_appends_each_job(config, tmp_path):
    out = tmp_path / "printer.bin"
    printer = EscposPrinter(_cfg("file", str(out)), tmp_path / "r")
    receipts = [make_receipt(config, "en"), make_receipt(config, "en", txn="S001-L01-000043")]
    for receipt in receipts:
        result = printer.print_receipt(receipt)
        assert (result.ok, result.reason) == (True, "")
    lines, pages = _transcript(out.read_bytes(), "none")
    assert [ok for _, ok in pages] == [True, True] and printer.last_status is None
    assert _shows_all(receipts[0], pages[0][0].text) == []
    assert _shows_all(receipts[1], pages[1][0].text) == []


def test_usb_device_with_a_printer_that_answers(config, tmp_path, start_sim, pty_pair):
    sim = start_sim(cjk_font="gbk", baudrate=0)
    printer = EscposPrinter(_cfg("usb", str(pty_pair.host), cjk_font="gbk"), tmp_path / "r")
    receipt = make_receipt(config, "ko")
    result = printer.print_receipt(receipt)
    assert (result.ok, result.reason) == (True, "")
    (page,) = sim.wait_receipts(1)
    assert page.complete and page.qr_payloads == [receipt.qr_payload]
    assert sim.stats.status_queries >= 4 and printer.last_status == PrinterStatus()
    sim.set_cover_open(True)
    result = printer.print_receipt(receipt)
    assert (result.ok, result.reason) == (False, "cover_open")


def test_usb_device_that_never_answers_prints_with_status_unknown(config, tmp_path):
    device = tmp_path / "lp0"  # a regular file standing in for /dev/usb/lp0
    device.touch()
    printer = EscposPrinter(_cfg("usb", str(device)), tmp_path / "r")
    receipt = make_receipt(config, "en")
    result = printer.print_receipt(receipt)
    assert (result.ok, result.reason) == (True, "")
    assert printer.last_status is None
    lines, pages = _transcript(device.read_bytes(), "none")
    assert _shows_all(receipt, lines) == [] and [ok for _, ok in pages] == [True]


def test_usb_device_is_exclusive_and_a_missing_one_is_a_fault(tmp_path):
    device = tmp_path / "lp0"
    device.touch()
    with UsbTransport(_cfg("usb", str(device))):
        with pytest.raises(PrinterFault) as caught:
            UsbTransport(_cfg("usb", str(device))).open()
    assert caught.value.reason == "port_busy"
    with pytest.raises(PrinterFault) as caught:
        UsbTransport(_cfg("usb", str(Path(tmp_path / "nope")))).open()
    assert caught.value.reason == "port_error"
