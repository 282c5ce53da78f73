"""``kiosk scale NAME``: one scale's live weight on the bus (kiosk-scale@produce,
kiosk-scale@bagging).

Asks the scale (:mod:`kiosk_drivers.scale`, the protocol ``[scale.<name>]`` names) for its
weight every ``poll_s`` and publishes each change of reading, retained, on
``kiosk/v1/<lane>/scale/<name>`` (:func:`kiosk.bus.messages.scale_message`: status, whole
grams when stable, a sequence number and the time it was read), and at least once a second
even when nothing changed, so a subscriber can tell a live scale from a stale message.
Only the bus user ``kiosk-scale`` may write there (kiosk/bus/acl.py); kiosk-core prices
weighed items from ``produce`` and watches the bagging area with ``bagging``; the UI shows the
live weight.

A scale that stops answering is published as ``no_response`` (shown to the shopper, never
priced); a port that cannot be opened, or goes away, likewise, and is opened again every
``REOPEN_S``. The will says ``online: false`` when the service dies.

kiosk-scale@.service is ``Type=notify``: READY=1 once the bus is connected and the scale has
answered once, WATCHDOG=1 from the loop.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from kiosk_drivers.scale.config import ScaleConfig
from kiosk_drivers.scale.port import ScaleError, SerialScale, open_scale
from kiosk_drivers.scale.reading import Reading

from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin, login_for
from kiosk.bus.messages import Topics, scale_message
from kiosk.config import load_config_or_exit
from kiosk.ops import sdnotify

log = logging.getLogger("kiosk.scale")
REOPEN_S = 2.0
HEARTBEAT_S = 1.0


class ScaleService:
    """One scale of one lane, polled and published."""

    def __init__(self, name: str, config: ScaleConfig, lane: str, bus: BusLogin,
                 client_id: str | None = None) -> None:
        self.name, self.config, self.lane = name, config, lane
        self.topic = Topics(lane).scale(name)
        self.bus = BusClient(bus, client_id or f"kiosk-scale-{name}-{lane}-{os.getpid()}",
                             will=(self.topic, scale_message(name, False, "no_response")))
        self.seq = 0
        self.last: Reading | None = None
        self._sent_at = 0.0
        self._scale: SerialScale | None = None
        self._next_open = 0.0

    def _read(self) -> Reading:
        now = time.monotonic()
        if self._scale is None:
            if now < self._next_open:
                return Reading("no_response")
            try:
                self._scale = open_scale(self.config)
            except ScaleError as exc:
                self._next_open = now + REOPEN_S
                if self.last is None or self.last.status != "no_response":
                    log.warning("scale %s: %s", self.name, exc)
                return Reading("no_response")
        try:
            return self._scale.read()
        except ScaleError as exc:  # the port went away: open it again later
            log.warning("scale %s: %s", self.name, exc)
            self._scale.close()
            self._scale = None
            self._next_open = now + REOPEN_S
            return Reading("no_response")

    def poll(self) -> Reading:
        """Read once; publish when the reading changed (or the heartbeat is due)."""
        reading = self._read()
        now = time.monotonic()
        if reading != self.last or now - self._sent_at >= HEARTBEAT_S:
            if reading != self.last:
                self.seq += 1
                log.debug("scale %s: %s %s", self.name, reading.status, reading.weight_g)
            self.last = reading
            self._sent_at = now
            self.bus.publish(self.topic, scale_message(
                self.name, True, reading.status, reading.weight_g, self.seq, time.time()),
                retain=True)
        return reading

    def run(self, stop: threading.Event, on_ready: Callable[[str], object] | None = None,
            on_tick: Callable[[], object] | None = None) -> int:
        self.bus.start(wait_s=10)
        ready = False
        log.info("kiosk-scale %s up: lane %s, %s on %s", self.name, self.lane,
                 self.config.protocol, self.config.port)
        try:
            while not stop.is_set():
                reading = self.poll()
                if not ready and self.bus.connected.is_set() and reading.status != "no_response":
                    ready = True
                    if on_ready:
                        on_ready(f"bus connected, scale {self.name} answers")
                if on_tick:
                    on_tick()
                stop.wait(self.config.poll_s)
        finally:
            if self._scale is not None:
                self._scale.close()
            if self.bus.connected.is_set():
                self.bus.publish(self.topic, scale_message(self.name, False, "no_response",
                                                           seq=self.seq, ts=time.time()),
                                 retain=True).wait_for_publish(2)
            self.bus.stop()
        return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="which scale: a [scale.<name>] table (produce, bagging)")
    parser.add_argument("--port", help="serial port (overrides scale.<name>.port)")


def scale_main(args: argparse.Namespace) -> int:
    """Entry point of ``kiosk scale NAME``: runs until SIGTERM/SIGINT."""
    config = load_config_or_exit()
    cfg = config.scale.get(args.name)
    if cfg is None:
        print(f"kiosk scale: no [scale.{args.name}] in the configuration (configured:"
              f" {', '.join(config.scale) or 'none'})", file=sys.stderr)
        return 2
    if getattr(args, "port", None):
        cfg = ScaleConfig.model_validate({**cfg.model_dump(), "port": args.port})
    stop = sdnotify.stop_on_signals()
    service = ScaleService(args.name, cfg, config.store.lane_id,
                           login_for(config.bus, "kiosk-scale", config.security.production))
    watchdog = sdnotify.Watchdog()
    return service.run(stop, on_ready=sdnotify.ready, on_tick=watchdog.tick)
