"""ESC/POS interpreter for the simulator: bytes in, lines / images / QR codes / cuts out.

:meth:`Interpreter.step` executes one complete command (or a run of text) from
the front of a buffer and returns how many bytes it used, or 0 when the command
there is not complete yet (more bytes must arrive first). It keeps the print
modes a printer keeps: code page (``ESC t``), ``ESC !`` / ``GS !`` sizes,
emphasis, underline, reverse, justification, line spacing, and the double-byte
character mode (``FS &`` / ``FS .``) whose bytes are decoded with the ROM font's
charset (GBK or KS C 5601) when the simulated printer has one. Real-time
commands (``DLE EOT``, ``DLE ENQ``, ``DLE DC4``) were already answered when they
were received, so here they are only skipped. Unknown commands are counted and
skipped, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk_drivers.printer.sim.render import Cell, Page

log = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
DEFAULT_SPACING = 30
#: ESC / GS commands with a fixed number of parameter bytes that are accepted and ignored
ESC_FIXED = {ord("="): 1, ord("R"): 1, ord(" "): 1, ord("$"): 2, ord("\\"): 2, ord("V"): 1,
             ord("p"): 3, ord("B"): 2, ord("c"): 2, ord("U"): 1, ord("r"): 1, ord("S"): 0,
             ord("L"): 0, ord("T"): 1, ord("%"): 1}
GS_FIXED = {ord("L"): 2, ord("W"): 2, ord("h"): 1, ord("w"): 1, ord("H"): 1, ord("f"): 1,
            ord("b"): 1, ord("|"): 1, ord("a"): 1, ord("P"): 2, ord("r"): 1, ord("I"): 1,
            ord("$"): 2, ord("\\"): 2, ord("T"): 1, ord("^"): 3, ord(":"): 0}
FS_FIXED = {ord("!"): 1, ord("-"): 1, ord("C"): 1, ord("S"): 2, ord("W"): 1, ord("p"): 2,
            ord("?"): 1}


@dataclass
class Modes:
    """The print modes ESC @ resets."""

    font_b: bool = False
    bold: bool = False
    underline: bool = False
    invert: bool = False
    sx: int = 1
    sy: int = 1
    align: str = "left"
    spacing: int = DEFAULT_SPACING
    code_page: int = 0
    kanji: bool = False
    upside_down: bool = False


@dataclass
class Interpreter:
    page_factory: Callable[[], Page]
    on_cut: Callable[[Page, bool], None]
    double_byte: str | None = "gbk"          # the ROM font's charset, None: no such font
    code_pages: dict[int, str] = field(default_factory=dict)
    modes: Modes = field(default_factory=Modes)
    line: list[Cell] = field(default_factory=list)
    page: Page | None = None
    unknown: int = 0
    qr_store: bytes = b""
    qr_module: int = 3
    qr_ec: int = 48
    consumed_dots: int = 0
    cuts: int = 0

    def __post_init__(self) -> None:
        if not self.code_pages:
            from escpos.printer import Dummy

            pages = Dummy().profile.get_code_pages()
            self.code_pages = {int(num): name for name, num in pages.items()}

    # -- helpers -----------------------------------------------------------------------

    def _page(self) -> Page:
        if self.page is None:
            self.page = self.page_factory()
        return self.page

    def _codec(self) -> str:
        name = self.code_pages.get(self.modes.code_page, "CP437")
        return name.lower().replace("_", "-")

    def _print_line(self) -> None:
        used = self._page().text_line(self.line, self.modes.align, self.modes.spacing)
        self.consumed_dots += used
        self.line = []

    def _cell(self, char: str, wide: bool = False) -> Cell:
        m = self.modes
        return Cell(char, wide, m.bold, m.underline, m.invert, m.sx, m.sy)

    def abort_page(self) -> None:
        """Drop the line being built and end the current page as incomplete."""
        self.line = []
        if self.page is not None:
            page, self.page = self.page, None
            self.on_cut(page, False)

    # -- the command loop ---------------------------------------------------------------

    def step(self, buf: bytes | bytearray | memoryview, pos: int = 0) -> int:
        """Execute what starts at ``buf[pos]``; bytes used, 0 if incomplete."""
        n = len(buf) - pos
        if n <= 0:
            return 0
        b = buf[pos]
        if b >= 0x20:
            return self._text(buf, pos)
        if b == 0x0A:
            self._print_line()
            return 1
        if b in (0x0D, 0x00, 0x0C, 0x07, 0x18):
            return 1
        if b == 0x09:
            col = len(self.line)
            for _ in range(8 - col % 8):
                self.line.append(self._cell(" "))
            return 1
        if b == ESC:
            return self._esc(buf, pos)
        if b == GS:
            return self._gs(buf, pos)
        if b == FS:
            return self._fs(buf, pos)
        if b == DLE:
            return self._dle(buf, pos)
        self.unknown += 1
        return 1

    def _text(self, buf: bytes | bytearray | memoryview, pos: int) -> int:
        end = pos
        size = len(buf)
        if self.modes.kanji and self.double_byte:
            while end < size and buf[end] >= 0x20:
                if buf[end] >= 0x80:
                    if end + 1 >= size:
                        break
                    pair = bytes(buf[end:end + 2])
                    self.line.append(self._cell(pair.decode(self.double_byte, "replace")[:1],
                                                wide=True))
                    end += 2
                else:
                    self.line.append(self._cell(chr(buf[end])))
                    end += 1
            return end - pos
        while end < size and buf[end] >= 0x20:
            end += 1
        raw = bytes(buf[pos:end])
        try:
            text = raw.decode(self._codec(), "replace")
        except LookupError:
            text = "".join(chr(c) if c < 0x80 else "?" for c in raw)
        self.line.extend(self._cell(ch) for ch in text)
        return end - pos

    def _esc(self, buf: bytes | bytearray | memoryview, pos: int) -> int:
        if len(buf) - pos < 2:
            return 0
        c = buf[pos + 1]
        m = self.modes

        def arg() -> int | None:
            return buf[pos + 2] if len(buf) - pos >= 3 else None

        if c == ord("@"):
            if self.line:
                self._print_line()
            self.modes = Modes()
            return 2
        if c in (ord("2"),):
            m.spacing = DEFAULT_SPACING
            return 2
        if c in (ord("!"), ord("E"), ord("-"), ord("a"), ord("M"), ord("t"), ord("d"),
                 ord("J"), ord("3"), ord("{"), ord("G")):
            n = arg()
            if n is None:
                return 0
            if c == ord("!"):
                m.font_b, m.bold = bool(n & 1), bool(n & 8)
                m.sy, m.sx = (2 if n & 16 else 1), (2 if n & 32 else 1)
                m.underline = bool(n & 128)
            elif c in (ord("E"), ord("G")):
                m.bold = bool(n & 1)
            elif c == ord("-"):
                m.underline = n in (1, 2, 49, 50)
            elif c == ord("a"):
                m.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                           50: "right"}.get(n, "left")
            elif c == ord("M"):
                m.font_b = n in (1, 49)
            elif c == ord("t"):
                m.code_page = n
            elif c == ord("d"):
                self._print_line()
                self._feed(max(0, n - 1) * m.spacing)
            elif c == ord("J"):
                if self.line:
                    self._print_line()
                self._feed(n)
            elif c == ord("3"):
                m.spacing = n
            elif c == ord("{"):
                m.upside_down = bool(n & 1)
            return 3
        if c == ord("*"):  # ESC * m nL nH d1..dk: column bit image, skipped
            if len(buf) - pos < 5:
                return 0
            mode, width = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            total = 5 + width * (3 if mode in (32, 33) else 1)
            if len(buf) - pos < total:
                return 0
            self.unknown += 1
            return total
        if c == ord("D"):  # ESC D n1 .. NUL: tab stops
            end = bytes(buf[pos + 2:]).find(b"\x00")
            return 0 if end < 0 else end + 3
        fixed = ESC_FIXED.get(c)
        if fixed is not None:
            return 2 + fixed if len(buf) - pos >= 2 + fixed else 0
        self.unknown += 1
        return 2

    def _feed(self, dots: int) -> None:
        if dots > 0:
            self._page().feed(dots)
            self.consumed_dots += dots

    def _gs(self, buf: bytes | bytearray | memoryview, pos: int) -> int:
        avail = len(buf) - pos
        if avail < 2:
            return 0
        c = buf[pos + 1]
        m = self.modes
        if c in (ord("!"), ord("B")):
            if avail < 3:
                return 0
            n = buf[pos + 2]
            if c == ord("!"):
                m.sx, m.sy = (n >> 4 & 7) + 1, (n & 7) + 1
            else:
                m.invert = bool(n & 1)
            return 3
        if c == ord("V"):
            if avail < 3:
                return 0
            mode = buf[pos + 2]
            size = 4 if mode in (65, 66, 97, 98, 103, 104) else 3
            if avail < size:
                return 0
            if self.line:
                self._print_line()
            self.cuts += 1
            page, self.page = self._page(), None
            self.on_cut(page, True)
            return size
        if c == ord("v"):  # GS v 0 m xL xH yL yH d1..dk
            if avail < 8:
                return 0
            mode = buf[pos + 3]
            wb = buf[pos + 4] | buf[pos + 5] << 8
            h = buf[pos + 6] | buf[pos + 7] << 8
            total = 8 + wb * h
            if avail < total:
                return 0
            if self.line:
                self._print_line()
            used = self._page().raster(bytes(buf[pos + 8:pos + total]), wb, h, mode & 3,
                                       m.align)
            self.consumed_dots += used
            return total
        if c == ord("("):  # GS ( X pL pH ...
            if avail < 5:
                return 0
            fn_group = buf[pos + 2]
            plen = buf[pos + 3] | buf[pos + 4] << 8
            total = 5 + plen
            if avail < total:
                return 0
            body = bytes(buf[pos + 5:pos + total])
            if fn_group == ord("k"):
                self._two_d(body)
            else:
                self.unknown += 1
            return total
        if c == ord("k"):  # barcodes: skipped with their data
            if avail < 3:
                return 0
            kind = buf[pos + 2]
            if kind <= 6:
                end = bytes(buf[pos + 3:]).find(b"\x00")
                return 0 if end < 0 else end + 4
            if avail < 4:
                return 0
            total = 4 + buf[pos + 3]
            return total if avail >= total else 0
        fixed = GS_FIXED.get(c)
        if fixed is not None:
            return 2 + fixed if avail >= 2 + fixed else 0
        self.unknown += 1
        return 2

    def _two_d(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 49:  # cn 49: QR code
            self.unknown += 1
            return
        fn = body[1]
        if fn == 67 and len(body) >= 3:
            self.qr_module = max(1, min(16, body[2]))
        elif fn == 69 and len(body) >= 3:
            self.qr_ec = body[2]
        elif fn == 80:
            self.qr_store = body[3:]
        elif fn == 81:
            if self.line:
                self._print_line()
            if self.qr_store:
                used = self._page().qr(self.qr_store, self.qr_module, self.qr_ec,
                                       self.modes.align)
                self.consumed_dots += used

    def _fs(self, buf: bytes | bytearray | memoryview, pos: int) -> int:
        if len(buf) - pos < 2:
            return 0
        c = buf[pos + 1]
        if c == ord("&"):
            self.modes.kanji = True
            return 2
        if c == ord("."):
            self.modes.kanji = False
            return 2
        fixed = FS_FIXED.get(c)
        if fixed is not None:
            return 2 + fixed if len(buf) - pos >= 2 + fixed else 0
        self.unknown += 1
        return 2

    def _dle(self, buf: bytes | bytearray | memoryview, pos: int) -> int:
        avail = len(buf) - pos
        if avail < 3:
            return 0
        c = buf[pos + 1]
        if c in (0x04, 0x05):
            return 3
        if c == 0x14:
            fn = buf[pos + 2]
            size = {1: 5, 2: 5, 7: 4, 8: 10}.get(fn, 3)
            return size if avail >= size else 0
        self.unknown += 1
        return 1
