"""``kiosk bench scanner``: decode speed, read rate, scan-to-bus latency and false reads.

All data is generated here (kiosk_drivers.scanner.sim.synth) and read back through the scanner's
own capture path (CaptureThread → FrameSlot, MJPG/AVI files as a UVC camera gives):

* **fps** at 640x480 and 1280x720, process pinned to one core: the scanner engine
  (motion gate, ROI, zxing-cpp + zbar fallback/cross-check, confirmation) over a
  scanning session (codes shown and taken away, a hand passing, garbage frames),
  side by side with plain zxing-cpp and plain zbar decoding every full frame.
* **read rate** on the distorted set (blur, motion blur, rotation, perspective, glare,
  low light, small codes, all combined): the share of frames showing a code in which
  the decoder reads that code; "either" counts a frame if zxing-cpp or zbar reads it.
  The engine's figure is its decode stage on each frame alone (no gate, no ROI); how
  many distorted presentations end up *published* (confirmed) is printed too.
* **scan-to-bus latency** at 640x480 and 30 fps: the session video is played in real
  time (frames due at 1/30 s, skipped when late, like a sensor), through the engine and
  a real mosquitto, from the capture of the first frame that shows a code (a blurred
  frame as it moves in) to the arrival of its read event at a subscriber; the same for
  plain zxing-cpp and plain zbar (first sighting published, no confirmation).
* **false reads**: published reads of a code that the frames they came from do not
  show, over every engine run; plain decoders' single-frame wrong decodes are printed.
* **GS1 codes** drawn by zint (a generator the decoders do not ship: DataBar Expanded with a
  weight, GS1-128 with a weight and price, GS1 DataMatrix with an expiry and batch, a
  Digital Link QR with a price) under each distortion at 1280x720, held in a hand (1-2 px
  of drift a frame, 12 frames): published with the right HRI, missed, or wrong
  (:func:`gs1_figures`).
* **real photos** (``--photos``, default the held-out set of tests/scanner/photos): each
  held still for five frames under five variants (camera noise, blur, heavy noise, JPEG,
  small motion) through the capture path: what reaches the bus (right items) against
  what either decoder reads on single frames, and wrong items (:func:`photo_figures`).

The last line is one JSON object with the issue's keys.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
import tomllib
from pathlib import Path

from kiosk_drivers.scanner.capture import CaptureThread, FrameSlot, run_source
from kiosk_drivers.scanner.config import CameraConfig, ClassifyConfig, ScannerConfig
from kiosk_drivers.scanner.decoders import OpenCVDecoder, make_decoder
from kiosk_drivers.scanner.engine import Frame, PlainEngine, ScanEngine
from kiosk_drivers.scanner.sim.synth import (
    GARBAGE_KINDS,
    Distortion,
    Placement,
    Presentation,
    distorted_presentations,
    load_photos,
    write_photo_session,
    write_session,
)

from kiosk.bench.stats import percentile
from kiosk.bus.broker import private_login, start_private_broker_on_free_port
from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import Topics
from kiosk.config import DEFAULTS_FILE
from kiosk.domain.gtin import VariableMeasureConfig
from kiosk.services.scanner import ReadPublisher, classifier_for

SESSION_SPECS = ["ean13_ramyun", "upca_cupnoodle", "alipay_qr", "ean8", "vm_bananas",
                 "wechat_code128", "ean13_tofu", "upce", "coupon_qr", "databar",
                 "staff_code128", "ean13_cola", "payment_url_qr", "coupon_ean13",
                 "staff_datamatrix", "unknown_qr"]
DISTORTED_SPECS = ["ean13_ramyun", "upca_cupnoodle", "ean8", "upce", "databar", "vm_bananas",
                   "wechat_code128", "alipay_qr", "coupon_qr", "staff_datamatrix"]
JSON_KEYS = ("fps_640", "fps_1280", "scan_to_bus_ms_median_640", "scan_to_bus_ms_p95_640",
             "read_rate", "read_rate_zxing", "read_rate_zbar", "read_rate_either", "false_reads",
             "photo_on_bus_rate", "photo_read_rate_either", "photo_read_rate_either_any",
             "photo_wrong_items", "gs1_read", "gs1_shows", "gs1_wrong")


def _session(n: int, seed: int) -> tuple[list, dict[int, list[str]]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        place = Placement(rnd.uniform(0.42, 0.58), rnd.uniform(0.42, 0.58),
                          rnd.uniform(0.36, 0.46), rnd.uniform(-12, 12), rnd.uniform(0, 0.2))
        out.append(Presentation(SESSION_SPECS[i % len(SESSION_SPECS)], hold=12, gap=27,
                                enter=1, placement=place,
                                distortion=Distortion(blur=rnd.uniform(0, 0.6)),
                                hand_in_gap=i % 3 == 1))
    garbage = {i: [GARBAGE_KINDS[i % len(GARBAGE_KINDS)]] for i in range(0, n, 4)}
    return out, garbage


def _frames(path: Path, limit: int | None = None) -> list:
    """Frames of a video through the capture path (lockstep), kept in memory."""
    slot = FrameSlot(lockstep=True)
    cap = CaptureThread(CameraConfig(source=str(path)), slot, pace="lockstep")
    cap.start()
    out = []
    while limit is None or len(out) < limit:
        frame = slot.get(timeout=2)
        if frame is None:
            break
        out.append(frame)
    cap.stop()
    cap.join(5)
    return out


def _pinned_fps(engine, frames: list) -> float:
    """Frames per second of ``engine.process`` with the process pinned to one core."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(old)})
    try:
        t0 = time.perf_counter()
        for frame in frames:
            engine.process(frame)
        return len(frames) / (time.perf_counter() - t0)
    finally:
        os.sched_setaffinity(0, old)


