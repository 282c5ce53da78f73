"""``kiosk scanner``: the scanner service, publishing each confirmed read on the bus.

Backends: ``camera`` (OpenCV capture → :class:`~kiosk_drivers.scanner.engine.ScanEngine`)
and ``wedge`` (a USB HID scanner through evdev). Every read is classified, then:

* product, variable-measure and staff-badge reads go to kiosk-core as a ``scan``
  command on ``kiosk/v1/<lane>/cmd/from/scanner`` (only kiosk-scanner may write it);
  kiosk-core answers each with good/bad feedback once it knows whether the item was added;
* a shopper's wallet payment code (class ``wallet``: kiosk.domain.wallet_codes) goes to
  kiosk-core only as a ``wallet_code`` command (``code``, ``kind``) on the same topic, not
  retained; only kiosk-core may read that topic (kiosk/bus/acl.py). The code is in no
  event, feedback or log line: they carry its kind only;
* every read, good or rejected, is published on ``kiosk/v1/<lane>/event/scanner`` as
  ``{"v":1,"type":"read","class":...,"ok":...}``; other payment codes and coupons go
  *only* there, never as a scan;
* reads kiosk-core does not answer (wallet, payment, coupon, rejected) get feedback from here
  on ``kiosk/v1/<lane>/event/feedback`` with ``"source":"scanner"`` (the GPIO driver
  beeps on it); a rejected read's feedback carries its ``reason`` (e.g.
  ``not_scannable``) for the screen to explain.

A retained ``kiosk/v1/<lane>/scanner/status`` (with a last will) says whether the
scanner is up and carries its counters. Logs show payment codes, coupons and badges
masked to their last 4 characters. A read made while the bus is down is dropped (and
counted): a scan delivered seconds later would surprise the shopper.

kiosk-scanner.service is ``Type=notify`` (``kiosk.ops.sdnotify``): READY=1 once the bus is
connected and the camera source delivers frames or the wedge device is grabbed, then
WATCHDOG=1 from the main loop (it turns at least every ``TICK_S``).
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable

from kiosk_drivers.scanner.capture import CaptureThread, FrameSlot, is_live, shown
from kiosk_drivers.scanner.config import ClassifyConfig, ScannerConfig
from kiosk_drivers.scanner.engine import Read, ScanEngine
from kiosk_drivers.scanner.wedge import run_wedge

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin, login_for
from kiosk.bus.messages import VERSION, Topics, command
from kiosk.config import load_config_or_exit
from kiosk.domain.codes import Classified, Classifier
from kiosk.ops import sdnotify

log = logging.getLogger(__name__)
#: the main loop turns at least this often (it ticks the systemd watchdog)
TICK_S = 0.25


class ReadPublisher:
    """Turns classified reads into bus messages (scan or wallet_code command, read event,
    feedback)."""

    def __init__(self, bus, lane: str, cfg: ClassifyConfig,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.bus, self.cfg, self.clock = bus, cfg, clock
        self.topics = Topics(lane)
        self.counts: Counter[str] = Counter()
        self._pending: list = []

    def publish(self, info: Classified, *, symbology: str, t_first: float, backend: str,
                decoders: tuple[str, ...] = (), votes: int = 1) -> dict | None:
        """Publish one read; returns the read event, or None if the bus is down."""
        if not self.bus.connected.is_set():
            self.counts["dropped_bus_down"] += 1
            log.warning("scanner: bus down, dropped a %s read", info.cls)
            return None
        ok, reason, cmd_id = info.ok, info.reason, None
        wallet = info.cls == "wallet"
        if (info.forward or wallet) and ok:
            fields = ({"code": info.code, "kind": info.detail["kind"]} if wallet
                      else {"code": info.code})
            try:
                msg = command("wallet_code" if wallet else "scan", source="scanner", **fields)
            except ValueError:  # pydantic refused it (its text holds the code: never logged)
                ok, reason = False, "not_scannable"
            else:
                self._track(self.bus.publish(self.topics.command_from("scanner"), msg))
                cmd_id = msg["id"]
        latency_ms = round((self.clock() - t_first) * 1000, 1)
        event: dict = {"v": VERSION, "type": "read", "class": info.cls, "ok": ok,
                       "symbology": symbology, "backend": backend, "masked": info.masked,
                       "latency_ms": latency_ms}
        if cmd_id:
            event["cmd_id"] = cmd_id
        if reason:
            event["reason"] = reason
        if decoders:
            event["decoders"] = list(decoders)
            event["votes"] = votes
        if info.cls in ("product", "variable_measure") or (
                ok and info.cls in ("payment", "coupon") and self.cfg.publish_payment_code):
            event["code"] = info.code
        detail = {k: v for k, v in info.detail.items() if k != "error"}
        if detail:
            event["detail"] = detail  # a wallet read's: its kind only
        self._track(self.bus.publish(self.topics.scanner_events, event))
        if not (info.forward and ok) or self.cfg.feedback_for_forwarded:
            feedback = {"v": VERSION, "type": "feedback",
                        "kind": "good_read" if ok else "bad_read", "source": "scanner"}
            if reason:  # why the read was refused, for the screen (a message id's key)
                feedback["reason"] = reason
            self.bus.publish(self.topics.feedback, feedback, qos=0)
        self.counts[f"{info.cls}_{'ok' if ok else 'rejected'}"] += 1
        shown = info.code if info.cls in ("product", "variable_measure") else info.masked
        log.info("scanner: %s %s%s %s (%s, %.0f ms)", info.cls, "read" if ok else "rejected",
                 f" [{reason}]" if reason else "", shown, symbology, latency_ms)
        return event

    def publish_read(self, read: Read, backend: str = "camera") -> dict | None:
        return self.publish(read.info, symbology=read.symbology, t_first=read.t_first,
                            backend=backend, decoders=read.decoders, votes=read.votes)

    def _track(self, info) -> None:
        self._pending = [p for p in self._pending if not p.is_published()][-256:]
        self._pending.append(info)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until the messages published so far reached the broker."""
        deadline = time.monotonic() + timeout
        for info in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                info.wait_for_publish(left)
            except (RuntimeError, ValueError):
                pass
        self._pending.clear()


