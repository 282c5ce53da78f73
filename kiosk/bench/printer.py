"""``kiosk bench printer``: bytes per receipt and the time to stream one over serial.

Receipts are the real layout of a typical basket (weighed item, two promotions,
two tax classes, card payment with the lane's merchant and terminal id; the e-receipt QR
code when the configuration sets ``store.e_receipt_url``), encoded for the printer:

* ``text``: an English receipt, all ROM-font text;
* ``text_zh``: the Chinese receipt on a printer with a GBK font (FS & text mode);
* ``raster``: the Chinese receipt on a printer without a CJK font (raster lines);
* ``raster_ko``: the Korean receipt on a Chinese printer (raster lines).

Stream time is computed as bytes x 10 / baud (8N1) and checked against the
printer simulator throttled to that baud rate on a real socat pty pair: the
driver's wall time for ``print_receipt`` (status checks included) and the time
the simulator took to receive the bytes. Raster at 9600 baud is computed only:
the configuration refuses raster below 38400 baud. The last line is JSON.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kiosk_drivers.printer.config import PrinterConfig
from kiosk_drivers.printer.sim.simulator import PrinterSimulator
from kiosk_drivers.printer.transport import wire_seconds
from kiosk_drivers.sim.pty import PtyError, socat_binary, start_pty_pair

from kiosk.config import load_config
from kiosk.domain.checkout import CheckoutState, Line
from kiosk.domain.receipt import TerminalIds, build_receipt
from kiosk.i18n import translator
from kiosk.payments.acquirer import lane_ids
from kiosk.printing.encoder import ReceiptEncoder
from kiosk.printing.escpos import EscposPrinter


def _receipts() -> dict[str, tuple[object, str]]:
    config = load_config()

    def line(i: int, key: str, names: dict[str, str], price: int, qty: int = 1,
             weight: int | None = None, tax: str = "reduced") -> Line:
        return Line(line_id=i, key=key, gtin=None if weight else key,
                    plu=key if weight else None, names=names, unit_price_minor=price,
                    tax_class=tax, age_restricted=False, sold_by_weight=weight is not None,
                    qty=qty, weight_g=weight)

    tax = next(iter(config.tax.rates))
    lines = [
        line(1, "08801043444279", {"en": "Shin Ramyun 5-pack", "zh": "辛拉面 5连包",
                                   "ko": "신라면 5입"}, 499, 2, tax=tax),
        line(2, "00070666928444", {"en": "Cup Noodles Chicken 64g", "zh": "合味道鸡肉杯面 64g",
                                   "ko": "컵누들 치킨 64g"}, 99, 3, tax=tax),
        line(3, "04011", {"en": "Bananas", "zh": "香蕉", "ko": "바나나"}, 199, weight=1200,
             tax=tax),
        line(4, "08801094804527", {"en": "Coca-Cola 1.5L", "zh": "可口可乐 1.5L",
                                   "ko": "코카콜라 1.5L"}, 249, 2, tax=tax),
    ]
    when = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)
    ids = TerminalIds(*lane_ids(config.acquirer))

    def receipt(locale: str) -> object:
        state = CheckoutState(state="approved", txn="S001-L01-000042", locale=locale,
                              lines=lines, payment={
                                  "method": "card", "amount": 1903, "stan": 7, "idem_key": "b",
                                  "status": "approved", "auth_code": "A1B2C3",
                                  "card": {"brand": "VISA", "masked_pan": "******0119"}})
        return build_receipt(state, config, when, translator, ids=ids)

    return {"text": (receipt("en"), "gbk"), "text_zh": (receipt("zh_Hans"), "gbk"),
            "raster": (receipt("zh_Hans"), "none"), "raster_ko": (receipt("ko"), "gbk")}


def _measure(workdir: Path, receipt: object, font: str, baud: int) -> tuple[float, float]:
    """(driver wall seconds, simulator receive seconds) for one receipt at ``baud``."""
    tag = f"{font}-{baud}-{time.monotonic_ns()}"
    with start_pty_pair(workdir / f"host-{tag}", workdir / f"dev-{tag}") as pair:
        sim = PrinterSimulator(pair.device, workdir / f"png-{tag}", baudrate=baud,
                               cjk_font=font).start()
        try:
            cfg = PrinterConfig(port=str(pair.host), baudrate=baud, cjk_font=font,
                                raster_fallback=baud >= 38400, write_timeout_s=120)
            printer = EscposPrinter(cfg, workdir / "receipts")
            t0 = time.perf_counter()
            result = printer.print_receipt(receipt)  # type: ignore[arg-type]
            wall = time.perf_counter() - t0
            if not result.ok:
                raise RuntimeError(f"bench print failed: {result.reason}")
            sim.wait_receipts(1, timeout=300)
            st = sim.stats
            assert st.first_byte_at is not None and st.last_byte_at is not None
            return wall, st.last_byte_at - st.first_byte_at
        finally:
            sim.stop()


def bench_printer(measure: bool = True) -> int:
    """Print readable figures, then one JSON line (receipt_bytes, stream_s_9600, ...)."""
    logging.getLogger("kiosk_drivers.printer.sim.simulator").setLevel(logging.WARNING)
    receipts = _receipts()
    sizes: dict[str, int] = {}
    detail: dict[str, dict] = {}
    for mode, (receipt, font) in receipts.items():
        enc = ReceiptEncoder(PrinterConfig(cjk_font=font)).encode(receipt)  # type: ignore
        sizes[mode] = enc.size
        detail[mode] = {"bytes": enc.size, "raster_lines": enc.raster_lines,
                        "raster_bytes": enc.raster_bytes, "text_lines": enc.text_lines,
                        "printer_font": font}
    stream = {baud: {m: round(wire_seconds(n, baud), 3) for m, n in sizes.items()}
              for baud in (9600, 115200)}
    print("receipt bytes and stream time at 8N1 (bytes x 10 / baud):")
    for mode, n in sizes.items():
        d = detail[mode]
        print(f"  {mode:10s} {n:7d} B  ({d['raster_lines']:2d} raster lines,"
              f" {d['raster_bytes']:6d} B raster)   9600: {stream[9600][mode]:7.2f} s"
              f"   115200: {stream[115200][mode]:6.2f} s")
    measured: dict[int, dict[str, dict[str, float]]] = {9600: {}, 115200: {}}
    if measure:
        try:
            socat_binary()
        except PtyError as exc:
            print(f"cannot check against the simulator: {exc}")
            measure = False
    if measure:
        plan = [(9600, "text"), (115200, "text"), (115200, "raster")]
        with tempfile.TemporaryDirectory(prefix="kiosk-bench-printer-") as tmp:
            for baud, mode in plan:
                receipt, font = receipts[mode]
                wall, recv = _measure(Path(tmp), receipt, font, baud)
                measured[baud][mode] = {"driver_s": round(wall, 3), "sim_receive_s": round(recv, 3)}
        print("checked against the simulator throttled to the baud rate (real pty pair):")
        for baud, modes in measured.items():
            for mode, m in modes.items():
                print(f"  {mode:10s} @ {baud:6d}: computed {stream[baud][mode]:6.2f} s,"
                      f" simulator received in {m['sim_receive_s']:6.2f} s, driver returned"
                      f" after {m['driver_s']:6.2f} s (status checks included)")
        print("  raster @ 9600: computed only (raster needs >= 38400 baud by config)")
    print(json.dumps({
        "receipt_bytes": sizes,
        "stream_s_9600": stream[9600],
        "stream_s_115200": stream[115200],
        "measured_9600": measured[9600],
        "measured_115200": measured[115200],
        "modes": detail,
    }, separators=(",", ":")))
    return 0