def _keys(truth, classify) -> list[set[str]]:
    spec_keys = [classify(s["text"], s["symbology"]).key for s in truth.specs]
    return [{spec_keys[i] for i in shows} for i, shows in enumerate(truth.frames)]


def _false(reads: list, frame_keys: list[set[str]]) -> list:
    """Reads whose code none of the frames that voted for it shows."""
    bad = []
    for r in reads:
        lo, hi = max(0, r.first_frame - 1), min(len(frame_keys), r.frame_seq + 1)
        if not any(r.info.key in frame_keys[i] for i in range(lo, hi)):
            bad.append(r)
    return bad


class _Subscriber:
    def __init__(self, login: BusLogin, topic: str) -> None:
        self.arrivals: list[float] = []
        self.cond = threading.Condition()
        self.client = BusClient(login, f"bench-scanner-sub-{os.getpid()}")
        self.client.subscribe(topic, self._on)
        if not self.client.start(wait_s=10):
            raise RuntimeError("bench subscriber cannot reach the broker")

    def _on(self, _topic: str, _payload: bytes) -> None:
        t = time.perf_counter()
        with self.cond:
            self.arrivals.append(t)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 10) -> None:
        with self.cond:
            self.cond.wait_for(lambda: len(self.arrivals) >= count, timeout)


