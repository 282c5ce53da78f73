"""The ESC/POS driver through a real socat pty pair to the printer simulator.

Full English, Chinese and Korean receipts are printed and rendered to PNGs (kept
under var/test-artifacts/drivers/ for a person to look at); paper out mid-job
keeps the receipt and a reprint prints it whole; cover open, a hung printer and
a blocked line end in a fault, never a hang; a second opener finds the port busy.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from kiosk_drivers.printer.transport import PrinterFault, SerialTransport, wire_seconds

from kiosk.printing.cli import reprint
from kiosk.printing.encoder import ReceiptEncoder
from kiosk.printing.escpos import EscposPrinter
from kiosk.printing.port import open_printer
from kiosk.printing.store import ReceiptStore
from tests.drivers.receipts import TXN, make_receipt, receipt_fields


def _scan_qr(png) -> list[str] | None:
    """Decode QR codes in a rendered receipt (None when no decoder is installed)."""
    if importlib.util.find_spec("zxingcpp") is None:
        return None
    import zxingcpp
    from PIL import Image

    return [r.text for r in zxingcpp.read_barcodes(Image.open(png))]


def _missing(receipt, sim_receipt) -> list[str]:
    joined = "\n".join(" ".join(line.split()) for line in sim_receipt.text)
    wrapped = "".join(sim_receipt.text)
    return [f for f in receipt_fields(receipt)
            if f not in joined and f not in wrapped and f not in sim_receipt.qr_payloads]


@pytest.mark.parametrize("locale,font", [("en", "gbk"), ("zh_Hans", "gbk"), ("ko", "gbk"),
                                         ("zh_Hans", "none")])
def test_full_receipt_through_the_pty_renders_every_field(
        locale, font, config, tmp_path, start_sim, printer_config, artifacts):
    sim = start_sim(cjk_font=font, baudrate=115200)
    printer = EscposPrinter(printer_config(cjk_font=font), tmp_path / "receipts")
    receipt = make_receipt(config, locale)
    result = printer.print_receipt(receipt)
    assert result.ok, result.reason
    (page,) = sim.wait_receipts(1)
    assert page.complete and page.qr_payloads == [receipt.qr_payload]
    expected = ReceiptEncoder(printer.config).encode(receipt)
    assert page.images == expected.raster_lines
    assert page.received_bytes >= expected.size
    if expected.raster_lines == 0:  # text mode: the transcript has every field
        assert _missing(receipt, page) == []
    else:  # raster lines are pictures of text; the rest is still text
        assert any(receipt.header[0] in line for line in page.text)
    assert sim.stats.unknown_commands == 0
    keep = artifacts / f"receipt-{locale}-{font}.png"
    shutil.copyfile(page.png, keep)
    assert _scan_qr(keep) in (None, [receipt.qr_payload])  # the printed QR code reads back
    assert ReceiptStore(tmp_path / "receipts").load(TXN) == receipt


def test_paper_out_mid_job_keeps_the_receipt_and_reprint_prints_it_whole(
        config, tmp_path, start_sim, printer_config, artifacts):
    # 40 mm of paper left: the roll runs out part-way through a ~16 cm receipt
    sim = start_sim(cjk_font="gbk", baudrate=115200, paper_length_mm=40)
    pcfg = printer_config(cjk_font="gbk", chunk_bytes=256)
    receipts_dir = tmp_path / "receipts"
    printer = open_printer("escpos", receipts_dir, pcfg)
    receipt = make_receipt(config, "zh_Hans")
    result = printer.print_receipt(receipt)
    assert not result.ok and result.reason == "paper_out"
    assert result.path.endswith(f"{TXN}.json")
    (partial,) = sim.wait_receipts(1)  # the driver cleared the half job from the printer
    assert not partial.complete and sim.stats.buffer_clears == 1
    assert receipt.qr_payload not in partial.qr_payloads
    # the receipt was kept; once paper is loaded, reprint prints all of it
    assert ReceiptStore(receipts_dir).load(TXN) == receipt
    again = reprint(TXN, receipts_dir, "escpos", pcfg)
    assert not again.ok and again.reason == "paper_out"  # still no paper: refused up front
    sim.load_paper()
    again = reprint(TXN, receipts_dir, "escpos", pcfg)
    assert again.ok, again.reason
    pages = sim.wait_receipts(2)
    assert pages[1].complete and _missing(receipt, pages[1]) == []
    assert pages[1].qr_payloads == [receipt.qr_payload]
    shutil.copyfile(partial.png, artifacts / "receipt-paper-out-partial.png")
    shutil.copyfile(pages[1].png, artifacts / "receipt-reprint-after-paper-out.png")


def test_cover_open_is_refused_before_anything_is_printed(config, tmp_path, start_sim,
                                                          printer_config):
    sim = start_sim(baudrate=115200)
    sim.set_cover_open(True)
    printer = EscposPrinter(printer_config(), tmp_path / "receipts")
    result = printer.print_receipt(make_receipt(config, "en"))
    assert (result.ok, result.reason) == (False, "cover_open")
    assert sim.stats.bytes_received == 12  # only the four DLE EOT queries
    assert printer.last_status is not None and printer.last_status.cover_open
    sim.set_cover_open(False)
    assert printer.print_receipt(make_receipt(config, "en")).ok


def test_paper_near_end_prints_and_warns(config, tmp_path, start_sim, printer_config):
    sim = start_sim(baudrate=115200)
    sim.set_near_end(True)
    result = EscposPrinter(printer_config(), tmp_path / "r").print_receipt(
        make_receipt(config, "en"))
    assert (result.ok, result.reason) == (True, "paper_near_end")
    assert sim.wait_receipts(1)[0].complete


def test_a_hung_printer_is_a_fault_not_a_hang(config, tmp_path, start_sim, printer_config):
    sim = start_sim(baudrate=115200)
    sim.set_stalled(True)
    printer = EscposPrinter(printer_config(status_timeout_s=0.3), tmp_path / "r")
    result = printer.print_receipt(make_receipt(config, "en"))
    assert (result.ok, result.reason) == (False, "no_response")


def test_write_timeout_is_a_fault(start_sim, printer_config):
    sim = start_sim(baudrate=115200)
    sim.set_stalled(True)  # reads nothing: the pty and socat buffers fill, then writes block
    with SerialTransport(printer_config(write_timeout_s=0.5)) as port:
        with pytest.raises(PrinterFault) as caught:
            port.write(b"\x00" * (4 << 20))
    assert caught.value.reason == "write_timeout"


def test_the_port_is_exclusive(start_sim, printer_config):
    start_sim()
    with SerialTransport(printer_config()):
        with pytest.raises(PrinterFault) as caught:
            SerialTransport(printer_config()).open()
    assert caught.value.reason == "port_busy"


def test_a_missing_port_is_a_fault(config, tmp_path):
    from kiosk_drivers.printer.config import PrinterConfig

    printer = EscposPrinter(PrinterConfig(port=str(tmp_path / "nope")), tmp_path / "r")
    result = printer.print_receipt(make_receipt(config, "en"))
    assert (result.ok, result.reason) == (False, "port_error")
    assert (tmp_path / "r" / f"{TXN}.json").exists()  # kept for reprint all the same


def test_the_simulator_reads_at_the_configured_baud_rate(config, tmp_path, start_sim,
                                                         printer_config):
    sim = start_sim(baudrate=9600)
    # the status answer comes after the simulator has read the receipt at 9600 baud: on a
    # busy machine its reader runs late, so give it more than the 1 s the fast tests use
    printer = EscposPrinter(printer_config(status_timeout_s=5.0), tmp_path / "r")
    receipt = make_receipt(config, "en")
    assert printer.print_receipt(receipt).ok
    sim.wait_receipts(1)
    st = sim.stats
    received = st.bytes_received
    # the token bucket lets at most a 20 ms burst through ahead of the wire
    floor = wire_seconds(received, 9600) - 0.02 - wire_seconds(16, 9600)
    assert st.last_byte_at - st.first_byte_at >= floor


def test_a_catalog_name_cannot_reset_or_cut_the_printer(config, tmp_path, start_sim,
                                                        printer_config):
    from tests.drivers.test_printer_units import HOSTILE_NAME

    sim = start_sim(cjk_font="gbk", baudrate=115200)
    receipt = make_receipt(config, "en")
    receipt.lines.insert(0, (HOSTILE_NAME, "US$1.00"))
    result = EscposPrinter(printer_config(), tmp_path / "r").print_receipt(receipt)
    assert result.ok, result.reason
    (page,) = sim.wait_receipts(1)
    assert sim.wait_idle() and len(sim.receipts) == 1 and len(sim.stats.cut_at) == 1
    assert page.complete and page.qr_payloads == [receipt.qr_payload]
    assert any("Milk@V1L" in line for line in page.text)
    assert any(receipt.header[0] in line for line in page.text)  # no reset lost the header
    assert sim.stats.unknown_commands == 0
