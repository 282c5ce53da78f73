"""Fast path: a motion gate (decode only when the picture changed) and an ROI tracker.

The gate keeps a small thumbnail (1/N size, area-averaged, so sensor noise cancels
out) of the last *decoded* frame and compares each new frame with it: a frame in which
fewer than ``min_changed_cells`` cells moved by more than ``pixel_delta`` grey levels
shows what the last decoded frame showed, so the decoder's answer would be the same and
the frame is skipped. Comparing with the last decoded frame, not the previous one,
means slow drift (light, a creeping hand) still adds up to a decode.

The ROI tracker remembers where codes were read recently; the next frames are decoded
in that region first (a numpy slice: no copy), with a full-frame pass every few frames
and whenever the region reads nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk_drivers.scanner.config import GateConfig
from kiosk_drivers.scanner.decoders import Box

if TYPE_CHECKING:
    import numpy as np


class MotionGate:
    def __init__(self, cfg: GateConfig) -> None:
        import cv2

        self._cv2 = cv2
        self.cfg = cfg
        self._ref = None
        self._changed_t = float("-inf")

    def thumbnail(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape[:2]
        s = self.cfg.thumb_scale
        return self._cv2.resize(gray, (max(1, w // s), max(1, h // s)),
                                interpolation=self._cv2.INTER_AREA)

    def changed(self, thumb: np.ndarray) -> bool:
        """Whether ``thumb`` differs from the last decoded frame's thumbnail."""
        ref = self._ref
        if ref is None or ref.shape != thumb.shape:
            return True
        cv2 = self._cv2
        diff = cv2.absdiff(thumb, ref)
        _, moved = cv2.threshold(diff, self.cfg.pixel_delta, 255, cv2.THRESH_BINARY)
        return cv2.countNonZero(moved) >= self.cfg.min_changed_cells

    def decoded(self, thumb: np.ndarray | None, t: float = 0.0) -> None:
        """Remember the thumbnail of a frame that was just decoded (at ``t``), and when the
        picture last changed."""
        if thumb is not None and self.changed(thumb):
            self._changed_t = t
        self._ref = thumb

    def settling(self, t: float) -> bool:
        """Whether the picture changed less than ``settle_s`` ago: a code just brought in
        and held still is decoded on a few more frames, though they show the same picture
        (sensor noise alone makes a decoder read a code on one frame and not the next)."""
        return t - self._changed_t <= self.cfg.settle_s


class RoiTracker:
    def __init__(self, cfg: GateConfig) -> None:
        self.cfg = cfg
        self._boxes: list[tuple[float, Box]] = []

    def update(self, boxes: list[Box], t: float) -> None:
        self._boxes = [(bt, b) for bt, b in self._boxes if t - bt <= self.cfg.roi_ttl_s]
        self._boxes.extend((t, b) for b in boxes)

    def clear(self) -> None:
        self._boxes.clear()

    def roi(self, t: float, shape: tuple[int, ...]) -> Box | None:
        """The region to decode first, or None for the whole frame."""
        live = [b for bt, b in self._boxes if t - bt <= self.cfg.roi_ttl_s]
        if not live:
            return None
        h, w = shape[:2]
        x0 = min(b[0] for b in live)
        y0 = min(b[1] for b in live)
        x1 = max(b[2] for b in live)
        y1 = max(b[3] for b in live)
        # 1-D codes can come back as a thin scan line: grow by the larger side
        grow = int(self.cfg.roi_margin * max(x1 - x0, y1 - y0)) + 16
        x0, y0 = max(0, x0 - grow), max(0, y0 - grow)
        x1, y1 = min(w, x1 + grow), min(h, y1 + grow)
        if x1 - x0 < 16 or y1 - y0 < 16 or (x1 - x0) * (y1 - y0) > 0.6 * w * h:
            return None
        return (x0, y0, x1, y1)