def _latency_run(video: Path, truth, engine, broker: Path, port: int, lane: str,
                 classify) -> dict:
    """Play ``video`` in real time through ``engine`` and the bus; latency per presentation."""
    sub = _Subscriber(private_login(broker, port, "kiosk-cli"), Topics(lane).scanner_events)
    bus = BusClient(private_login(broker, port, "kiosk-scanner"),
                    f"bench-scanner-pub-{os.getpid()}")
    if not bus.start(wait_s=10):
        raise RuntimeError("bench publisher cannot reach the broker")
    publisher = ReadPublisher(bus, lane, ClassifyConfig())
    captured: dict[int, float] = {}
    slot = FrameSlot(lockstep=False)
    cap = CaptureThread(CameraConfig(source=str(video)), slot, pace="realtime",
                        on_capture=lambda seq, t: captured.__setitem__(seq, t))
    published = []
    cap.start()
    try:
        while True:
            frame = slot.get(timeout=1)
            if frame is None:
                if slot.closed:
                    break
                continue
            for read in engine.process(frame):
                if publisher.publish_read(read) is not None:
                    published.append(read)
        publisher.flush()
        sub.wait(len(published))
    finally:
        cap.stop()
        cap.join(5)
        bus.stop()
        sub.client.stop()
    frame_keys = _keys(truth, classify)
    spec_keys = [classify(s["text"], s["symbology"]).key for s in truth.specs]
    latencies, missed = [], 0
    for show in truth.shows:
        key = spec_keys[show["spec"]]
        hit = next((i for i, r in enumerate(published) if r.info.key == key
                    and show["first"] <= r.frame_seq <= show["last"] + 3), None)
        if hit is None or hit >= len(sub.arrivals) or show["first"] not in captured:
            missed += 1
            continue
        latencies.append((sub.arrivals[hit] - captured[show["first"]]) * 1000)
    return {"latencies": latencies, "missed": missed, "shows": len(truth.shows),
            "false": len(_false(published, frame_keys)), "published": len(published),
            "replaced": slot.replaced, "skipped": cap.skipped}


def _distorted(video: Path, truth, kinds: list[str], cfg, classify) -> dict:
    """Per-frame read rates of zxing, zbar, either, the engine's decode stage; and the
    engine end to end (presentations published, false reads)."""
    frame_keys = _keys(truth, classify)
    stack_cfg = cfg.model_copy(update={"gate": cfg.gate.model_copy(
        update={"motion": False, "roi": False})})
    stack = ScanEngine(stack_cfg, classify)
    zx, zb, ocv = stack.decoders[0], stack.decoders[1], OpenCVDecoder()
    full = ScanEngine(cfg, classify)
    counts = {k: 0 for k in ("frames", "zxing", "zbar", "opencv", "either", "engine",
                             "zxing_false", "zbar_false", "opencv_false")}
    per_kind: dict[str, dict[str, int]] = {}
    reads = []
    slot = FrameSlot(lockstep=True)
    cap = CaptureThread(CameraConfig(source=str(video)), slot, pace="lockstep")
    cap.start()
    try:
        while True:
            frame = slot.get(timeout=2)
            if frame is None:
                break
            reads += full.process(frame)
            want = frame_keys[frame.seq]
            if not want:
                continue
            got = {}
            for name, dec in (("zxing", zx), ("zbar", zb), ("opencv", ocv)):
                keys = {classify(s.text, s.symbology).key for s in dec.decode(frame.image)}
                got[name] = want <= keys
                counts[f"{name}_false"] += bool(keys - want)
            got["either"] = got["zxing"] or got["zbar"]
            got["engine"] = want <= {classify(s.text, s.symbology).key
                                     for s in stack.decode(frame.image, frame.t)}
            counts["frames"] += 1
            kind = kinds[frame.seq] if frame.seq < len(kinds) else ""
            for name, ok in got.items():
                counts[name] += ok
                if kind:
                    per_kind.setdefault(kind, {}).setdefault(name, 0)
                    per_kind[kind][name] += ok
            if kind:
                per_kind[kind]["frames"] = per_kind[kind].get("frames", 0) + 1
    finally:
        cap.stop()
        cap.join(5)
    spec_keys = [classify(s["text"], s["symbology"]).key for s in truth.specs]
    shown = sum(1 for show in truth.shows if any(
        r.info.key == spec_keys[show["spec"]] and show["first"] <= r.frame_seq <= show["last"]
        + 3 for r in reads))
    return {**counts, "per_kind": per_kind, "shows": len(truth.shows), "published_shows": shown,
            "false": len(_false(reads, frame_keys)), "reads": len(reads)}


