"""Configuration of the ESC/POS receipt printer (the ``[printer]`` table).

Strict (unknown keys are errors), frozen, validated when the configuration loads.
``transport`` names how bytes reach the printer (a plug-in of the entry-point group
``kiosk.printer_transports``: ``serial``, ``usb``, ``network``, ``file``) and ``port``
where: a serial device, a USB printer-class device node, ``host[:port]``, a file. The
serial settings (baud rate, flow control) only matter to ``serial``. Serial framing is
fixed at 8N1 (ten bits on the wire per byte), which is what receipt printers use and
what the stream time estimates assume.

Chinese and Korean text: ``cjk_font`` names the double-byte font the printer has
in ROM (``gbk`` for Simplified Chinese models, ``ksc5601`` for Korean models,
``none``). Text the printer's code page and font cannot show is printed as a
raster image of the text when ``raster_fallback`` is on; raster receipts are
large (~86 KB for 15 cm of paper), so raster needs at least 38400 baud.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from kiosk_drivers.plugins import check_installed
from kiosk_drivers.printer.registry import GROUP
from kiosk_drivers.serialport import check_baudrate
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
MIN_RASTER_BAUD = 38400
STANDARD_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400)
#: printable dots per paper width at 203 dpi (8 dots/mm)
DOTS_FOR_WIDTH = {58: 384, 80: 576}
#: ESC t code pages of python-escpos's default profile (a test keeps this list in step;
#: listed here so loading the configuration does not import python-escpos)
CODE_PAGES = (
    "CP437", "CP932", "CP850", "CP860", "CP863", "CP865", "CP851", "CP853", "CP857", "CP737",
    "ISO_8859-7", "CP1252", "CP866", "CP852", "CP858", "CP874", "TCVN-3-1", "TCVN-3-2",
    "CP720", "CP775", "CP855", "CP861", "CP862", "CP864", "CP869", "ISO_8859-2",
    "ISO_8859-15", "CP1098", "CP774", "CP772", "CP1125", "CP1250", "CP1251", "CP1253",
    "CP1254", "CP1255", "CP1256", "CP1257", "CP1258", "RK1048",
)
#: Font A cell width in dots (12 x 24); a double-byte CJK character is two cells
FONT_A_WIDTH = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def language_of(locale: str) -> str:
    """The language subtag of a BCP 47 or POSIX locale tag: zh_Hans → zh, ko-KR → ko."""
    return locale.replace("-", "_").split("_")[0].lower()


class PrinterConfig(_Strict):
    transport: str = Field(default="serial", min_length=1,
                           description="how bytes travel: serial, usb, network, file (or an "
                                       "installed kiosk.printer_transports plug-in)")
    port: str = Field(default="/dev/serial0", min_length=1,
                      description="where the printer is, for the transport: serial device "
                                  "(a pty link for the simulator), USB printer device "
                                  "(/dev/usb/lp0), host[:port] (port 9100 by default), file")
    baudrate: int = 115200
    rtscts: bool = True
    xonxoff: bool = False
    dsrdtr: bool = False
    write_timeout_s: float = Field(default=5.0, gt=0, le=120)
    status_timeout_s: float = Field(default=1.0, gt=0, le=30,
                                    description="wait for a DLE EOT answer beyond wire time")
    chunk_bytes: int = Field(default=1024, ge=64, le=65536,
                             description="bytes sent between two status checks")
    paper_width_mm: Literal[58, 80] = 80
    print_width_dots: int | None = Field(default=None, ge=128, le=832)
    code_page: str = "CP437"
    cjk_font: Literal["none", "gbk", "ksc5601"] = "none"
    raster_fallback: bool = True
    raster_font: Path = NOTO_CJK
    cut: Literal["full", "partial"] = "partial"
    feed_lines_before_cut: int = Field(default=4, ge=0, le=20)
    qr_module_dots: int = Field(default=6, ge=1, le=16)
    status_checks: bool = True

    @field_validator("baudrate")
    @classmethod
    def _standard_baud(cls, value: int) -> int:
        return check_baudrate(value, STANDARD_BAUDS)

    @field_validator("transport")
    @classmethod
    def _installed_transport(cls, value: str) -> str:
        return check_installed(GROUP, value, "printer transport")

    @field_validator("code_page")
    @classmethod
    def _known_code_page(cls, value: str) -> str:
        if value not in CODE_PAGES:
            raise ValueError(f"unknown code page {value!r} (e.g. CP437, CP850, CP858, CP1252)")
        return value

    @model_validator(mode="after")
    def _raster_needs_speed(self) -> PrinterConfig:
        if (self.transport == "serial" and self.raster_fallback
                and self.baudrate < MIN_RASTER_BAUD):
            raise ValueError(
                f"raster receipts (raster_fallback = true) need baudrate >= {MIN_RASTER_BAUD}"
                f" (got {self.baudrate}); raise the baud rate or set raster_fallback = false")
        return self

    @property
    def dots(self) -> int:
        """Printable width in dots."""
        return self.print_width_dots or DOTS_FOR_WIDTH[self.paper_width_mm]

    @property
    def columns(self) -> int:
        """Font A columns per line (48 on 80 mm, 32 on 58 mm)."""
        return self.dots // FONT_A_WIDTH


def locales_needing_raster(printer: PrinterConfig, locales: list[str]) -> list[str]:
    """Store locales whose receipts this printer can only print as raster images."""
    need = []
    for loc in locales:
        lang = language_of(loc)
        if (lang == "zh" and printer.cjk_font != "gbk") or (
                lang == "ko" and printer.cjk_font != "ksc5601"):
            need.append(loc)
    return need


def check_printer_locales(printer: PrinterConfig, locales: list[str]) -> None:
    """Cross-check for KioskConfig: every store locale must be printable.

    Raises ValueError (one line) when a locale needs raster images but the
    printer has ``raster_fallback`` off.
    """
    need = locales_needing_raster(printer, locales)
    if need and not printer.raster_fallback:
        raise ValueError(
            f"printer: locales {', '.join(need)} need raster text (cjk_font ="
            f" {printer.cjk_font!r}) but raster_fallback is false")
