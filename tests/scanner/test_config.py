"""ScannerConfig: defaults, strictness, and the proposed [scanner] TOML section."""

from __future__ import annotations

import tomllib

import pytest
from kiosk_drivers.scanner.config import ScannerConfig
from pydantic import ValidationError

# The section proposed for config/defaults.toml (same values as the model's defaults).
PROPOSED_TOML = """
[scanner]
backend = "camera"        # camera | wedge
status_interval_s = 10

[scanner.camera]
source = "/dev/video0"    # V4L2 device (path or index), a video file, or a URL
width = 1280
height = 720
fps = 30
fourcc = "MJPG"
exposure = 50             # manual, V4L2 units (UVC: 100 us) = 5 ms; remove for auto
buffer_size = 1
file_pace = "realtime"    # files/URLs: realtime (like a camera) | lockstep (every frame)
loop = false
reopen_s = 2.0

[scanner.decode]
decoders = ["zxing", "zbar", "opencv"]  # primary first; the others cross-check (opencv only that)
formats = ["EAN13", "EAN8", "UPCA", "UPCE", "Code128", "DataBar", "DataBarExp",
           "DataBarLtd", "QRCode", "DataMatrix"]
fallback = "full_frame"        # off | full_frame
cross_check = true
try_rotate = true
try_invert = false
try_downscale = true

[scanner.gate]
motion = true
thumb_scale = 8
pixel_delta = 10
min_changed_cells = 6
idle_decode_s = 0.5
settle_s = 0.2
roi = true
roi_margin = 0.25
roi_ttl_s = 0.4
full_frame_every = 4

[scanner.confirm]
votes_1d = 2
votes_1d_one_decoder = 3
votes_2d = 1
window_s = 0.6
holdoff_s = 0.8

[scanner.classify]
payment_qr_prefixes = ["wxp://", "weixin://", "https://wx.tenpay.com/",
                       "https://qr.alipay.com/", "alipays://", "https://qr.95516.com/",
                       "000201"]
coupon_prefixes = ["COUPON:", "CPN:"]
feedback_for_forwarded = false
publish_payment_code = true

[scanner.wedge]
# device = "/dev/input/by-id/usb-SCANNER-event-kbd"
name_contains = ""
grab = true
max_len = 64
key_timeout_s = 0.25
"""


def test_proposed_toml_is_the_default():
    section = tomllib.loads(PROPOSED_TOML)["scanner"]
    assert ScannerConfig.model_validate(section) == ScannerConfig()


@pytest.mark.parametrize("patch", [
    {"camera": {"sourse": "/dev/video0"}},
    {"decode": {"formats": ["EAN13", "EAN99"]}},
    {"decode": {"decoders": ["zxing", "zxing"]}},
    {"decode": {"decoders": []}},
    {"confirm": {"votes_1d": 3, "votes_1d_one_decoder": 2}},
    {"confirm": {"window_s": 30}},
    {"camera": {"fourcc": "mjpg"}},
    {"backend": "bluetooth"},
])
def test_bad_values_are_refused(patch):
    with pytest.raises(ValidationError):
        ScannerConfig.model_validate(patch)


def test_frozen():
    cfg = ScannerConfig()
    with pytest.raises(ValidationError):
        cfg.backend = "wedge"