def photo_figures(split: str, workdir: Path, engine_factory=None, seed: int = 1,
                  only: tuple[str, ...] = (), variants: tuple[str, ...] | None = None) -> dict:
    """Real photographs (tests/scanner/photos, one split), each held still for five frames
    under each variant (still, blur, noise, JPEG, small motion), written as an MJPG video and
    read back through the capture path in lockstep.

    Returns per-frame read rates of zxing-cpp, zbar and either (frames showing a code), the
    share of presentations in which either decoder read the code on at least one frame, what
    the engine put out (``on_bus``: presentations whose code it published; ``wrong``: reads
    published of a code the presentation does not show), per variant too.
    ``engine_factory(cfg, classify)`` builds the engine (default: ScanEngine); ``only`` keeps the
    photos whose name contains one of these strings, ``variants`` some of the variants.
    """
    cfg = ScannerConfig()
    with DEFAULTS_FILE.open("rb") as fh:
        vm = VariableMeasureConfig.model_validate(tomllib.load(fh)["variable_measure"])
    classify = classifier_for(cfg, vm)
    photos = [p for p in load_photos(split) if not only or any(o in p.name for o in only)]
    video = workdir / f"photos-{split}.avi"
    truth, kinds = write_photo_session(video, photos, seed=seed,
                                       **({"variants": variants} if variants else {}))
    keys = [classify(s["text"], s["symbology"]).key for s in truth.specs]
    decoders = [make_decoder(n, cfg.decode.formats) for n in ("zxing", "zbar")]
    per_frame: dict[int, dict[str, bool]] = {}

    def on_frame(frame, _reads) -> None:
        shows = truth.frames[frame.seq] if frame.seq < len(truth.frames) else []
        if not shows:
            return
        want = keys[shows[0]]
        got = {d.name: want in {classify(s.text, s.symbology).key
                                for s in d.decode(frame.image)} for d in decoders}
        got["either"] = got["zxing"] or got["zbar"]
        per_frame[frame.seq] = got

    engine = (engine_factory or ScanEngine)(cfg, classify)
    reads = run_source(str(video), engine, on_reads=on_frame)
    out: dict = {"photos": len(photos), "presentations": len(truth.shows), "by_variant": {}}
    totals = {k: 0 for k in ("frames", "zxing", "zbar", "either", "either_any", "on_bus",
                             "wrong")}
    wrong_reads = []
    for show in truth.shows:
        key, variant = keys[show["spec"]], kinds[show["first"]]
        row = out["by_variant"].setdefault(variant, dict.fromkeys(totals, 0))
        frames = [per_frame.get(f, {}) for f in range(show["first"], show["last"] + 1)]
        mine = [r for r in reads if show["first"] <= r.first_frame <= show["last"]]
        bad = [r for r in mine if r.info.key != key]
        wrong_reads += [(truth.specs[show["spec"]]["name"], variant, r.text) for r in bad]
        add = {"frames": len(frames),
               "zxing": sum(f.get("zxing", False) for f in frames),
               "zbar": sum(f.get("zbar", False) for f in frames),
               "either": sum(f.get("either", False) for f in frames),
               "either_any": int(any(f.get("either", False) for f in frames)),
               "on_bus": int(any(r.info.key == key for r in mine)),
               "wrong": len(bad)}
        for k, v in add.items():
            row[k] += v
            totals[k] += v
    stray = [r for r in reads
             if not any(s["first"] <= r.first_frame <= s["last"] for s in truth.shows)]
    totals["wrong"] += len(stray)
    wrong_reads += [("(no code shown)", "", r.text) for r in stray]
    out.update(totals)
    out["wrong_reads"] = wrong_reads
    out["stats"] = engine.stats.as_dict()
    n, f = max(1, len(truth.shows)), max(1, totals["frames"])
    out["rates"] = {"zxing": totals["zxing"] / f, "zbar": totals["zbar"] / f,
                    "either": totals["either"] / f, "either_any": totals["either_any"] / n,
                    "on_bus": totals["on_bus"] / n}
    return out