def classifier_for(cfg: ScannerConfig, variable_measure) -> Classifier:  # noqa: ANN001
    """How the kiosk classifies what a scanner reads: the ``[scanner.classify]`` prefixes and
    the store's variable-measure layouts (given to the scan engine and the wedge)."""
    return Classifier(variable_measure, cfg.classify.payment_qr_prefixes,
                      cfg.classify.coupon_prefixes)


class ScannerService:
    """One scanner on one lane: capture or wedge, engine, publisher, status."""

    def __init__(self, cfg: ScannerConfig, lane: str, bus: BusLogin,
                 variable_measure, client_id: str | None = None) -> None:
        self.cfg, self.lane, self.variable_measure = cfg, lane, variable_measure
        self.bus_login = bus
        self.client_id = client_id or f"kiosk-scanner-{lane}-{os.getpid()}"
        self.publisher: ReadPublisher | None = None
        self.engine = None
        self.capture = None
        self.wedge_decoder = None
        self.ready = False
        self._bus = None
        self._source_up: str | None = None  # what READY's STATUS= names, once it works
        self._on_ready: Callable[[str], object] | None = None
        self._on_tick: Callable[[], object] | None = None

    def run(self, stop: threading.Event, source: str | None = None,
            pace: str | None = None, on_ready: Callable[[str], object] | None = None,
            on_tick: Callable[[], object] | None = None) -> int:
        """Until ``stop`` (or a file's end): ``on_ready(status)`` once the bus is connected
        and the camera source delivers frames or the wedge device is grabbed; ``on_tick``
        at least every ``TICK_S`` from the loop running in the calling thread (systemd's
        watchdog ping: never from a helper thread, so a hung loop stops the pings)."""
        self._on_ready, self._on_tick = on_ready, on_tick

        offline = {"v": VERSION, "type": "scanner_status", "online": False}
        bus = BusClient(self.bus_login, self.client_id,
                        will=(Topics(self.lane).scanner_status, offline))
        self._bus = bus
        self.publisher = ReadPublisher(bus, self.lane, self.cfg.classify)
        bus.on_connect(lambda: self._publish_status(bus, True))
        if not bus.start(wait_s=10):
            log.warning("scanner: bus %s:%d not reachable yet; retrying in the background",
                        self.bus_login.host, self.bus_login.port)
        try:
            if self.cfg.backend == "wedge":
                return self._run_wedge(stop)
            return self._run_camera(stop, bus, source, pace)
        finally:
            self.publisher.flush()
            if bus.connected.is_set():
                bus.publish(Topics(self.lane).scanner_status, self._status(False),
                            retain=True).wait_for_publish(2)
            bus.stop()

    def _status(self, online: bool) -> dict:
        msg: dict = {"v": VERSION, "type": "scanner_status", "online": online,
                     "backend": self.cfg.backend}
        if self.engine is not None:
            msg["engine"] = self.engine.stats.as_dict()
        if self.capture is not None:
            msg["capture"] = {"frames": self.capture.frames, "skipped": self.capture.skipped,
                              "replaced": self.capture.slot.replaced}
        if self.wedge_decoder is not None:
            msg["wedge"] = {"dropped": self.wedge_decoder.dropped}
        if self.publisher is not None:
            msg["reads"] = dict(self.publisher.counts)
        return msg

    def _publish_status(self, bus, online: bool) -> None:
        bus.publish(Topics(self.lane).scanner_status, self._status(online), retain=True)

    def _tick(self) -> None:
        """One turn of the main loop: READY once everything works, then the watchdog."""
        if (not self.ready and self._source_up and self._bus is not None
                and self._bus.connected.is_set()):
            self.ready = True
            log.info("scanner: ready (%s)", self._source_up)
            if self._on_ready:
                self._on_ready(f"bus connected, {self._source_up}")
        if self._on_tick:
            self._on_tick()

    def _run_camera(self, stop: threading.Event, bus, source: str | None,
                    pace: str | None) -> int:
        cam = self.cfg.camera
        src = source or cam.source
        pace = pace or cam.file_pace
        self.engine = engine = ScanEngine(self.cfg,
                                          classifier_for(self.cfg, self.variable_measure))
        slot = FrameSlot(lockstep=not is_live(src) and pace == "lockstep")
        self.capture = capture = CaptureThread(cam, slot, source=src, pace=pace)
        capture.start()
        log.info("scanner: camera backend on %s (%s), decoders %s",
                 shown(src), "live" if is_live(src) else pace,
                 ",".join(self.cfg.decode.decoders))
        next_status = time.monotonic() + self.cfg.status_interval_s
        try:
            while not stop.is_set():
                frame = slot.get(timeout=TICK_S)
                if frame is not None:
                    if not self._source_up:  # a frame arrived: the source is open and works
                        self._source_up = f"camera {shown(src)} delivering frames"
                    for read in engine.process(frame):
                        self.publisher.publish_read(read)
                elif slot.closed:
                    break
                self._tick()
                if time.monotonic() >= next_status:
                    self._publish_status(bus, True)
                    next_status = time.monotonic() + self.cfg.status_interval_s
        finally:
            capture.stop()
            capture.join(5)
        st = engine.stats
        log.info("scanner: %d frames, %d decoded, %d gated, %d published, %d rejected,"
                 " %d unconfirmed dropped", st.frames, st.decoded, st.gated, st.published,
                 st.rejected, st.unconfirmed)
        if capture.error:
            log.error("scanner: capture failed: %s", capture.error)
            return 1
        return 0

    def _run_wedge(self, stop: threading.Event) -> int:
        classify = classifier_for(self.cfg, self.variable_measure)

        def on_code(text: str, t: float) -> None:
            self.publisher.publish(classify(text), symbology="wedge", t_first=t,
                                   backend="wedge")

        def on_device(path: str | None) -> None:
            if path is not None and not self._source_up:
                self._source_up = f"wedge {path} {'grabbed' if self.cfg.wedge.grab else 'open'}"
            elif path is None and not self.ready:
                self._source_up = None  # lost before READY: wait for it again

        self.wedge_decoder = run_wedge(self.cfg.wedge, on_code, stop, self.cfg.camera.reopen_s,
                                       on_device=on_device, on_tick=self._tick, tick_s=TICK_S)
        return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``kiosk scanner`` (they override ``[scanner]`` for one run)."""
    parser.add_argument("--backend", choices=["camera", "wedge"],
                        help="camera (OpenCV decoding) or a USB keyboard-wedge scanner"
                             " (default scanner.backend)")
    parser.add_argument("--source", help="camera device (/dev/video0 or 0), video file or URL")
    parser.add_argument("--pace", choices=["realtime", "lockstep"],
                        help="files: play in real time like a camera, or hand every frame over")
    parser.add_argument("--loop", action="store_true", help="files: start again at the end")


def scanner_main(args: argparse.Namespace) -> int:
    """Entry point of ``kiosk scanner``: runs until SIGTERM/SIGINT (or a file's end)."""
    config = load_config_or_exit()
    cfg = config.scanner
    cam_update: dict = {}
    if getattr(args, "source", None):
        cam_update["source"] = args.source
    if getattr(args, "loop", False):
        cam_update["loop"] = True
    update: dict = {}
    if cam_update:
        update["camera"] = cfg.camera.model_copy(update=cam_update)
    if getattr(args, "backend", None):
        update["backend"] = args.backend
    if update:
        cfg = ScannerConfig.model_validate({**cfg.model_dump(), **{
            k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in update.items()}})
    stop = sdnotify.stop_on_signals()
    service = ScannerService(cfg, config.store.lane_id,
                             login_for(config.bus, "kiosk-scanner", config.security.production),
                             config.variable_measure)
    watchdog = sdnotify.Watchdog()  # kiosk-scanner.service is Type=notify
    return service.run(stop, pace=getattr(args, "pace", None), on_ready=sdnotify.ready,
                       on_tick=watchdog.tick)


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.services.scanner`` (the same as ``kiosk scanner``)."""
    parser = argparse.ArgumentParser(prog="kiosk scanner", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return scanner_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
