"""Barcode decoders behind one small interface: zxing-cpp, zbar (pyzbar) and OpenCV.

Each decoder takes a greyscale ``numpy`` view (a region of interest is a slice of the
frame, passed without copying where the library allows: zxing-cpp reads strided
buffers) plus the view's offset in the frame, and returns :class:`Symbol` s with boxes
in frame coordinates. Symbology names follow zxing-cpp; texts are as the library gave
them: a GS1 element string comes bracketed (zxing-cpp), raw with GS separators, or as
bare digits (zbar drops FNC1). The classifier the engine is given makes every form of
one code one key. Measured on codes rendered by zint (tests/gs1): zxing-cpp 3.1 gives a
GS1 DataBar Expanded, GS1-128 and GS1 DataMatrix as HRI, ``(01)…(3103)…``, with symbology
identifier ]e0 / ]C1 / ]d2 (its ``bytes`` hold FNC1 as GS after a variable-length element);
zbar gives the same DataBar Expanded and GS1-128 raw, without the leading FNC1 but with GS
after a variable-length element that is not last, reads no DataMatrix, and misread a
DataBar Expanded whose batch precedes a date (``10AB`` GS ``17150119`` as ``…1D0119``: no
AI, so that read is unknown and only contests); a GS1 Digital Link QR is plain text (a
URI, ]Q1) to both.

Picked on measurements (``kiosk bench scanner``, 640x480 distorted set, 330 frames):
zxing-cpp reads 57.9 % of the frames at ~510 fps on one core and covers every symbology
the kiosk needs: it is the primary. zbar reads 48.5 % at ~290 fps, but 7 frames zxing-cpp
misses (motion blur, steep rotation, glare, small codes), so it stays as the full-frame
fallback (the pair reads 60.0 %). OpenCV's BarcodeDetector reads EAN/UPC only, 16.1 % of
the frames, and on a whole frame returned codes the frames do not show (Code 128 bars
decoded as check-digit-valid EAN-13s): it never runs on a whole frame
(``full_frame = False``), only as the third cross-checker of an EAN/UPC another decoder
found.

Cross-check (:meth:`Decoder.retry`): each decoder looks again at a region another one
read a 1-D code in, with its own ways of raising its read rate, until a look reads the
code. On the tuning photos (tests/scanner/photos), of the showings whose code one decoder
read on a full frame, zbar on the region as it is confirmed 152, CLAHE x2 55 more, Otsu x2
8 more; zxing-cpp as it is 141, sharpened x2 9 more; OpenCV as it is 115, sharpened x2 39
more; no look ever agreed with another decoder's misread. The libraries are imported when
a decoder is built, never at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

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
RETRY_MAX = 960  # px: a look at a region is skipped when it would be larger than this


@dataclass(frozen=True, slots=True)
class Symbol:
    """One code found in a frame by one decoder."""

    text: str = field(repr=False)  # maybe a bearer code (a wallet's): kept out of reprs
    symbology: str
    box: Box
    decoder: str

    @property
    def is_2d(self) -> bool:
        return self.symbology in TWO_D


class Decoder(Protocol):
    name: str
    #: run on a whole frame (as the primary or the fallback); else only a cross-checker
    full_frame: bool
    #: the symbologies it reads (None: every one the scanner reads)
    symbologies: frozenset[str] | None

    def decode(self, image, offset: tuple[int, int] = (0, 0)) -> list[Symbol]: ...

    def retry(self, image, offset: tuple[int, int] = (0, 0)) -> Iterator[list[Symbol]]:
        """Further looks at a region another decoder read a code in, each with this
        decoder's own ways of raising its read rate (enlarged, sharpened, contrast,
        binarized): what each look found, boxes in frame coordinates."""
        ...


def _looks(image, offset: tuple[int, int],
           looks: list[tuple[float, Callable[[], list[Symbol]]]]) -> Iterator[list[Symbol]]:
    """Each look (``scale``: how much it enlarges the region) with its boxes mapped back
    to frame coordinates; a look only runs when the caller asks for the next one (it stops
    at the first that read what it wanted)."""
    if min(image.shape[:2]) < 8:
        return
    ox, oy = offset
    for scale, look in looks:
        if max(image.shape[:2]) * scale > RETRY_MAX:
            continue
        found = look()
        yield [Symbol(s.text, s.symbology,
                      (ox + int(s.box[0] // scale), oy + int(s.box[1] // scale),
                       ox + int(-(-s.box[2] // scale)), oy + int(-(-s.box[3] // scale))),
                      s.decoder) for s in found]


def _enlarge(image, scale: float):
    import cv2

    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def _sharpen(image):
    import cv2

    return cv2.addWeighted(image, 2.5, cv2.GaussianBlur(image, (0, 0), 2.0), -1.5, 0)


def _otsu(image):
    import cv2

    return cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _box(xs: list[float], ys: list[float], offset: tuple[int, int]) -> Box:
    ox, oy = offset
    return (int(min(xs)) + ox, int(min(ys)) + oy, int(max(xs)) + 1 + ox, int(max(ys)) + 1 + oy)


class ZxingDecoder:
    """zxing-cpp: EAN/UPC, Code 128, GS1 DataBar, QR, DataMatrix and more; GIL released."""

    name = "zxing"
    full_frame = True
    symbologies = None

    def __init__(self, formats: list[str], try_rotate: bool = True, try_invert: bool = False,
                 try_downscale: bool = True) -> None:
        import zxingcpp

        self._zx = zxingcpp
        self._formats = zxingcpp.barcode_formats_from_str(",".join(formats))
        self._opts = {"try_rotate": try_rotate, "try_invert": try_invert,
                      "try_downscale": try_downscale}

    def decode(self, image, offset: tuple[int, int] = (0, 0), **opts) -> list[Symbol]:
        """``opts``: zxing-cpp reader options for this call (e.g. ``binarizer``)."""
        out = []
        for r in self._zx.read_barcodes(image, formats=self._formats,
                                        **(self._opts | opts)):
            if not r.valid:
                continue
            p = r.position
            pts = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            box = _box([q.x for q in pts], [q.y for q in pts], offset)
            out.append(Symbol(r.text, r.format.name, box, self.name))
        return out

    def retry(self, image, offset: tuple[int, int] = (0, 0)) -> Iterator[list[Symbol]]:
        """The region as it is, enlarged twice and sharpened, then black and white at a
        fixed threshold (on the tuning photos, of the codes zbar read that zxing-cpp did
        not read in the region as it is, these read 9 and 1 more)."""
        fixed = self._zx.Binarizer.FixedThreshold
        yield from _looks(image, offset, [
            (1, lambda: self.decode(image)),
            (2, lambda: self.decode(_sharpen(_enlarge(image, 2)))),
            (1, lambda: self.decode(image, binarizer=fixed)),
        ])


class ZbarDecoder:
    """zbar through pyzbar (needs the libzbar0 Debian package)."""

    name = "zbar"
    full_frame = True
    symbologies = None

    def __init__(self, formats: list[str] | None = None) -> None:
        import cv2
        from pyzbar import pyzbar

        self._decode = pyzbar.decode
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
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
            x, y, w, h = r.rect
            if r.polygon:
                box = _box([q.x for q in r.polygon], [q.y for q in r.polygon], offset)
            else:
                box = (x + offset[0], y + offset[1], x + w + offset[0], y + h + offset[1])
            out.append(Symbol(text, symbology, box, self.name))
        return out

    def retry(self, image, offset: tuple[int, int] = (0, 0)) -> Iterator[list[Symbol]]:
        """The region as it is, then with local contrast equalised (CLAHE) and enlarged
        twice, then enlarged twice in black and white (Otsu), then three times: zbar's scan
        lines need sharp, wide bars (on the tuning photos, of the codes zxing-cpp read
        that zbar did not read in the region as it is, the CLAHE and Otsu looks read 55 and
        8 more)."""
        yield from _looks(image, offset, [
            (1, lambda: self.decode(image)),
            (2, lambda: self.decode(_enlarge(self._clahe.apply(image), 2))),
            (2, lambda: self.decode(_otsu(_enlarge(image, 2)))),
            (3, lambda: self.decode(_enlarge(image, 3))),
        ])


class OpenCVDecoder:
    """OpenCV's BarcodeDetector (EAN-8/13, UPC-A/E only): a cross-checker, never run on a
    whole frame (slower than the other two there, and it returned Code 128 bars as
    EAN-13s: measured in the module docstring)."""

    name = "opencv"
    full_frame = False
    symbologies = frozenset(_CV_NAMES.values())

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

    def retry(self, image, offset: tuple[int, int] = (0, 0)) -> Iterator[list[Symbol]]:
        """The region as it is, then enlarged twice and sharpened."""
        yield from _looks(image, offset, [
            (1, lambda: self.decode(image)),
            (2, lambda: self.decode(_sharpen(_enlarge(image, 2)))),
        ])


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