def gs1_figures(workdir: Path, cfg: ScannerConfig, classify, size: tuple[int, int] = (1280, 720),
                seed: int = 7, hold: int = 12) -> dict:
    """Each zint-drawn GS1 code (synth.GS1_ZINT) under each distortion, through a fresh
    engine: "read" (published once, the right HRI), "missed" or "wrong"."""
    from dataclasses import replace

    import numpy as np
    from kiosk_drivers.scanner.sim.synth import (
        DISTORTIONS,
        EAN13_RENDER_WIDTH,
        GS1_ZINT,
        background,
        compose,
        render_zint,
    )

    fw, fh = size
    bg = background(fw, fh, seed)
    codes: dict[str, dict[str, str]] = {}
    for name, kind, data, hri in GS1_ZINT:
        img = render_zint(kind, data, workdir / f"{name}.png")
        width = min(img.shape[1], 0.9 * fw) * EAN13_RENDER_WIDTH / (fw * img.shape[1])
        for dname, (place, dist) in DISTORTIONS.items():
            # the distortion's size relative to the default placement, on the code's own size
            p = replace(place, width=place.width / Placement().width * width)
            rng = np.random.default_rng(seed)
            engine = ScanEngine(cfg, classify)
            got = []
            for k in range(hold):
                dx, dy = rng.uniform(-2, 2, 2)
                frame = compose(bg, img, replace(p, cx=p.cx + dx / fw, cy=p.cy + dy / fh), dist,
                                seed * 1000 + k)
                got += [r.info.code for r in engine.process(Frame(k, k / 30, frame))]
            codes.setdefault(name, {})[dname] = ("read" if got == [hri] else
                                                 "wrong" if any(g != hri for g in got)
                                                 else "missed")
    cells = [v for row in codes.values() for v in row.values()]
    return {"codes": codes, "shows": len(cells), "read": cells.count("read"),
            "wrong": cells.count("wrong"), "size": list(size)}


