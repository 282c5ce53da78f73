"""Frame capture with OpenCV: a V4L2 camera, a video file or a URL, one code path.

A V4L2 device is opened with the V4L2 backend and set up from ``[scanner.camera]``:
MJPG (a UVC camera delivers 720p30 only compressed over USB 2), size, fps,
``CAP_PROP_BUFFERSIZE`` = 1 so the driver queue never holds stale frames, and manual
exposure (``CAP_PROP_AUTO_EXPOSURE`` = 1 is V4L2_EXPOSURE_MANUAL) so a moving hand is not
smeared by a long auto exposure. Every value the driver refuses is logged.

:class:`CaptureThread` reads frames, converts them to greyscale once, and hands them to
the decoder through a one-frame slot. With a camera (and a file played ``realtime``)
the capture thread never waits on the decoder: a newer frame replaces one not yet
taken (latest frame wins; ``replaced`` counts them). ``lockstep`` (files only) hands
over every frame, for tests and benchmarks that must see each frame. A stream (URL) is
read like a camera, reopened when it drops. A file played in real time behaves like a
camera: frame *i* is due at start + i/fps, and when the reader falls behind it skips
frames (``grab`` without decoding), as a sensor would overwrite them.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk_drivers.scanner.config import CameraConfig
from kiosk_drivers.scanner.engine import Frame

log = logging.getLogger(__name__)
Clock = Callable[[], float]


class CaptureError(RuntimeError):
    """A source that cannot be opened."""


def is_device(source: str) -> bool:
    return source.isdigit() or source.startswith(("/dev/video", "/dev/v4l/"))


def is_live(source: str) -> bool:
    """A camera or a stream (URL): frames come at the source's pace; reopen when lost."""
    return is_device(source) or "://" in source


def shown(source: str) -> str:
    """A source for logs: a URL loses its user:password@."""
    scheme, sep, rest = source.partition("://")
    if not sep:
        return source
    host = rest.split("/", 1)
    return f"{scheme}://{host[0].rpartition('@')[2]}/{host[1] if len(host) > 1 else ''}"


def device_index(source: str) -> int | str:
    """V4L2 device number for "0", "/dev/video0" or a /dev/v4l/by-id link (opening by
    index is the path every OpenCV build supports); other paths are returned as they are."""
    if source.isdigit():
        return int(source)
    m = re.fullmatch(r"/dev/video(\d+)", os.path.realpath(source))
    return int(m.group(1)) if m else source


def open_capture(cam: CameraConfig, source: str | None = None) -> Any:
    """Open and set up a ``cv2.VideoCapture`` for a device, file or URL."""
    import cv2

    src = source or cam.source
    if is_device(src):
        cap = cv2.VideoCapture(device_index(src), cv2.CAP_V4L2)
        if not cap.isOpened():
            raise CaptureError(f"cannot open camera {src}")
        wanted = [
            ("fourcc", cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*cam.fourcc)),
            ("width", cv2.CAP_PROP_FRAME_WIDTH, cam.width),
            ("height", cv2.CAP_PROP_FRAME_HEIGHT, cam.height),
            ("fps", cv2.CAP_PROP_FPS, cam.fps),
            ("buffer_size", cv2.CAP_PROP_BUFFERSIZE, cam.buffer_size),
        ]
        if cam.exposure is not None:
            wanted += [("auto_exposure", cv2.CAP_PROP_AUTO_EXPOSURE, 1),
                       ("exposure", cv2.CAP_PROP_EXPOSURE, cam.exposure)]
        else:
            wanted += [("auto_exposure", cv2.CAP_PROP_AUTO_EXPOSURE, 3)]
        for name, prop, value in wanted:
            if not cap.set(prop, value):
                log.warning("camera %s refused %s=%s (now %s)", src, name, value, cap.get(prop))
        log.info("camera %s: %dx%d @ %.0f fps, buffer %d, exposure %s", src,
                 cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT),
                 cap.get(cv2.CAP_PROP_FPS), cap.get(cv2.CAP_PROP_BUFFERSIZE),
                 cap.get(cv2.CAP_PROP_EXPOSURE) if cam.exposure is not None else "auto")
        return cap
    cap = cv2.VideoCapture(src)
    if not cap.isOpened():
        raise CaptureError(f"cannot open video source {shown(src)!r}")
    cap.set(cv2.CAP_PROP_BUFFERSIZE, cam.buffer_size)
    return cap


class FrameSlot:
    """One-frame hand-over between the capture thread and the decoder.

    ``lockstep=False``: :meth:`put` never blocks; a frame not yet taken is replaced.
    ``lockstep=True``: :meth:`put` waits until the previous frame was taken.
    """

    def __init__(self, lockstep: bool = False) -> None:
        self.lockstep = lockstep
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.replaced = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self.lockstep:
                self._cond.wait_for(lambda: self._frame is None or self._closed)
            elif self._frame is not None:
                self.replaced += 1
            self._frame = frame
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest frame, or None on timeout or once closed and drained."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout)
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed and self._frame is None


