"""Synthetic barcode scenes and videos, made here, for the tests and ``kiosk bench scanner``.

Codes are rendered by python-barcode (EAN-13/8, UPC-A, Code 128, with the digits printed
under the bars as on real packs: scan lines crossing them are what provokes wrong
EAN/UPC reads), segno (QR) and zxing-cpp's writer (UPC-E, GS1 DataBar, DataMatrix); GS1
codes also by Debian's zint (:func:`render_zint`), which no decoder here ships.
A scene puts a code on a cluttered counter (packaging shapes, printed text, a grille of
stripes) with perspective, rotation, blur, motion blur, glare, low light and sensor
noise; videos are written with ``cv2.VideoWriter`` as MJPG in AVI, which is what a UVC
camera delivers, and read back through the scanner's own capture path.

Each video comes with its ground truth: for every frame, which codes it shows.
python-barcode and Pillow are development dependencies (tests, bench); segno is a runtime one.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FNC1 = "\xf1"  # python-barcode's FNC1 inside a GS1-128 text


@dataclass(frozen=True)
class CodeSpec:
    """A code to render: its full text (GTINs with their check digit, GS1 in HRI form), its
    symbology (zxing-cpp names), the class the kiosk should give it, and for GS1-128 the
    data as encoded (FNC1 after each variable-length element but the last)."""

    name: str
    text: str
    symbology: str
    cls: str
    encoded: str = ""


# Products are in the sample catalog (config/catalog/sample.csv); 04011 is bananas by weight.
SPECS: dict[str, CodeSpec] = {s.name: s for s in [
    CodeSpec("ean13_ramyun", "8801043444279", "EAN13", "product"),
    CodeSpec("ean13_tofu", "8801114070130", "EAN13", "product"),
    CodeSpec("ean13_cola", "8801094804527", "EAN13", "product"),
    CodeSpec("upca_cupnoodle", "070666928444", "UPCA", "product"),
    CodeSpec("ean8", "40045467", "EAN8", "product"),
    CodeSpec("upce", "04252614", "UPCE", "product"),
    CodeSpec("databar", "09501101530003", "DataBar", "product"),
    CodeSpec("vm_bananas", "2504011012000", "EAN13", "variable_measure"),
    # wallet payment codes a phone shows (kiosk.domain.wallet_codes; two more at the end)
    CodeSpec("wechat_code128", "134567890123456789", "Code128", "wallet"),
    CodeSpec("alipay_qr", "281234567890123456", "QRCode", "wallet"),
    CodeSpec("payment_url_qr", "https://qr.alipay.com/bax08431wkl2x9ypztd9", "QRCode",
             "payment"),
    CodeSpec("coupon_qr", "COUPON:SAVE5-000173", "QRCode", "coupon"),
    CodeSpec("coupon_ean13", "9900000123451", "EAN13", "coupon"),
    CodeSpec("staff_code128", "STAFF:S100-7731", "Code128", "staff_badge"),
    # GS1-128 with extra data (best before, lot) and with a net weight (kg, 3 decimals)
    CodeSpec("gs1_128_lot", "(01)08801115954255(17)251231(10)AB12", "Code128", "product",
             "0108801115954255" "17251231" "10AB12"),
    CodeSpec("gs1_128_weight", "(01)06907992910659(10)L7(3103)001234", "Code128",
             "variable_measure", "0106907992910659" "10L7" + FNC1 + "3103001234"),
    CodeSpec("staff_datamatrix", "STAFF:S200-0042", "DataMatrix", "staff_badge"),
    CodeSpec("unknown_qr", "https://example.com/recipes/42", "QRCode", "unknown"),
    # appended (the session videos place each code by its position here): UnionPay's
    # 19 digits, and the consumer-presented example of EMV QRCPS CPM v1.1 (test AID
    # A0000000555555, test PAN 1234567890123458)
    CodeSpec("unionpay_code128", "6212345678901234560", "Code128", "wallet"),
    CodeSpec("emvco_cpm_qr", "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8=", "QRCode",
             "wallet"),
]}


@dataclass(frozen=True)
class Placement:
    cx: float = 0.5  # centre, fraction of the frame
    cy: float = 0.5
    width: float = 0.42  # width an EAN-13 would have, fraction of the frame width; other
    # codes keep the same module size (a Code 128 of 15 letters comes out wider, a QR smaller)
    angle: float = 0.0  # in-plane rotation, degrees
    tilt: float = 0.0  # perspective: the far edge is this fraction shorter


@dataclass(frozen=True)
class Distortion:
    blur: float = 0.0  # Gaussian sigma, px
    motion: int = 0  # motion blur length, px
    motion_angle: float = 0.0
    glare: float = 0.0  # added brightness at the glare spot's peak
    light: float = 1.0  # exposure gain (0.3: dim light)
    noise: float = 2.0  # sensor noise sigma, grey levels


DISTORTIONS: dict[str, tuple[Placement, Distortion]] = {
    "clean": (Placement(), Distortion()),
    "blur": (Placement(), Distortion(blur=1.7)),
    "heavy_blur": (Placement(width=0.5), Distortion(blur=2.6)),
    "motion": (Placement(), Distortion(motion=11)),
    "rotate_20": (Placement(angle=20), Distortion()),
    "rotate_40": (Placement(angle=40), Distortion()),
    "perspective": (Placement(tilt=0.45, angle=5), Distortion()),
    "glare": (Placement(), Distortion(glare=230)),
    "low_light": (Placement(), Distortion(light=0.22, noise=4)),
    "small": (Placement(width=0.2), Distortion()),
    "combined": (Placement(angle=14, tilt=0.25, width=0.34),
                 Distortion(blur=1.3, glare=120, light=0.55, noise=3)),
}


EAN13_RENDER_WIDTH = 357  # px, an EAN-13 from render_code at module_px=3, quiet zones included


def _rng(seed: int) -> np.random.Generator:
    import numpy as np

    return np.random.default_rng(seed)


def render_code(spec: CodeSpec, module_px: int = 3) -> np.ndarray:
    """The code as a greyscale image with its quiet zone (and printed digits for 1-D)."""
    import numpy as np

    if spec.symbology in ("EAN13", "EAN8", "UPCA", "Code128"):
        import barcode
        from barcode.writer import ImageWriter

        kind = {"EAN13": "ean13", "EAN8": "ean8", "UPCA": "upca", "Code128": "code128"}
        text = spec.text[:-1] if spec.symbology != "Code128" else spec.text
        gs1 = spec.text.startswith("(")
        if gs1:  # GS1-128: FNC1 first (python-barcode adds it) and after variable-length AIs
            text = spec.encoded
            code = barcode.get_barcode_class("gs1_128")(text, writer=ImageWriter())
        else:
            code = barcode.get_barcode_class(kind[spec.symbology])(text, writer=ImageWriter())
        if not gs1 and code.get_fullcode() != spec.text:
            raise ValueError(f"{spec.name}: python-barcode made {code.get_fullcode()}")
        dpi = int(round(module_px * 25.4 / 0.33))
        img = code.render(writer_options={"module_width": 0.33, "module_height": 14,
                                          "dpi": dpi, "quiet_zone": 4.0, "font_size": 11,
                                          "text_distance": 4})
        return np.asarray(img.convert("L"))
    if spec.symbology == "QRCode":
        import segno

        qr = segno.make_qr(spec.text, error="m")
        modules = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
        img = np.where(modules > 0, 0, 255).astype(np.uint8)
        img = np.pad(img, 4, constant_values=255)
        return np.kron(img, np.ones((module_px * 2, module_px * 2), dtype=np.uint8))
    import zxingcpp

    fmt = {"UPCE": zxingcpp.BarcodeFormat.UPCE, "DataBar": zxingcpp.BarcodeFormat.DataBar,
           "DataMatrix": zxingcpp.BarcodeFormat.DataMatrix}[spec.symbology]
    scale = module_px * (2 if spec.symbology == "DataMatrix" else 1)
    img = np.asarray(zxingcpp.create_barcode(spec.text, fmt).to_image(
        scale=scale, add_hrt=spec.symbology != "DataMatrix", add_quiet_zones=True))
    if spec.symbology == "DataMatrix":
        img = np.pad(img, 4 * scale, constant_values=255)
    return np.ascontiguousarray(img)


#: GS1 codes drawn by zint (:func:`render_zint`): (name, zint symbology, data, the HRI the
#: scanner sends kiosk-core). ISO/IEC 24724 Figure 11's weight, a deli label's weight and
#: price, GGS Figure 2.6.14-3's expiry and batch, a Digital Link with a price and a date.
GS1_ZINT = [
    ("databar_exp_weight", "DBAR_EXP", "(01)90012345678908(3103)001750",
     "(01)90012345678908(3103)001750"),
    ("gs1_128_weight_price", "GS1_128", "(01)04012345678901(3103)000300(3922)0567",
     "(01)04012345678901(3103)000300(3922)0567"),
    ("gs1_datamatrix_date_batch", "DATAMATRIX", "(01)09501101530003(17)150119(10)AB-123",
     "(01)09501101530003(17)150119(10)AB-123"),
    ("digital_link_qr_price", "QRCODE",
     "https://id.gs1.org/01/95012345678903?3922=1099&17=150119",
     "(01)95012345678903(3922)1099(17)150119"),
]


def render_zint(symbology: str, data: str, path: Path) -> np.ndarray:
    """``data`` drawn by Debian's ``zint`` (a generator none of the decoders ships) as a PNG
    at ``path``, returned greyscale: 3 px a module for the linear codes, 10 for 2-D ones,
    quiet zones all round. Data in brackets is a GS1 element string (``--gs1parens``)."""
    import shutil
    import subprocess

    import cv2

    zint = shutil.which("zint")
    if zint is None:
        raise RuntimeError("zint is missing: ./setup.sh installs it (Debian package zint)")
    args = [zint, "-b", symbology, "-o", str(path), "-d", data, "--quietzones",
            "--scale", "1.5" if symbology in ("DBAR_EXP", "GS1_128") else "5"]
    if data.startswith("("):
        args += ["--gs1parens"] + (["--gs1"] if symbology in ("DATAMATRIX", "QRCODE") else [])
    subprocess.run(args, check=True, capture_output=True, timeout=30)
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise RuntimeError(f"zint wrote no image to {path}")
    return img


def background(w: int, h: int, seed: int) -> np.ndarray:
    """A cluttered counter: gradient, packaging shapes, printed text, a grille of stripes."""
    import cv2
    import numpy as np

    rng = _rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    grad = (xx * math.cos(a) + yy * math.sin(a)) / max(w, h)
    img = (90 + 70 * (grad - grad.min())).astype(np.uint8)
    for _ in range(int(rng.integers(6, 12))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        sw, sh = int(rng.integers(w // 12, w // 3)), int(rng.integers(h // 12, h // 3))
        shade = int(rng.integers(25, 235))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + sw, y + sh), shade, -1)
        else:
            cv2.ellipse(img, (x, y), (sw // 2, sh // 2), float(rng.uniform(0, 180)), 0, 360,
                        shade, -1)
    for _ in range(int(rng.integers(3, 7))):
        digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(6, 14))))
        cv2.putText(img, digits, (int(rng.integers(0, w // 2)), int(rng.integers(20, h))),
                    cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.5, 1.2)) * w / 640,
                    int(rng.integers(0, 60)), 2)
    gx, gy = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    pitch = int(rng.integers(4, 9))
    for i in range(int(rng.integers(8, 20))):  # a vent grille: bars that are no barcode
        x = gx + i * pitch
        cv2.rectangle(img, (x, gy), (x + pitch // 2, gy + h // 6), 20, -1)
    return cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.0)


def _quad(code_shape: tuple[int, int], frame_wh: tuple[int, int], p: Placement
          ) -> np.ndarray:
    import numpy as np

    ch, cw = code_shape
    fw, fh = frame_wh
    tw = min(p.width * fw * cw / EAN13_RENDER_WIDTH, 0.95 * fw)
    th = tw * ch / cw
    half = np.array([[-tw / 2, -th / 2], [tw / 2, -th / 2], [tw / 2, th / 2], [-tw / 2, th / 2]])
    if p.tilt:  # the top edge recedes: shorter, and a little lower
        half[0, 0] *= 1 - p.tilt
        half[1, 0] *= 1 - p.tilt
        half[0, 1] *= 1 - p.tilt / 2
        half[1, 1] *= 1 - p.tilt / 2
    a = math.radians(p.angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (half @ rot.T + np.array([p.cx * fw, p.cy * fh])).astype(np.float32)


def compose(bg: np.ndarray, code: np.ndarray, p: Placement, d: Distortion, seed: int
            ) -> np.ndarray:
    """Place ``code`` on a copy of ``bg`` (float32 greyscale) and apply ``d``; uint8 out."""
    import cv2
    import numpy as np

    rng = _rng(seed)
    fh, fw = bg.shape
    quad = _quad(code.shape, (fw, fh), p)
    target_w = float(np.linalg.norm(quad[1] - quad[0]))
    if target_w < code.shape[1] * 0.7:  # shrink first with area averaging (no aliasing)
        f = max(target_w / code.shape[1], 0.05) * 1.4
        code = cv2.resize(code, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    ch, cw = code.shape
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(code.astype(np.float32), m, (fw, fh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((ch, cw), np.float32), m, (fw, fh),
                               flags=cv2.INTER_LINEAR)
    img = bg * (1 - mask) + warped * mask
    if d.glare:
        cx, cy = quad.mean(axis=0) + rng.uniform(-0.15, 0.15, 2) * target_w
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        sigma = target_w * 0.12
        img += d.glare * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma * sigma))
    if d.motion:
        k = np.zeros((d.motion, d.motion), np.float32)
        k[d.motion // 2, :] = 1.0 / d.motion
        rot = cv2.getRotationMatrix2D((d.motion / 2 - 0.5, d.motion / 2 - 0.5),
                                      d.motion_angle, 1.0)
        k = cv2.warpAffine(k, rot, (d.motion, d.motion))
        img = cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))
    if d.blur:
        img = cv2.GaussianBlur(img, (0, 0), d.blur)
    img = np.minimum(img, 255) * d.light
    if d.noise:
        img += rng.normal(0, d.noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def garbage(w: int, h: int, kind: str, seed: int) -> np.ndarray:
    """Frames with no code: black, white, noise, random bars, printed digits, checkerboard."""
    import cv2
    import numpy as np

    rng = _rng(seed)
    if kind == "black":
        return np.full((h, w), 3, np.uint8)
    if kind == "white":
        return np.full((h, w), 252, np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == "bars":  # random bar widths: barcode-like, but no barcode
        widths = rng.integers(1, 5, w) * max(1, w // 320)
        row = np.repeat(np.arange(len(widths)) % 2, widths)[:w]
        img = np.where(row > 0, 20, 235).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(img, (h, w)))
    if kind == "digits":
        img = np.full((h, w), 230, np.uint8)
        for y in range(30, h, 40):
            digits = "".join(str(d) for d in rng.integers(0, 10, 16))
            cv2.putText(img, digits, (10, y), cv2.FONT_HERSHEY_SIMPLEX, w / 640, 10, 2)
        return img
    if kind == "checker":
        s = int(rng.integers(4, 24))
        yy, xx = np.mgrid[0:h, 0:w]
        return np.where(((xx // s) + (yy // s)) % 2 == 0, 15, 240).astype(np.uint8)
    raise ValueError(kind)


GARBAGE_KINDS = ("black", "white", "noise", "bars", "digits", "checker")


@dataclass
class Presentation:
    """A code shown to the camera: ``enter`` frames moving in (blurred), ``hold`` frames
    held by a hand (small tremor; none if ``still``), then ``gap`` frames of counter."""

    spec: str
    hold: int = 18
    gap: int = 15
    enter: int = 1
    still: bool = False
    placement: Placement = field(default_factory=Placement)
    distortion: Distortion = field(default_factory=Distortion)
    hand_in_gap: bool = False
    shake: tuple[int, int] | None = None  # (first hold frame, count): smeared, unreadable


@dataclass
class Truth:
    """Ground truth of a video: which specs each frame shows, and each presentation's span."""

    fps: float
    size: tuple[int, int]
    specs: list[dict]
    frames: list[list[int]] = field(default_factory=list)  # spec indexes per frame
    shows: list[dict] = field(default_factory=list)  # {"spec": i, "first": f, "last": f}

    def find_shows(self) -> None:
        """Fill ``shows`` from ``frames``: one span per run of frames showing a spec."""
        self.shows = []
        for i, shows in enumerate(self.frames):
            for idx in shows:
                last = self.shows[-1] if self.shows else None
                if last and last["spec"] == idx and last["last"] == i - 1:
                    last["last"] = i
                else:
                    self.shows.append({"spec": idx, "first": i, "last": i})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Truth:
        data = json.loads(path.read_text())
        data["size"] = tuple(data["size"])
        return cls(**data)