def bench_scanner(presentations: int = 12, fps_frames: int = 240, seed: int = 1,
                  workdir: Path | None = None, photos: str = "heldout") -> int:
    """Run the scanner benchmark; prints figures, then the JSON line. Returns 0."""
    import cv2
    cv2.setNumThreads(1)
    cfg = ScannerConfig()
    with DEFAULTS_FILE.open("rb") as fh:  # the packaged in-store layouts
        vm = VariableMeasureConfig.model_validate(tomllib.load(fh)["variable_measure"])
    classify = classifier_for(cfg, vm)
    formats = cfg.decode.formats

    def plain(name: str) -> PlainEngine:
        return PlainEngine(make_decoder(name, formats), classify, cfg.confirm.holdoff_s)

    with tempfile.TemporaryDirectory(prefix="kiosk-bench-scanner-",
                                     dir=workdir) as tmp:
        work = Path(tmp)
        t_gen = time.perf_counter()
        pres, garbage = _session(presentations, seed)
        sessions = {}
        for size in ((640, 480), (1280, 720)):
            path = work / f"session-{size[0]}.avi"
            sessions[size] = (path, write_session(path, pres, size, seed, garbage))
        dist = distorted_presentations(DISTORTED_SPECS, hold=3, gap=5, seed=seed + 4)
        dpath = work / "distorted-640.avi"
        dtruth = write_session(dpath, [p for _, p in dist], (640, 480), seed + 2)
        kinds = []
        for dname, p in dist:
            kinds += [dname] * (p.enter + p.hold) + [""] * p.gap
        gen_s = time.perf_counter() - t_gen

        fps: dict[str, dict[int, float]] = {"engine": {}, "engine_nofb": {}, "zxing": {},
                                            "zbar": {}}
        nofb = cfg.model_copy(update={"decode": cfg.decode.model_copy(
            update={"fallback": "off"})})
        engine_stats = {}
        false_reads = 0
        engine_false: dict[str, int] = {}
        for size, (path, truth) in sessions.items():
            frames = _frames(path, fps_frames)
            eng = ScanEngine(cfg, classify)
            fps["engine"][size[0]] = _pinned_fps(eng, frames)
            engine_stats[size[0]] = eng.stats
            fps["engine_nofb"][size[0]] = _pinned_fps(ScanEngine(nofb, classify), frames)
            fps["zxing"][size[0]] = _pinned_fps(plain("zxing"), frames)
            fps["zbar"][size[0]] = _pinned_fps(plain("zbar"), frames)
            del frames

            eng = ScanEngine(cfg, classify)
            reads = run_source(str(path), eng)
            bad = _false(reads, _keys(truth, classify))
            engine_false[f"session {size[0]}x{size[1]} (lockstep)"] = len(bad)
            false_reads += len(bad)

        d = _distorted(dpath, dtruth, kinds, cfg, classify)
        false_reads += d["false"]
        engine_false["distorted set (lockstep)"] = d["false"]

        port, broker = start_private_broker_on_free_port(work / "broker")
        lat = {}
        try:
            path, truth = sessions[(640, 480)]
            for name, eng in (("engine", ScanEngine(cfg, classify)), ("zxing", plain("zxing")),
                              ("zbar", plain("zbar"))):
                lat[name] = _latency_run(path, truth, eng, work / "broker", port, "BENCHSCAN",
                                         classify)
        finally:
            broker.terminate()
            broker.wait(10)
        false_reads += lat["engine"]["false"]
        engine_false["session 640x480 real time + bus"] = lat["engine"]["false"]
        photo = photo_figures(photos, work, seed=seed) if photos != "none" else None
        gs1 = gs1_figures(work, cfg, classify)

    def rate(name: str) -> float:
        return d[name] / d["frames"] if d["frames"] else 0.0

    def ms(name: str) -> tuple[float, float]:
        v = lat[name]["latencies"]
        return (statistics.median(v), percentile(v, 95)) if v else (float("nan"),) * 2

    n_frames = len(sessions[(640, 480)][1].frames)
    print(f"kiosk bench scanner: {presentations} presentations per session ({n_frames} frames),"
          f" {d['shows']} distorted presentations ({d['frames']} frames with a code);"
          f" data generated in {gen_s:.1f} s")
    print(f"  decoders: {', '.join(cfg.decode.decoders)} (primary first); one core for fps")
    print("  frames per second, one core (session: codes shown and taken away, hand, garbage):")
    for name, label in (("engine", "scanner engine (gate+ROI+confirm)"),
                        ("engine_nofb", "  the same without the zbar fallback"),
                        ("zxing", "plain zxing-cpp, every full frame"),
                        ("zbar", "plain zbar, every full frame")):
        print(f"    {label:36s} 640x480 {fps[name][640]:7.1f}   1280x720 {fps[name][1280]:7.1f}")
    for w, st in engine_stats.items():
        print(f"    engine at {w}: {st.gated}/{st.frames} frames gated (unchanged),"
              f" {st.roi_decodes} ROI and {st.full_decodes} full-frame decodes,"
              f" {st.fallback_decodes} zbar fallbacks, {st.cross_checks} cross-checks")
    print("  read rate on the distorted set (frames showing a code):")
    for name, label in (("engine", "scanner engine decode stage"), ("zxing", "zxing-cpp"),
                        ("zbar", "zbar"), ("either", "zxing-cpp or zbar"),
                        ("opencv", "OpenCV BarcodeDetector (EAN/UPC only)")):
        print(f"    {label:36s} {rate(name):6.1%}  ({d[name]}/{d['frames']})")
    print("    by distortion (engine / zxing / zbar / either):")
    for kind, c in d["per_kind"].items():
        f = c["frames"]
        print(f"      {kind:12s} " + " / ".join(f"{c.get(n, 0) / f:4.0%}" for n in (
            "engine", "zxing", "zbar", "either")))
    print(f"    published end to end (confirmed): {d['published_shows']}/{d['shows']}"
          f" distorted presentations")
    print(f"    single-frame wrong decodes: zxing-cpp {d['zxing_false']}, zbar"
          f" {d['zbar_false']}, OpenCV {d['opencv_false']} (frames where the decoder returned a"
          " code the frame does not show)")
    print("  scan-to-bus latency, 640x480 at 30 fps, real time, real mosquitto (first frame"
          " showing the code -> read event received):")
    for name, label in (("engine", "scanner engine (confirmed)"),
                        ("zxing", "plain zxing-cpp (unconfirmed)"),
                        ("zbar", "plain zbar (unconfirmed)")):
        med, p95 = ms(name)
        r = lat[name]
        print(f"    {label:36s} median {med:6.1f} ms  p95 {p95:6.1f} ms  read"
              f" {r['shows'] - r['missed']}/{r['shows']}  false {r['false']}"
              f"  frames dropped (late decoder) {r['replaced']}, skipped {r['skipped']}")
    print("  false reads published by the engine: " + ", ".join(
        f"{k} {v}" for k, v in engine_false.items()) + f"; total {false_reads}")
    if photo is not None:
        r = photo["rates"]
        print(f"  real photos ({photos} set, tests/scanner/photos): {photo['photos']} photos x"
              f" 5 variants, each held still 5 frames = {photo['presentations']}"
              " presentations")
        print(f"    single frames read: zxing-cpp {r['zxing']:.1%}, zbar {r['zbar']:.1%},"
              f" either {r['either']:.1%}; presentations either read on some frame"
              f" {r['either_any']:.1%}")
        print(f"    on the bus (confirmed, right item): {r['on_bus']:.1%}"
              f" ({photo['on_bus']}/{photo['presentations']}); wrong items {photo['wrong']}")
        for variant, row in photo["by_variant"].items():
            print(f"      {variant:8s} either {row['either'] / max(1, row['frames']):4.0%}"
                  f"  on bus {row['on_bus']}/{photo['photos']}  wrong {row['wrong']}")
    print(f"  GS1 codes drawn by zint, {gs1['size'][0]}x{gs1['size'][1]}, held in a hand:"
          f" {gs1['read']}/{gs1['shows']} read, {gs1['wrong']} wrong")
    for name, row in gs1["codes"].items():
        print(f"    {name:26s} " + " ".join(f"{d}:{v}" for d, v in row.items()))
    med, p95 = ms("engine")
    print("  targets: p95 < 100 ms at 640x480/30 fps; read rate >= either; zero false reads;"
          " photos: on bus >= either, zero wrong items")
    rates = photo["rates"] if photo is not None else {}
    print(json.dumps({
        "fps_640": round(fps["engine"][640], 1),
        "fps_1280": round(fps["engine"][1280], 1),
        "scan_to_bus_ms_median_640": round(med, 1),
        "scan_to_bus_ms_p95_640": round(p95, 1),
        "read_rate": round(rate("engine"), 4),
        "read_rate_zxing": round(rate("zxing"), 4),
        "read_rate_zbar": round(rate("zbar"), 4),
        "read_rate_either": round(rate("either"), 4),
        "false_reads": false_reads,
        "photo_on_bus_rate": round(rates["on_bus"], 4) if rates else None,
        "photo_read_rate_either": round(rates["either"], 4) if rates else None,
        "photo_read_rate_either_any": round(rates["either_any"], 4) if rates else None,
        "photo_wrong_items": photo["wrong"] if photo is not None else None,
        "gs1_read": gs1["read"],
        "gs1_shows": gs1["shows"],
        "gs1_wrong": gs1["wrong"],
    }))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.bench.scanner`` (the same as ``kiosk bench scanner``)."""
    parser = argparse.ArgumentParser(prog="kiosk bench scanner")
    parser.add_argument("--presentations", type=int, default=12)
    parser.add_argument("--fps-frames", type=int, default=240)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--photos", choices=["heldout", "tuning", "none"], default="heldout",
                        help="real-photo set to run (tests/scanner/photos)")
    args = parser.parse_args(argv)
    return bench_scanner(args.presentations, args.fps_frames, args.seed, photos=args.photos)


if __name__ == "__main__":
    raise SystemExit(main())
