"""Barcode decoders behind one small interface: zxing-cpp, zbar (pyzbar) and OpenCV.

Each decoder takes a greyscale ``numpy`` view (a region of interest is a slice of the
frame, passed without copying where the library allows: zxing-cpp reads strided
buffers) plus the view's offset in the frame, and returns :class:`Symbol` s with boxes
in frame coordinates. Texts are normalised so that decoders agree on the same code:
symbology names follow zxing-cpp, and every GS1 element string (GS1-128, DataBar, GS1
DataMatrix/QR) is given in HRI form ``(01)09501101530003(17)251231(10)AB12``, whether the
library gave it bracketed (zxing-cpp), raw with GS separators, or as bare digits (zbar
drops FNC1): :func:`drivers.scanner.classify.normalise`.

Picked on measurements (``kiosk bench scanner``, 640x480 distorted set, 330 frames):
zxing-cpp reads 57.9 % of the frames at ~510 fps on one core and covers every symbology
the kiosk needs: it is the primary. zbar reads 48.5 % at ~290 fps, but 7 frames zxing-cpp
misses (motion blur, steep rotation, glare, small codes), so it stays as the full-frame
fallback (the pair reads 60.0 %) and as the second opinion that confirms a 1-D code on
one frame. OpenCV's BarcodeDetector reads EAN/UPC only, 16.1 % of the frames, and
returned codes the frames do not show (Code 128 bars decoded as check-digit-valid
EAN-13s): it is available for measurements only. The libraries are imported when a
decoder is built, never at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from drivers.scanner.classify import normalise

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), frame coordinates
TWO_D = frozenset({"QRCode", "MicroQRCode", "DataMatrix", "Aztec", "PDF417", "RMQRCode"})
_ZBAR_NAMES = {"EAN13": "EAN13", "EAN8": "EAN8", "UPCA": "UPCA", "UPCE": "UPCE",
               "CODE128": "Code128", "DATABAR": "DataBar", "DATABAR_EXP": "DataBarExp",
               "QRCODE": "QRCode", "CODE39": "Code39", "CODE93": "Code93", "I25": "ITF",
               "CODABAR": "Codabar", "PDF417": "PDF417", "ISBN13": "EAN13", "ISBN10": "EAN13"}
_ZBAR_FROM_FORMAT = {"EAN13": "EAN13", "EAN8": "EAN8", "UPCA": "UPCA", "UPCE": "UPCE",
                     "Code128": "CODE128", "DataBar": "DATABAR", "DataBarExp": "DATABAR_EXP",
                     "QRCode": "QRCODE", "Code39": "CODE39", "Code93": "CODE93", "ITF": "I25",
                     "Codabar": "CODABAR", "PDF417": "PDF417"}
_CV_NAMES = {"EAN_13": "EAN13", "EAN_8": "EAN8", "UPC_A": "UPCA", "UPC_E": "UPCE"}


@dataclass(frozen=True, slots=True)
class Symbol:
    """One code found in a frame by one decoder."""

    text: str
    symbology: str
    box: Box
    decoder: str

    @property
    def is_2d(self) -> bool:
        return self.symbology in TWO_D


class Decoder(Protocol):
    name: str

    def decode(self, image, offset: tuple[int, int] = (0, 0)) -> list[Symbol]: ...


def _box(xs: list[float], ys: list[float], offset: tuple[int, int]) -> Box:
    ox, oy = offset
    return (int(min(xs)) + ox, int(min(ys)) + oy, int(max(xs)) + 1 + ox, int(max(ys)) + 1 + oy)


class ZxingDecoder:
    """zxing-cpp: EAN/UPC, Code 128, GS1 DataBar, QR, DataMatrix and more; GIL released."""

    name = "zxing"

    def __init__(self, formats: list[str], try_rotate: bool = True, try_invert: bool = False,
                 try_downscale: bool = True) -> None:
        import zxingcpp

        self._zx = zxingcpp
        self._formats = zxingcpp.barcode_formats_from_str(",".join(formats))
        self._opts = {"try_rotate": try_rotate, "try_invert": try_invert,
                      "try_downscale": try_downscale}

    def decode(self, image, offset: tuple[int, int] = (0, 0)) -> list[Symbol]:
        out = []
        for r in self._zx.read_barcodes(image, formats=self._formats, **self._opts):
            if not r.valid:
                continue
            p = r.position
            pts = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            box = _box([q.x for q in pts], [q.y for q in pts], offset)
            out.append(Symbol(normalise(r.text), r.format.name, box, self.name))
        return out


class ZbarDecoder:
    """zbar through pyzbar (needs the libzbar0 Debian package)."""

    name = "zbar"

    def __init__(self, formats: list[str] | None = None) -> None:
        from pyzbar import pyzbar

        self._decode = pyzbar.decode
        wanted = [_ZBAR_FROM_FORMAT[f] for f in (formats or []) if f in _ZBAR_FROM_FORMAT]
        self._symbols = [pyzbar.ZBarSymbol[n] for n in dict.fromkeys(wanted)] or None

    def decode(self, image, offset: tuple[int, int] = (0, 0)) -> list[Symbol]:
        if image.shape[0] < 8 or image.shape[1] < 8:
            return []
        out = []
        for r in self._decode(image, symbols=self._symbols):
            symbology = _ZBAR_NAMES.get(r.type, r.type)
            try:
                text = r.data.decode("utf-8")
            except UnicodeDecodeError:
                text = r.data.decode("latin-1")
            text = normalise(text)
            x, y, w, h = r.rect
            if r.polygon:
                box = _box([q.x for q in r.polygon], [q.y for q in r.polygon], offset)
            else:
                box = (x + offset[0], y + offset[1], x + w + offset[0], y + h + offset[1])
            out.append(Symbol(text, symbology, box, self.name))
        return out


class OpenCVDecoder:
    """OpenCV's BarcodeDetector (EAN-8/13, UPC-A/E only)."""

    name = "opencv"

    def __init__(self) -> None:
        import cv2

        self._det = cv2.barcode.BarcodeDetector()

    def decode(self, image, offset: tuple[int, int] = (0, 0)) -> list[Symbol]:
        ok, infos, types, points = self._det.detectAndDecodeWithType(image)
        if not ok:
            return []
        out = []
        for text, kind, quad in zip(infos, types, points, strict=False):
            if not text:
                continue
            box = _box([q[0] for q in quad], [q[1] for q in quad], offset)
            out.append(Symbol(text, _CV_NAMES.get(kind, kind), box, self.name))
        return out


def make_decoder(name: str, formats: list[str], try_rotate: bool = True,
                 try_invert: bool = False, try_downscale: bool = True) -> Decoder:
    """Build a decoder by name ("zxing", "zbar", "opencv")."""
    if name == "zxing":
        return ZxingDecoder(formats, try_rotate, try_invert, try_downscale)
    if name == "zbar":
        return ZbarDecoder(formats)
    if name == "opencv":
        return OpenCVDecoder()
    raise ValueError(f"unknown decoder {name!r}")
