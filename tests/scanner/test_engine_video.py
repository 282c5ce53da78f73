"""Videos through the real capture path (cv2.VideoCapture on MJPG files) and real decoders."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from kiosk_drivers.scanner.capture import CaptureError, run_source
from kiosk_drivers.scanner.config import ScannerConfig
from kiosk_drivers.scanner.engine import Frame, ScanEngine
from kiosk_drivers.scanner.sim.synth import SPECS

from kiosk.domain.codes import READ_CLASSES, Classifier
from tests.scanner.conftest import HOLD_LONG


def spec_keys(truth, vm_config) -> list[str]:
    classify = Classifier(vm_config)
    return [classify(s["text"], s["symbology"]).key for s in truth.specs]


def reads_per_show(reads, truth, vm_config) -> list[int]:
    keys = spec_keys(truth, vm_config)
    return [sum(1 for r in reads if r.info.key == keys[show["spec"]]
                and show["first"] <= r.frame_seq <= show["last"] + 1) for show in truth.shows]


def test_every_code_is_read_with_its_class(session_run, vm_config):
    reads, engine, _ = session_run
    classify = Classifier(vm_config)
    assert engine.stats.errors == 0
    got = {(r.info.key, r.info.cls) for r in reads}
    for spec in SPECS.values():
        assert (classify(spec.text, spec.symbology).key, spec.cls) in got, spec
    assert {r.info.cls for r in reads} == set(READ_CLASSES)
    assert {r.info.ok for r in reads if r.info.cls == "unknown"} == {False}


def test_each_presentation_is_published_once_except_inside_the_holdoff(session_run, vm_config):
    reads, _, truth = session_run
    counts = reads_per_show(reads, truth, vm_config)
    # the last presentation is the tofu shown again 0.2 s after it left: still held
    assert counts[:-1] == [1] * (len(counts) - 1)
    assert counts[-1] == 0
    assert len(reads) == len(truth.shows) - 1


def test_no_duplicates_while_held_and_a_rescan_after_leaving_counts(session_run, vm_config):
    reads, engine, truth = session_run
    keys = spec_keys(truth, vm_config)
    ramyun = keys[[s["name"] for s in truth.specs].index("ean13_ramyun")]
    shows = [s for s in truth.shows if keys[s["spec"]] == ramyun]
    long_hold = next(s for s in shows if s["last"] - s["first"] + 1 > HOLD_LONG)
    in_long = [r for r in reads if r.info.key == ramyun
               and long_hold["first"] <= r.frame_seq <= long_hold["last"]]
    assert len(in_long) == 1
    assert engine.stats.held > HOLD_LONG // 2  # it kept being seen, and was not re-published
    assert len([r for r in reads if r.info.key == ramyun]) == 3  # first show, held, re-shown


def test_published_reads_are_all_in_their_frames(session_run, vm_config):
    reads, _, truth = session_run
    keys = spec_keys(truth, vm_config)
    for r in reads:
        shown = {keys[i] for f in range(r.first_frame, r.frame_seq + 1) for i in truth.frames[f]}
        assert r.info.key in shown, (r.text, r.frame_seq)


def test_fast_path_gates_still_frames_and_decodes_the_roi(session_run):
    _, engine, truth = session_run
    st = engine.stats
    assert st.frames == len(truth.frames)
    assert st.gated > len(truth.frames) // 5  # the still counter between codes is skipped
    assert st.roi_decodes > 0
    assert st.decoded + st.gated == st.frames


def test_two_decoders_agreeing_confirm_a_1d_code_on_one_frame(session_run):
    reads, _, _ = session_run
    ean = [r for r in reads if r.symbology == "EAN13" and r.info.cls == "product"]
    assert ean
    assert any(r.first_frame == r.frame_seq and {"zxing", "zbar"} <= set(r.decoders)
               for r in ean)
    assert all(r.votes >= 2 for r in reads if r.symbology not in ("QRCode", "DataMatrix"))


def test_garbage_frames_are_harmless(garbage_video, classify):
    engine = ScanEngine(ScannerConfig(), classify)
    reads = run_source(str(garbage_video), engine)
    assert reads == []
    assert engine.stats.errors == 0
    assert engine.stats.frames == 60


def test_opencv_only_cross_checks_never_a_whole_frame(garbage_video, classify):
    """OpenCV is the third decoder, but only on regions another decoder read a code in."""
    engine = ScanEngine(ScannerConfig(), classify)
    assert [d.name for d in engine.decoders] == ["zxing", "zbar", "opencv"]
    calls: list[tuple[int, ...]] = []
    opencv = engine.decoders[2]
    decode = opencv.decode
    opencv.decode = lambda image, offset=(0, 0): calls.append(image.shape) or decode(image,
                                                                                      offset)
    run_source(str(garbage_video), engine)
    assert engine.stats.full_decodes > 0
    assert engine.stats.fallback_decodes == engine.stats.full_decodes  # zbar alone
    assert calls == []


@pytest.mark.parametrize("shape", [(1, 1), (2, 640), (480, 3), (7, 9), (480, 640)])
def test_odd_frames_do_not_crash_the_engine(classify, shape):
    engine = ScanEngine(ScannerConfig(), classify)
    rng = np.random.default_rng(0)
    for seq, t in enumerate((0.0, 0.04, 0.08)):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        assert engine.process(Frame(seq, t, image)) == []
    assert engine.stats.errors == 0


def test_a_truncated_video_is_read_up_to_the_damage(session_video, tmp_path, classify):
    path, truth = session_video
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 3])
    engine = ScanEngine(ScannerConfig(), classify)
    reads = run_source(str(cut), engine)
    assert 0 < engine.stats.frames < len(truth.frames)
    assert reads and len(reads) < len(truth.shows)


def test_missing_source_is_an_error(tmp_path, classify):
    with pytest.raises(CaptureError):
        run_source(str(tmp_path / "nothing.avi"), ScanEngine(ScannerConfig(), classify))


def test_decoders_agree_on_the_key_of_each_1d_code(vm_config):
    from kiosk_drivers.scanner.decoders import make_decoder
    from kiosk_drivers.scanner.sim.synth import (
        Distortion,
        Placement,
        background,
        compose,
        render_code,
    )

    classify = Classifier(vm_config)
    bg = background(640, 480, 4)
    zx, zb = make_decoder("zxing", ScannerConfig().decode.formats), make_decoder("zbar", [])
    for name in ("ean13_ramyun", "upca_cupnoodle", "ean8", "upce", "databar", "wechat_code128"):
        spec = SPECS[name]
        img = compose(bg, render_code(spec), Placement(), Distortion(), 1)
        want = classify(spec.text, spec.symbology).key
        for dec in (zx, zb):
            keys = Counter(classify(s.text, s.symbology).key for s in dec.decode(img))
            assert want in keys, (name, dec.name, keys)