def session_frames(presentations: list[Presentation], size: tuple[int, int], seed: int = 1,
                   garbage_after: dict[int, list[str]] | None = None,
                   fps: float = 30.0) -> Iterator[tuple[object, list[int]]]:
    """Frames (uint8 greyscale) of a scanning session and the spec indexes each shows.

    ``garbage_after[i]`` inserts garbage frames (kinds, 3 frames each) after presentation i.
    The spec index is the position of the spec's name in sorted(set(names)) order, as in
    :func:`write_session`'s Truth.specs.
    """
    import cv2

    w, h = size
    names = sorted({p.spec for p in presentations})
    rng = _rng(seed)
    bg = background(w, h, seed)
    codes = {n: render_code(SPECS[n]) for n in names}
    n_frame = 0
    for i, pres in enumerate(presentations):
        idx = names.index(pres.spec)
        base = pres.placement
        for f in range(pres.enter + pres.hold):
            p = base
            if f < pres.enter:  # sliding in from the left: displaced and smeared
                shift = 0.06 * (pres.enter - f)
                p = Placement(base.cx - shift, base.cy, base.width, base.angle, base.tilt)
                d = Distortion(**{**asdict(pres.distortion), "motion": 15})
            else:
                d = pres.distortion
                k = f - pres.enter
                if pres.shake and pres.shake[0] <= k < pres.shake[0] + pres.shake[1]:
                    d = Distortion(**{**asdict(d), "motion": 31, "blur": 2.0})
                if not pres.still:
                    j = rng.normal(0, 1, 3)
                    p = Placement(base.cx + j[0] * 0.003, base.cy + j[1] * 0.003, base.width,
                                  base.angle + j[2] * 0.4, base.tilt)
            yield compose(bg, codes[pres.spec], p, d, seed * 7919 + n_frame), [idx]
            n_frame += 1
        for g in range(pres.gap):
            img = bg
            if pres.hand_in_gap:  # a hand sweeping across: motion, no code
                img = bg.copy()
                x = int(w * (g + 1) / (pres.gap + 1))
                cv2.ellipse(img, (x, h // 2), (w // 8, h // 5), 20, 0, 360, 150.0, -1)
            yield _plain(img, rng), []
            n_frame += 1
        for kind in (garbage_after or {}).get(i, []):
            for k in range(3):
                yield garbage(w, h, kind, seed * 31 + n_frame + k), []
                n_frame += 1


def _plain(bg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import numpy as np

    img = bg + rng.normal(0, 2.0, bg.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_video(path: Path, frames: Iterator[tuple[object, list[int]]], size: tuple[int, int],
                fps: float = 30.0, quality: int = 92) -> list[list[int]]:
    """Write greyscale frames as MJPG/AVI (BGR, as a camera gives); returns per-frame truth."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size, True)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, quality)
    truth = []
    try:
        for img, shows in frames:
            writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
            truth.append(shows)
    finally:
        writer.release()
    return truth


def write_session(path: Path, presentations: list[Presentation], size: tuple[int, int],
                  seed: int = 1, garbage_after: dict[int, list[str]] | None = None,
                  fps: float = 30.0) -> Truth:
    """Write a session video to ``path`` and its Truth to ``path.with_suffix('.json')``."""
    names = sorted({p.spec for p in presentations})
    frames = write_video(path, session_frames(presentations, size, seed, garbage_after, fps),
                         size, fps)
    truth = Truth(fps, size, [asdict(SPECS[n]) for n in names], frames)
    truth.find_shows()
    truth.save(path.with_suffix(".json"))
    return truth


def distorted_presentations(specs: list[str], hold: int = 4, gap: int = 8,
                            seed: int = 5) -> list[tuple[str, Presentation]]:
    """Every spec under every distortion, at varied places: (distortion name, presentation)."""
    rng = _rng(seed)
    out = []
    for dname, (p, d) in DISTORTIONS.items():
        for spec in specs:
            cx = float(rng.uniform(0.42, 0.58))
            cy = float(rng.uniform(0.42, 0.58))
            place = Placement(cx, cy, p.width, p.angle * float(rng.choice([-1, 1])), p.tilt)
            dist = Distortion(d.blur, d.motion, float(rng.uniform(0, 180)), d.glare, d.light,
                              d.noise)
            out.append((dname, Presentation(spec, hold=hold, gap=gap, enter=0,
                                            placement=place, distortion=dist)))
    return out


# -- real photographs (tests/scanner/photos) -------------------------------------------------

PHOTOS_DIR = Path(__file__).resolve().parents[3] / "tests" / "scanner" / "photos"
#: how each photo is shown: held still (sensor noise only), slightly blurred, noisy, JPEG-
#: compressed, and moving a little (a few px and a fraction of a degree per frame)
PHOTO_VARIANTS = ("still", "blur", "noise", "jpeg", "motion")


@dataclass(frozen=True)
class Photo:
    """A real photograph of a barcode and the text it encodes (zxing-cpp's expected file)."""

    name: str
    expected: str
    path: Path


def load_photos(split: str, root: Path = PHOTOS_DIR) -> list[Photo]:
    """The photos of one split ("tuning" or "heldout") listed in ``expected.csv``."""
    with (root / "expected.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["file"].startswith(f"{split}/")]
    return [Photo(r["file"], r["expected"], root / r["file"]) for r in rows]


def photo_frames(photo: np.ndarray, variant: str, bg: np.ndarray, seed: int, hold: int = 5
                 ) -> list[np.ndarray]:
    """``hold`` frames of ``photo`` (greyscale) in the middle of ``bg`` under ``variant``."""
    import cv2
    import numpy as np

    rng = _rng(seed)
    fh, fw = bg.shape
    ph, pw = photo.shape
    f = min(1.0, 0.9 * fw / pw, 0.9 * fh / ph)
    if f < 1.0:
        photo = cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        ph, pw = photo.shape
    out = []
    for _ in range(hold):
        img = bg.copy()
        dx = dy = 0.0
        angle = 0.0
        if variant == "motion":
            dx, dy = rng.uniform(-3, 3, 2)
            angle = float(rng.uniform(-1, 1))
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
        m[0, 2] += (fw - pw) / 2 + dx
        m[1, 2] += (fh - ph) / 2 + dy
        mask = cv2.warpAffine(np.ones((ph, pw), np.float32), m, (fw, fh))
        warped = cv2.warpAffine(photo.astype(np.float32), m, (fw, fh))
        img = img * (1 - mask) + warped * mask
        if variant == "motion":
            n = 4
            kern = np.zeros((n, n), np.float32)
            kern[n // 2, :] = 1.0 / n
            rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)),
                                          1.0)
            kern = cv2.warpAffine(kern, rot, (n, n))
            img = cv2.filter2D(img, -1, kern / max(kern.sum(), 1e-6))
        if variant == "blur":
            img = cv2.GaussianBlur(img, (0, 0), 0.9)
        sigma = 7.0 if variant == "noise" else 2.0
        img = np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
        if variant == "jpeg":
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 30])
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        out.append(img)
    return out


def write_photo_session(path: Path, photos: list[Photo], size: tuple[int, int] = (640, 480),
                        seed: int = 1, hold: int = 5, gap: int = 14, fps: float = 15.0,
                        variants: tuple[str, ...] = PHOTO_VARIANTS) -> tuple[Truth, list[str]]:
    """Each photo under each variant, held still ``hold`` frames, then ``gap`` frames of empty
    counter (1 s at 15 fps: longer than the hold-off, so the next showing counts; 15 fps keeps
    the file small, the five frames are still held for a third of a second). Written like
    :func:`write_session`; returns the Truth and each frame's variant ("" in gaps)."""
    import cv2

    w, h = size
    bg = background(w, h, seed)
    kinds: list[str] = []

    def frames():
        rng = _rng(seed)
        for i, photo in enumerate(photos):
            img = cv2.imread(str(photo.path), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise ValueError(f"cannot read {photo.path}")
            for variant in variants:  # seeded by names: a subset shows the same frames
                own = zlib.crc32(f"{photo.name}/{variant}".encode()) + seed * 1009
                for frame in photo_frames(img, variant, bg, own, hold):
                    kinds.append(variant)
                    yield frame, [i]
                for _ in range(gap):
                    kinds.append("")
                    yield _plain(bg, rng), []

    shown = write_video(path, frames(), size, fps)
    truth = Truth(fps, size, [{"name": p.name, "text": p.expected, "symbology": ""}
                               for p in photos], shown)
    truth.find_shows()
    truth.save(path.with_suffix(".json"))
    return truth, kinds
