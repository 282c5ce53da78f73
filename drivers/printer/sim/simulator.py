"""The printer simulator (``kiosk sim printer``): an ESC/POS printer on a pseudo-terminal.

It opens the printer end of a pty pair (made by ``socat pty,raw,echo=0`` on both
ends, so binary data passes unchanged) and behaves like a serial receipt printer:

* **wire speed**: reads are throttled to ``baudrate`` (8N1, ten bits a byte), so
  the host sees the same back-pressure and stream time as on a real line;
* **real-time commands** are acted on as bytes arrive, whatever is being parsed:
  ``DLE EOT n`` is answered at once with the status byte, ``DLE DC4 8`` clears
  the buffers (answer ``37 25 00``);
* **receive buffer**: bytes wait in a bounded buffer for the print engine; when
  the engine stops (paper out, cover open) the buffer fills and the printer
  stops reading, which is flow control as the host feels it;
* **print engine**: :class:`~kiosk_drivers.printer.sim.decoder.Interpreter` executes the
  commands onto a :class:`~kiosk_drivers.printer.sim.render.Page`; a cut saves the page as
  PNG (plus a text transcript) in ``out_dir``;
* **paper**: a roll of ``paper_length_mm`` (or endless) runs out while printing;
  :meth:`set_paper_out`, :meth:`load_paper`, :meth:`set_cover_open`,
  :meth:`set_near_end` and :meth:`set_stalled` flip the switches from tests, and
  the CLI maps SIGUSR1 / SIGUSR2 to paper out / cover open.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kiosk_drivers.printer.config import DOTS_FOR_WIDTH, NOTO_CJK
from kiosk_drivers.printer.raster import face_for
from kiosk_drivers.printer.sim.decoder import Interpreter
from kiosk_drivers.printer.sim.render import Page
from kiosk_drivers.printer.status import DC4, DLE, ENQ, EOT, PrinterStatus
from kiosk_drivers.sim.device import PtyDevice

log = logging.getLogger(__name__)
CLEAR_ANSWER = bytes((0x37, 0x25, 0x00))
DOTS_PER_MM = 8


@dataclass
class SimReceipt:
    """A page the simulator finished: by a cut (complete) or by a buffer clear."""

    number: int
    png: Path
    complete: bool
    text: list[str]
    qr_payloads: list[str]
    images: int
    height_dots: int
    received_bytes: int


@dataclass
class SimStats:
    bytes_received: int = 0
    first_byte_at: float | None = None
    last_byte_at: float | None = None
    status_queries: int = 0
    buffer_clears: int = 0
    unknown_commands: int = 0
    cut_at: list[float] = field(default_factory=list)


class PrinterSimulator(PtyDevice):
    kind = "printer"

    def __init__(self, device: str | Path, out_dir: Path, *, baudrate: int = 0,
                 cjk_font: str = "gbk", paper_width_mm: int = 80, buffer_bytes: int = 8192,
                 paper_length_mm: float | None = None, font_path: Path = NOTO_CJK,
                 prefix: str = "receipt") -> None:
        super().__init__(device)
        self.out_dir = Path(out_dir)
        self.baudrate = baudrate
        self.cjk_font = cjk_font
        self.width_dots = DOTS_FOR_WIDTH[paper_width_mm]
        self.buffer_bytes = buffer_bytes
        self.font_path = font_path
        self.prefix = prefix
        self.receipts: list[SimReceipt] = []
        self.stats = SimStats()
        self._paper_left: float | None = (paper_length_mm * DOTS_PER_MM
                                          if paper_length_mm else None)
        self._paper_out = False
        self._cover_open = False
        self._near_end = False
        self._stalled = False
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._scan = 0          # buffer index up to which real-time commands were scanned
        self._page_bytes = 0
        charset = {"gbk": "gbk", "ksc5601": "euc_kr"}.get(cjk_font)
        lang = "ko" if cjk_font == "ksc5601" else "zh"
        self._face = face_for(lang, mono=True)
        self.interp = Interpreter(self._new_page, self._on_page_end, double_byte=charset)

    # -- switches (thread-safe) --------------------------------------------------------

    @property
    def status(self) -> PrinterStatus:
        with self._cond:
            return PrinterStatus(online=not self._stalled, cover_open=self._cover_open,
                                 paper_out=self._paper_out, paper_near_end=self._near_end)

    def set_paper_out(self, out: bool = True) -> None:
        with self._cond:
            self._paper_out = out
            if out:
                self._paper_left = 0
            self._cond.notify_all()

    def load_paper(self, length_mm: float | None = None) -> None:
        with self._cond:
            self._paper_out = False
            self._paper_left = length_mm * DOTS_PER_MM if length_mm else None
            self._cond.notify_all()

    def set_cover_open(self, open_: bool = True) -> None:
        with self._cond:
            self._cover_open = open_
            self._cond.notify_all()

    def set_near_end(self, near: bool = True) -> None:
        with self._cond:
            self._near_end = near

    def set_stalled(self, stalled: bool = True) -> None:
        """A hung printer: reads nothing, answers nothing."""
        with self._cond:
            self._stalled = stalled
            self._cond.notify_all()

    def wait_receipts(self, count: int, timeout: float = 30) -> list[SimReceipt]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.receipts) >= count, timeout):
                raise TimeoutError(f"simulator finished {len(self.receipts)} of {count}"
                                   f" receipts within {timeout} s")
            return list(self.receipts)

    def wait_idle(self, timeout: float = 10) -> bool:
        """Until every byte received so far has been processed (or the engine is stopped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._buf or not self._printable():
                    return True
            time.sleep(0.01)
        return False

    # -- the loop ----------------------------------------------------------------------

    def _printable(self) -> bool:
        return not (self._paper_out or self._cover_open or self._stalled)

    def _run(self) -> None:
        budget = 0.0
        last = time.monotonic()
        burst = max(16.0, self.baudrate / 10 * 0.02) if self.baudrate else 0.0
        while not self._stop.is_set():
            with self._cond:
                stalled = self._stalled
                # a printing engine drains the buffer faster than the wire fills it (a
                # command bigger than the buffer streams through); a stopped one does not
                room = (self.buffer_bytes - len(self._buf) if not self._printable()
                        else max(4096, self.buffer_bytes - len(self._buf)))
            want = 4096 if not self.baudrate else 0
            if self.baudrate:
                now = time.monotonic()
                budget = min(burst, budget + (now - last) * self.baudrate / 10)
                last = now
                want = int(budget)
            if stalled or room <= 0 or (self.baudrate and want < 1):
                self._engine()
                time.sleep(0.002 if self.baudrate and not stalled and room > 0 else 0.01)
                continue
            data = self._read(min(want or 4096, room), 0.02)
            if data is None:
                break
            if data:
                if self.baudrate:
                    budget -= len(data)
                self._receive(data)
            self._engine()

    def _receive(self, data: bytes) -> None:
        now = time.monotonic()
        with self._cond:
            st = self.stats
            st.bytes_received += len(data)
            st.first_byte_at = st.first_byte_at or now
            st.last_byte_at = now
            self._page_bytes += len(data)
            self._buf += data
            self._realtime()

    def _realtime(self) -> None:
        """Act on real-time commands in newly received bytes (lock held)."""
        buf = self._buf
        i = self._scan
        while True:
            i = buf.find(DLE, i)
            if i < 0:
                self._scan = len(buf)
                return
            if i + 2 >= len(buf):
                self._scan = i  # perhaps the start of a sequence: look again with more bytes
                return
            c, n = buf[i + 1], buf[i + 2]
            if c == EOT and 1 <= n <= 4:
                self.stats.status_queries += 1
                self._send(bytes((self._status_locked().encode(n),)))
                i += 3
            elif c == DC4 and n == 8:
                if len(buf) < i + 10:
                    self._scan = i
                    return
                self._clear(i + 10)
                i = 0
                buf = self._buf
            elif c == ENQ:
                i += 3
            else:
                i += 1

    def _status_locked(self) -> PrinterStatus:
        return PrinterStatus(online=True, cover_open=self._cover_open,
                             paper_out=self._paper_out, paper_near_end=self._near_end)

    def _clear(self, upto: int) -> None:
        """DLE DC4 8: drop everything received before (and with) the command."""
        self.stats.buffer_clears += 1
        del self._buf[:upto]
        self._scan = 0
        self._page_bytes = 0
        self.interp.abort_page()
        self._send(CLEAR_ANSWER)

    def _engine(self) -> None:
        """Print what is in the buffer while the printer can print."""
        with self._cond:
            pos = 0
            while pos < len(self._buf) and self._printable():
                before = self.interp.consumed_dots
                limit = self._scan  # never parse bytes not yet scanned for real-time commands
                if pos >= limit:
                    break
                used = self.interp.step(bytes(self._buf[pos:limit]), 0)
                if used == 0:
                    break
                pos += used
                if self._paper_left is not None:
                    self._paper_left -= self.interp.consumed_dots - before
                    if self._paper_left <= 0:
                        self._paper_out = True
                        log.info("printer simulator: paper out")
            if pos:
                del self._buf[:pos]
                self._scan = max(0, self._scan - pos)
            self.stats.unknown_commands = self.interp.unknown

    # -- pages -------------------------------------------------------------------------

    def _new_page(self) -> Page:
        return Page(self.width_dots, self.font_path, self._face)

    def _on_page_end(self, page: Page, complete: bool) -> None:
        number = len(self.receipts) + 1
        name = f"{self.prefix}-{number:04d}{'' if complete else '-incomplete'}.png"
        path = page.save(self.out_dir / name, complete)
        rec = SimReceipt(number, path, complete, list(page.text), list(page.qr_payloads),
                         page.images, page.height, self._page_bytes)
        self._page_bytes = 0
        self.stats.cut_at.append(time.monotonic())
        self.receipts.append(rec)
        log.info("printer simulator: %s %s (%d dots)", "printed" if complete else "aborted",
                 path, page.height)
        self._cond.notify_all()
