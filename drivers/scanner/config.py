"""Scanner configuration: the ``[scanner]`` section, validated like the rest of the config.

Every field has a default equal to the packaged value, so the section may be omitted
(a site only sets what differs, e.g. ``[scanner.camera] source = "/dev/video2"``).
Camera exposure is in the V4L2 driver's unit: ``exposure_time_absolute`` is 100 µs for
UVC cameras, so 50 means 5 ms, short enough to freeze a hand-held product.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Names as zxing-cpp spells them (``zxingcpp.barcode_formats_from_str``).
DEFAULT_FORMATS = ["EAN13", "EAN8", "UPCA", "UPCE", "Code128", "DataBar", "DataBarExp",
                   "DataBarLtd", "QRCode", "DataMatrix"]
KNOWN_FORMATS = {*DEFAULT_FORMATS, "Code39", "Code93", "ITF", "Codabar", "PDF417", "Aztec",
                 "MicroQRCode"}
DecoderName = Literal["zxing", "zbar", "opencv"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraConfig(_Strict):
    """Where frames come from and how the camera is set up."""

    source: str = Field(default="/dev/video0", min_length=1,
                        description="V4L2 device path or index, a video file, or a URL")
    width: int = Field(default=1280, ge=160, le=3840)
    height: int = Field(default=720, ge=120, le=2160)
    fps: float = Field(default=30, gt=0, le=120)
    fourcc: str = Field(default="MJPG", pattern=r"^[A-Z0-9 ]{4}$")
    exposure: float | None = Field(
        default=50, gt=0, description="manual exposure (V4L2 units, UVC: 100 us); None = auto")
    buffer_size: int = Field(default=1, ge=1, le=8)
    file_pace: Literal["realtime", "lockstep"] = Field(
        default="realtime",
        description="files/URLs: realtime plays at the file's fps and drops frames the decoder "
                    "cannot keep up with, as a camera does; lockstep hands every frame over")
    loop: bool = False
    reopen_s: float = Field(default=2.0, gt=0, description="retry delay when the camera is lost")


class DecodeConfig(_Strict):
    """Decoders: the first is primary, the others are fallbacks and cross-checkers."""

    decoders: list[DecoderName] = Field(default_factory=lambda: ["zxing", "zbar", "opencv"],
                                        min_length=1)
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    fallback: Literal["off", "full_frame"] = Field(
        default="full_frame",
        description="run the other decoders on a frame the primary read nothing in")
    cross_check: bool = Field(
        default=True,
        description="a second decoder re-reads a new 1-D code in its region on the same frame; "
                    "agreement confirms it without waiting for another frame")
    try_rotate: bool = True
    try_invert: bool = False
    try_downscale: bool = True

    @field_validator("decoders")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(value) != len(set(value)):
            raise ValueError("decoders must not repeat")
        return value

    @field_validator("formats")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - KNOWN_FORMATS)
        if unknown:
            raise ValueError(f"unknown barcode format(s) {unknown}; known: {sorted(KNOWN_FORMATS)}")
        return value


class GateConfig(_Strict):
    """Fast path: decode only what changed, and only where codes are once one is found."""

    motion: bool = True
    thumb_scale: int = Field(default=8, ge=2, le=32, description="motion thumbnail: 1/N size")
    pixel_delta: int = Field(default=10, ge=1, le=255,
                             description="grey levels a thumbnail cell must change by")
    min_changed_cells: int = Field(default=6, ge=1)
    idle_decode_s: float = Field(default=0.5, gt=0,
                                 description="decode at least this often even when still")
    settle_s: float = Field(default=0.2, ge=0, le=2,
                            description="after the picture changed, decode every frame this "
                                        "long even when still (sensor noise alone makes a "
                                        "decoder read a held code on one frame, not the next)")
    roi: bool = True
    roi_margin: float = Field(default=0.25, ge=0, le=4,
                              description="ROI grows by this fraction of the code's size")
    roi_ttl_s: float = Field(default=0.4, gt=0)
    full_frame_every: int = Field(default=4, ge=1,
                                  description="while tracking an ROI, scan the whole frame "
                                              "every Nth decoded frame for other codes")


class ConfirmConfig(_Strict):
    """Confirmation before publishing, and de-duplication of a code held in view."""

    votes_1d: int = Field(default=2, ge=1, le=6,
                          description="agreeing reads (frames x decoders) a 1-D code needs")
    votes_1d_one_decoder: int = Field(
        default=3, ge=1, le=8,
        description="votes a 1-D code needs when they all come from one decoder (the same "
                    "decoder can misread the same way on consecutive frames)")
    votes_2d: int = Field(default=1, ge=1, le=6,
                          description="2-D codes carry Reed-Solomon error correction")
    window_s: float = Field(default=0.6, gt=0, description="votes older than this expire")
    holdoff_s: float = Field(
        default=0.8, gt=0,
        description="a published code counts again only after it was out of sight this long")

    @model_validator(mode="after")
    def _window(self) -> ConfirmConfig:
        if self.window_s > 5:
            raise ValueError("window_s above 5 s would let stale reads confirm a code")
        if self.votes_1d_one_decoder < self.votes_1d:
            raise ValueError("votes_1d_one_decoder must be at least votes_1d")
        return self


class ClassifyConfig(_Strict):
    """What is a payment code or a coupon besides the fixed GS1 / wallet rules."""

    payment_qr_prefixes: list[str] = Field(default_factory=lambda: [
        "wxp://", "weixin://", "https://wx.tenpay.com/", "https://qr.alipay.com/",
        "alipays://", "https://qr.95516.com/", "000201"])
    coupon_prefixes: list[str] = Field(default_factory=lambda: ["COUPON:", "CPN:"])
    feedback_for_forwarded: bool = Field(
        default=False,
        description="also beep for reads sent to kiosk-core (which already answers each scan "
                    "with good/bad feedback once it knows whether the item was added)")
    publish_payment_code: bool = Field(
        default=True,
        description="put the full text of a payment-looking code the lane does not take (a "
                    "merchant QR, a wallet URL) or a coupon in the read event; a shopper's "
                    "wallet payment code is never in it (it goes to kiosk-core only, as a "
                    "wallet_code command); logs always show codes masked")


class WedgeConfig(_Strict):
    """USB HID keyboard-wedge scanner through evdev."""

    device: str | None = Field(default=None, description="/dev/input/eventN or by-id path")
    name_contains: str = Field(default="", description="pick the first device whose name has "
                                                       "this text (when device is not set)")
    grab: bool = True
    max_len: int = Field(default=64, ge=8, le=512)
    key_timeout_s: float = Field(default=0.25, gt=0,
                                 description="a gap this long between keys drops a partial code")


class ScannerConfig(_Strict):
    backend: Literal["camera", "wedge"] = "camera"
    camera: CameraConfig = Field(default_factory=CameraConfig)
    decode: DecodeConfig = Field(default_factory=DecodeConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    confirm: ConfirmConfig = Field(default_factory=ConfirmConfig)
    classify: ClassifyConfig = Field(default_factory=ClassifyConfig)
    wedge: WedgeConfig = Field(default_factory=WedgeConfig)
    status_interval_s: float = Field(default=10, gt=0)
