"""The capture path: frame hand-over (latest wins / lockstep), files, devices."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from kiosk_drivers.scanner.capture import CaptureError, CaptureThread, FrameSlot, open_capture
from kiosk_drivers.scanner.config import CameraConfig
from kiosk_drivers.scanner.engine import Frame


def frame(seq: int) -> Frame:
    return Frame(seq, seq / 30, np.zeros((4, 4), np.uint8))


def test_latest_frame_wins_and_the_producer_never_waits():
    slot = FrameSlot(lockstep=False)
    for seq in range(5):
        slot.put(frame(seq))  # nobody takes them: must not block
    assert slot.get(timeout=0).seq == 4
    assert slot.replaced == 4
    assert slot.get(timeout=0) is None


def test_lockstep_hands_over_every_frame_in_order():
    slot = FrameSlot(lockstep=True)

    def produce():
        for seq in range(20):
            slot.put(frame(seq))
        slot.close()

    threading.Thread(target=produce, daemon=True).start()
    got = []
    while (f := slot.get(timeout=5)) is not None:
        got.append(f.seq)
    assert got == list(range(20)) and slot.replaced == 0 and slot.closed


def test_file_frames_are_greyscale_at_the_video_size(garbage_video):
    slot = FrameSlot(lockstep=True)
    cap = CaptureThread(CameraConfig(source=str(garbage_video)), slot, pace="lockstep")
    cap.start()
    frames = []
    while (f := slot.get(timeout=5)) is not None:
        frames.append(f)
    cap.join(5)
    assert len(frames) == 60 and cap.error is None
    assert {f.image.shape for f in frames} == {(480, 640)} and frames[0].image.dtype == np.uint8
    assert [f.seq for f in frames] == list(range(60))
    assert frames[1].t - frames[0].t == pytest.approx(1 / 30)


def test_a_realtime_source_does_not_wait_for_a_slow_decoder(garbage_video):
    """Played like a camera: a consumer slower than 30 fps sees the newest frames and the
    capture thread keeps its pace (frames replaced in the slot or skipped at the source)."""
    slot = FrameSlot(lockstep=False)
    cap = CaptureThread(CameraConfig(source=str(garbage_video)), slot, pace="realtime")
    cap.start()
    taken = []
    while (f := slot.get(timeout=5)) is not None:
        taken.append(f.seq)
        time.sleep(0.15)
    cap.join(5)
    assert cap.frames + cap.skipped == 60
    assert slot.replaced + cap.skipped > 0
    assert len(taken) < 60 and taken == sorted(taken)


def test_a_missing_camera_is_reported_and_retried_until_stopped():
    cam = CameraConfig(source="/dev/video99", reopen_s=0.05)
    with pytest.raises(CaptureError):
        open_capture(cam)
    slot = FrameSlot()
    cap = CaptureThread(cam, slot)
    cap.start()
    time.sleep(0.3)
    cap.stop()
    cap.join(5)
    assert not cap.is_alive() and cap.frames == 0 and cap.error is None


def test_looping_a_file_keeps_delivering(garbage_video):
    slot = FrameSlot(lockstep=True)
    cap = CaptureThread(CameraConfig(source=str(garbage_video), loop=True), slot,
                        pace="lockstep")
    cap.start()
    seqs = [slot.get(timeout=5).seq for _ in range(75)]
    cap.stop()
    cap.join(5)
    assert seqs == list(range(75))


def test_stream_credentials_never_reach_the_logs():
    from kiosk_drivers.scanner.capture import shown

    assert shown("rtsp://admin:s3cret@10.0.0.5:554/live") == "rtsp://10.0.0.5:554/live"
    assert shown("/dev/video0") == "/dev/video0"


def test_devices_are_opened_by_index():
    from kiosk_drivers.scanner.capture import device_index, is_device, is_live

    assert device_index("0") == 0 and device_index("/dev/video2") == 2
    assert is_device("/dev/v4l/by-id/usb-cam-video-index0") and not is_device("a.avi")
    assert is_live("rtsp://cam/live") and not is_live("/tmp/a.avi")