class CaptureThread(threading.Thread):
    """Reads a source into a :class:`FrameSlot` until stopped or the file ends."""

    def __init__(self, cam: CameraConfig, slot: FrameSlot, source: str | None = None,
                 pace: str | None = None, clock: Clock = time.perf_counter,
                 on_capture: Callable[[int, float], None] | None = None) -> None:
        """``on_capture(seq, t)`` is called for every frame the source produced, including
        those a realtime file skipped (benchmarks time reads from it)."""
        super().__init__(name="scanner-capture", daemon=True)
        self.cam, self.slot, self.clock = cam, slot, clock
        self.source = source or cam.source
        self.pace = pace or cam.file_pace
        self.on_capture = on_capture
        self.stop_event = threading.Event()
        self.frames = 0  # frames handed to the slot
        self.skipped = 0  # frames a realtime file dropped to keep pace, as a sensor does
        self.error: str | None = None
        self.fps = cam.fps

    def stop(self) -> None:
        self.stop_event.set()
        self.slot.close()

    def run(self) -> None:
        try:
            if is_live(self.source):
                self._run_live()
            else:
                self._run_file()
        except Exception as exc:  # reported to the service, which decides what to do
            self.error = str(exc)
            log.exception("scanner capture failed")
        finally:
            self.slot.close()

    def _gray(self, cv2: Any, bgr: Any) -> Any:
        return bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)

    def _run_live(self) -> None:
        import cv2

        seq = 0
        while not self.stop_event.is_set():
            try:
                cap = open_capture(self.cam, self.source)
            except CaptureError as exc:
                log.warning("%s; retrying in %.0f s", exc, self.cam.reopen_s)
                self.stop_event.wait(self.cam.reopen_s)
                continue
            self.fps = cap.get(cv2.CAP_PROP_FPS) or self.cam.fps
            bgr = None
            try:
                while not self.stop_event.is_set():
                    ok, bgr = cap.read(bgr)
                    t = self.clock()
                    if not ok or bgr is None:
                        log.warning("%s stopped delivering frames; reopening",
                                    shown(self.source))
                        break
                    self._hand_over(Frame(seq, t, self._gray(cv2, bgr)))
                    seq += 1
            finally:
                cap.release()
            self.stop_event.wait(self.cam.reopen_s)

    def _run_file(self) -> None:
        import cv2

        cap = open_capture(self.cam, self.source)
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and fps > 0 else self.cam.fps
        period = 1.0 / self.fps
        realtime = self.pace == "realtime"
        t0 = start = self.clock()
        # seq: frames since open (the file's frame index unless looping);
        # n: frames since the last (re)start, for real-time pacing
        seq, n, bgr = 0, 0, None
        try:
            while not self.stop_event.is_set():
                if realtime:
                    due = start + n * period
                    now = self.clock()
                    if now < due:
                        time.sleep(due - now)
                    elif now - due > period:  # behind: the sensor overwrote this frame
                        if not cap.grab():
                            if self._rewind(cap):
                                start, n = self.clock(), 0
                                continue
                            break
                        self.skipped += 1
                        if self.on_capture is not None:
                            self.on_capture(seq, now)
                        seq, n = seq + 1, n + 1
                        continue
                ok, bgr = cap.read(bgr)
                if not ok or bgr is None:
                    if self._rewind(cap):
                        start, n = self.clock(), 0
                        continue
                    break
                t = self.clock() if realtime else t0 + seq * period
                self._hand_over(Frame(seq, t, self._gray(cv2, bgr)))
                seq, n = seq + 1, n + 1
        finally:
            cap.release()

    def _rewind(self, cap) -> bool:
        import cv2

        return self.cam.loop and cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def _hand_over(self, frame: Frame) -> None:
        if self.on_capture is not None:
            self.on_capture(frame.seq, frame.t)
        self.slot.put(frame)
        self.frames += 1


def run_source(source: str, engine, cam: CameraConfig | None = None, pace: str = "lockstep",
               on_reads: Callable[[Frame, list], None] | None = None) -> list:
    """Feed a file or URL through the capture thread into ``engine``; returns all reads.

    The same path as the service (CaptureThread → FrameSlot → engine), for tests and tools.
    """
    cam = cam or CameraConfig(source=source)
    slot = FrameSlot(lockstep=pace == "lockstep")
    thread = CaptureThread(cam, slot, source=source, pace=pace)
    thread.start()
    reads: list = []
    try:
        while True:
            frame = slot.get(timeout=1.0)
            if frame is None:
                if slot.closed:
                    break
                continue
            got = engine.process(frame)
            if on_reads is not None:
                on_reads(frame, got)
            reads += got
    finally:
        thread.stop()
        thread.join(5)
    if thread.error:
        raise CaptureError(thread.error)
    return reads
