"""The scan engine: frame in, confirmed and de-duplicated reads out.

Per frame: motion gate (skip a frame that shows what the last decoded one showed, unless
the picture changed less than ``settle_s`` ago) → decode (the ROI of recent codes first,
the full frame every few frames or when the ROI reads nothing; the full-frame fallback
decoders on a full frame the primary read nothing in; every other decoder cross-checks
each new 1-D code in its own small region, looking again with its own options until it
reads it: :meth:`Decoder.retry`) → classify (the application's :data:`Classify`,
injected: the engine only needs a read's identity ``key`` and whether it is usable,
``ok``) → votes (each marked *fresh* when the code's region differs from the frames
that voted before: a decoder repeating itself on the same picture is not new evidence)
→ confirmed reads not already held in view. The engine is single-threaded and holds no
I/O: the service feeds it frames from the capture thread and publishes what it
returns; tests and the bench feed it frames the same way.

Time comes only from the frames (``Frame.t``, the capture clock), so a run over a file
in lockstep gives the same reads on a fast or a slow machine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from kiosk_drivers.scanner.config import ScannerConfig
from kiosk_drivers.scanner.confirm import Confirmer, Presence
from kiosk_drivers.scanner.decoders import Box, Decoder, Symbol, make_decoder
from kiosk_drivers.scanner.gate import MotionGate, RoiTracker

log = logging.getLogger(__name__)


class Classification(Protocol):
    """What the engine needs to know of a decoded text; the application's classifier
    returns more (class, masked text...), which travels on in :attr:`Read.info`."""

    @property
    def key(self) -> str:
        """The read's identity for confirmation and de-duplication (one per code, whatever
        form a decoder gave it in)."""
        ...

    @property
    def ok(self) -> bool:
        """Usable; a confirmed read that is not is counted as rejected."""
        ...


#: (decoded text, symbology) → its classification
Classify = Callable[[str, str], Classification]


@dataclass(slots=True)
class Frame:
    """A greyscale frame and when it was captured (seconds on the capture clock)."""

    seq: int
    t: float
    image: Any  # numpy uint8 array, H x W


@dataclass(frozen=True)
class Read:
    """A confirmed read, ready to publish."""

    info: Any  # what the injected Classify returned (a Classification)
    text: str = field(repr=False)  # as decoded (maybe a bearer code: kept out of reprs)
    symbology: str
    box: Box
    frame_seq: int  # the frame that confirmed it
    first_frame: int  # the first frame that voted for it
    t_first: float  # capture time of that first frame
    t_confirm: float
    decoders: tuple[str, ...]
    votes: int


@dataclass
class EngineStats:
    frames: int = 0
    gated: int = 0  # skipped by the motion gate
    decoded: int = 0
    roi_decodes: int = 0
    full_decodes: int = 0
    fallback_decodes: int = 0
    fallback_hits: int = 0
    cross_checks: int = 0  # a decoder looking at another one's new 1-D code
    retries: int = 0  # further looks of a cross-check (enlarged, contrast, binarized)
    symbols: int = 0
    held: int = 0  # sightings of a code already published and still in view
    published: int = 0
    rejected: int = 0  # confirmed reads of a class the kiosk cannot use
    unconfirmed: int = 0  # candidates dropped without enough votes (expired or tied)
    ties: int = 0  # of those, candidates dropped after being contested for a whole window
    errors: int = 0
    decode_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        out = asdict(self)
        out["decode_s"] = round(self.decode_s, 3)
        return out


VIEW_SIZE = (32, 8)  # a code's region, area-averaged to this many cells along x 32 y 8
# mean change of the normalised cells that makes a frame a new view; measured on the tuning
# photos held still: 0.011 (90th percentile) with camera noise, 0.043 with heavy noise,
# 0.023 after JPEG; moved by 1-3 px: 0.068 (10th percentile)
VIEW_DELTA = 0.06


def view_of(image, box: Box):
    """The code's region, area-averaged to a few cells and normalised (mean 0, unit
    contrast): sensor noise cancels out, a moved or turned code changes it."""
    import cv2
    import numpy as np

    x0, y0, x1, y1 = box
    # a 1-D box can be one thin scan line: look at the code around it (at least half as
    # tall as it is long), where sensor noise averages out
    bw, bh = x1 - x0, y1 - y0
    pad = max(0, (max(bw, bh) // 2 - min(bw, bh)) // 2)
    gx, gy = (0, pad) if bw >= bh else (pad, 0)
    h, w = image.shape[:2]
    crop = image[max(0, y0 - gy):min(h, y1 + gy), max(0, x0 - gx):min(w, x1 + gx)]
    if crop.size == 0:
        return None
    size = VIEW_SIZE if crop.shape[1] >= crop.shape[0] else VIEW_SIZE[::-1]
    cells = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return (cells - cells.mean()) / (cells.std() + 8.0)


def grow(box: Box, shape: tuple[int, ...], frac: float, pad: int = 16) -> Box:
    h, w = shape[:2]
    g = int(frac * max(box[2] - box[0], box[3] - box[1])) + pad
    return (max(0, box[0] - g), max(0, box[1] - g), min(w, box[2] + g), min(h, box[3] + g))


class ScanEngine:
    def __init__(self, cfg: ScannerConfig, classify: Classify,
                 decoders: list[Decoder] | None = None) -> None:
        d = cfg.decode
        self.cfg = cfg
        self.decoders = decoders or [
            make_decoder(name, d.formats, d.try_rotate, d.try_invert, d.try_downscale)
            for name in d.decoders]
        self.primary, self.others = self.decoders[0], self.decoders[1:]
        self.classify = classify
        self.gate = MotionGate(cfg.gate) if cfg.gate.motion else None
        self.roi = RoiTracker(cfg.gate) if cfg.gate.roi else None
        c = cfg.confirm
        self.confirmer = Confirmer(c.votes_1d, c.votes_2d, c.window_s, c.votes_1d_one_decoder)
        self.presence = Presence(c.holdoff_s)
        self.stats = EngineStats()
        self._last_keys: set[str] = set()
        self._last_decode_t = float("-inf")
        self._since_full = 0
        self._seen: dict[str, tuple[Symbol, Classification]] = {}
        # per candidate key: the region of its first vote and the views voted from so far
        self._views: dict[str, tuple[Box, list]] = {}

    # -- per frame -------------------------------------------------------------------

    def process(self, frame: Frame) -> list[Read]:
        """Feed one frame; returns the reads it confirmed (usually none)."""
        st, t = self.stats, frame.t
        st.frames += 1
        self.presence.expire(t)
        st.unconfirmed += self.confirmer.expire(t)
        ties = self.confirmer.ties
        thumb = None
        if self.gate is not None:
            thumb = self.gate.thumbnail(frame.image)
            if (not self.confirmer.pending
                    and t - self._last_decode_t < self.cfg.gate.idle_decode_s
                    and not self.gate.changed(thumb) and not self.gate.settling(t)):
                st.gated += 1
                for key in self._last_keys:  # same picture: what was in view still is
                    self.presence.seen(key, t)
                return []
        t0 = time.perf_counter()
        try:
            symbols = self.decode(frame.image, t)
        except Exception:  # a decoder bug on a strange frame must not stop the scanner
            log.exception("scanner: decoding frame %d failed", frame.seq)
            st.errors += 1
            return []
        finally:
            st.decode_s += time.perf_counter() - t0
        st.decoded += 1
        self._last_decode_t = t
        if self.gate is not None:
            self.gate.decoded(thumb, t)
        reads = self._vote(frame, symbols)
        st.ties += self.confirmer.ties - ties
        st.unconfirmed += self.confirmer.ties - ties
        return reads

    def decode(self, image, t: float) -> list[Symbol]:
        """Decode one frame with the fast path (ROI, fallback, cross-check)."""
        st = self.stats
        symbols: list[Symbol] = []
        roi = self.roi.roi(t, image.shape) if self.roi is not None else None
        full = roi is None or self._since_full + 1 >= self.cfg.gate.full_frame_every
        if not full:
            x0, y0, x1, y1 = roi
            symbols = self.primary.decode(image[y0:y1, x0:x1], (x0, y0))
            st.roi_decodes += 1
            self._since_full += 1
            full = not symbols
        if full:
            symbols = self.primary.decode(image)
            st.full_decodes += 1
            self._since_full = 0
            if not symbols and self.cfg.decode.fallback == "full_frame":
                for dec in (d for d in self.others if d.full_frame):
                    st.fallback_decodes += 1
                    symbols = dec.decode(image)
                    if symbols:
                        st.fallback_hits += 1
                        break
        if self.cfg.decode.cross_check and self.others:
            symbols += self._cross_check(image, symbols)
        if self.roi is not None:
            self.roi.update([s.box for s in symbols], t)
        st.symbols += len(symbols)
        return symbols

    def _cross_check(self, image, symbols: list[Symbol]) -> list[Symbol]:
        """Each other decoder looks at the region of each new 1-D code, with its own ways
        of raising its read rate (:meth:`Decoder.retry`), until it reads the code: two
        decoders agreeing is the independent evidence a still picture can give. A look
        that read something else is kept (a misread contests); the first one wins."""
        extra: list[Symbol] = []
        for sym in symbols:
            if sym.is_2d:
                continue
            key = self.classify(sym.text, sym.symbology).key
            if self.presence.held(key):
                continue
            x0, y0, x1, y1 = grow(sym.box, image.shape, 0.3)
            crop = image[y0:y1, x0:x1]
            for dec in self.decoders:
                if dec.name == sym.decoder or (dec.symbologies is not None
                                               and sym.symbology not in dec.symbologies):
                    continue
                self.stats.cross_checks += 1
                first: list[Symbol] = []
                for n, found in enumerate(dec.retry(crop, (x0, y0))):
                    self.stats.retries += n > 0
                    if any(self.classify(f.text, f.symbology).key == key for f in found):
                        first = found
                        break
                    first = first or found
                extra += first
        return extra

    def _vote(self, frame: Frame, symbols: list[Symbol]) -> list[Read]:
        st, t = self.stats, frame.t
        keys: set[str] = set()
        fresh: dict[tuple[str, str], bool] = {}
        for sym in symbols:
            info = self.classify(sym.text, sym.symbology)
            keys.add(info.key)
            if self.presence.seen(info.key, t):
                st.held += 1
                self.confirmer.sighted(info.key, sym.symbology, sym.is_2d, t, frame.seq,
                                       sym.decoder, sym.box)
                continue
            if (info.key, sym.decoder) not in fresh:
                fresh[(info.key, sym.decoder)] = self._fresh_view(info.key, frame.image,
                                                                  sym.box)
            self.confirmer.vote(info.key, sym.symbology, sym.is_2d, t, frame.seq, sym.decoder,
                                sym.box, fresh[(info.key, sym.decoder)])
            self._seen[info.key] = (sym, info)
        self._last_keys = keys
        reads = []
        for cand in self.confirmer.confirmed(t):
            self._views.pop(cand.key, None)
            sym, info = self._seen.pop(cand.key)
            self.presence.published(cand.key, t)
            if info.ok:
                st.published += 1
            else:
                st.rejected += 1
            reads.append(Read(info, sym.text, sym.symbology, sym.box, frame.seq,
                              cand.first_frame, cand.first_t, t, cand.decoders, len(cand.votes)))
        live = self.confirmer.keys()
        if len(self._seen) > 256:  # keys whose candidates expired
            self._seen = {k: v for k, v in self._seen.items() if k in live}
        for key in [k for k in self._views if k not in live]:
            del self._views[key]
        return reads

    def _fresh_view(self, key: str, image, box: Box) -> bool:
        """Whether this frame shows the code's region differently from every frame that
        voted for ``key`` so far (always for its first vote)."""
        import numpy as np

        ref = self._views.get(key)
        if ref is None:
            view = view_of(image, box)
            self._views[key] = (box, [view] if view is not None else [])
            return True
        ref_box, seen = ref
        view = view_of(image, ref_box)
        if view is None:
            return False
        if all(v.shape != view.shape or float(np.abs(v - view).mean()) > VIEW_DELTA
               for v in seen):
            seen.append(view)
            return True
        return False


class PlainEngine:
    """Baseline for benchmarks: one decoder on every full frame, each code published at
    its first sighting (no gate, no ROI, no confirmation); the same hold-off."""

    def __init__(self, decoder: Decoder, classify: Classify, holdoff_s: float) -> None:
        self.decoder, self.classify = decoder, classify
        self.presence = Presence(holdoff_s)
        self.stats = EngineStats()

    def process(self, frame: Frame) -> list[Read]:
        st, t = self.stats, frame.t
        st.frames += 1
        self.presence.expire(t)
        t0 = time.perf_counter()
        symbols = self.decoder.decode(frame.image)
        st.decode_s += time.perf_counter() - t0
        st.decoded += 1
        reads = []
        for sym in symbols:
            info = self.classify(sym.text, sym.symbology)
            if self.presence.seen(info.key, t):
                continue
            self.presence.published(info.key, t)
            st.published += 1
            reads.append(Read(info, sym.text, sym.symbology, sym.box, frame.seq, frame.seq, t,
                              t, (self.decoder.name,), 1))
        return reads
