"""The station's view of every lane, from the store broker, and its way to command one.

:class:`LaneBoard` connects to the store broker as the station's user (``kiosk-attendant``,
TLS), reads each lane's retained state and core status (bridged there by the lane's broker,
kiosk/bus/bridge.py) through the bus schema (a malformed one is dropped), and sends an
attendant's signed ``remote`` command (kiosk/security/remote.py) on the lane's station
command topic, waiting for the lane's answer on its result topic.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from kiosk.bus.acl import REMOTE_SENDER, bridge_status_topic, bridged_topics
from kiosk.bus.client import BusClient
from kiosk.bus.credentials import BusLogin
from kiosk.bus.messages import (
    MAX_STATUS_BYTES,
    MessageError,
    Topics,
    load_json,
    parse_core_status,
    parse_state,
)
from kiosk.domain.vocabulary import REMOTE_ACTIONS
from kiosk.security.remote import Session

log = logging.getLogger("kiosk.attendant")
#: how long the station waits for a lane's answer to a command
RESULT_WAIT_S = 5.0


@dataclass
class Lane:
    lane: str
    state: dict | None = None
    online: bool = False        # kiosk-core's retained status
    linked: bool = True         # the lane's bridge to the store broker (its will: False)
    #: fault → when the station first saw it (a fault carries no time on the lane's state)
    faults_since: dict[str, float] = field(default_factory=dict)


class LaneBoard:
    """Every lane the store broker relays, kept up to date on paho's thread."""

    def __init__(self, login: BusLogin, client_id: str = "kiosk-attendant") -> None:
        self._lanes: dict[str, Lane] = {}
        self._lock = threading.Lock()
        self._waiting: set[str] = set()      # ids of the commands we sent, not yet answered
        self._results: dict[str, dict] = {}  # their answers (every lane's results pass by)
        self._answered = threading.Condition(self._lock)
        self.bus = BusClient(login, client_id)
        for topic, direction in bridged_topics("+"):
            if direction == "out":
                self.bus.subscribe(topic, self._on_message)
        self.bus.subscribe(bridge_status_topic("+"), self._on_message)

    def start(self, wait_s: float | None = 10.0) -> bool:
        return self.bus.start(wait_s)

    def stop(self) -> None:
        self.bus.stop()

    def _on_message(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) < 4:
            return
        lane_id, rest = parts[2], "/".join(parts[3:])
        t = Topics(lane_id)
        try:
            if topic == t.state:
                msg = parse_state(payload) if payload else None
                self._update(lane_id, state=msg)
            elif topic == t.core_status:
                if payload:
                    self._update(lane_id, online=parse_core_status(payload)["online"])
            elif topic == bridge_status_topic(lane_id):
                self._update(lane_id, linked=payload != b"0")
            elif topic == t.result:
                result = load_json(payload, MAX_STATUS_BYTES)
                if isinstance(result, dict):
                    with self._answered:
                        if result.get("id") in self._waiting:
                            self._results[result["id"]] = result
                            self._answered.notify_all()
        except MessageError as exc:
            log.warning("lane %s: %s dropped: %s", lane_id, rest, exc)

    def _update(self, lane_id: str, **changes: object) -> None:
        now = time.time()
        with self._lock:
            lane = self._lanes.setdefault(lane_id, Lane(lane_id))
            for key, value in changes.items():
                setattr(lane, key, value)
            faults = (lane.state or {}).get("faults") or {}
            lane.faults_since = {f: lane.faults_since.get(f, now) for f in faults}

    def lanes(self) -> list[dict]:
        """What the page shows, lane by lane (sorted by lane id)."""
        with self._lock:
            return [_view(lane) for _, lane in sorted(self._lanes.items())]

    def send(self, session: Session, lane: str, action: str, line_id: int | None = None,
             wait_s: float = RESULT_WAIT_S) -> dict:
        """Sign and send one command; the lane's answer ({"ok", "reason"}), or a timeout."""
        msg = session.sign(lane, action, line_id)
        with self._lock:
            self._waiting.add(msg["id"])
        self.bus.publish(Topics(lane).command_from(REMOTE_SENDER), msg)
        deadline = time.monotonic() + wait_s
        with self._answered:
            try:
                while msg["id"] not in self._results:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return {"id": msg["id"], "ok": False, "reason": "no_answer"}
                    self._answered.wait(left)
                return self._results.pop(msg["id"])
            finally:
                self._waiting.discard(msg["id"])


def _view(lane: Lane) -> dict:
    s = lane.state or {}
    totals = s.get("totals") or {}
    alerts = [dict(a) for a in s.get("alerts") or []]
    faults = s.get("faults") or {}
    for device, detail in faults.items():
        if device != "lane":  # a lane closed by staff is its state, not an alert
            alerts.append({"type": "device_fault", "device": device, "detail": detail,
                           "since": lane.faults_since.get(device, time.time())})
    payment = s.get("payment") or {}
    if s.get("state") in ("declined", "payment_unavailable") or s.get("reversal_owed"):
        alerts.append({"type": "payment_trouble", "since": s.get("entered_at") or 0,
                       "detail": payment.get("reason") or s.get("state"),
                       "message": payment.get("message") or ""})
    return {
        "lane": lane.lane,
        "online": lane.online and lane.linked and bool(s),
        "state": s.get("state", "unknown"),
        "closed": "lane" in faults,
        "training": bool(s.get("training")),
        "total": totals.get("total", 0),
        "currency": s.get("currency") or {"code": "", "exponent": 2},
        "lines": [{"line_id": ln["line_id"], "names": ln.get("names") or {},
                   "qty": ln.get("qty", 1), "amount": ln.get("amount", 0),
                   "age_status": ln.get("age_status", "none")}
                  for ln in s.get("lines") or []],
        "alerts": alerts,
        "accepts_remote": _actions(s),
        "server_time": s.get("server_time"),
    }


def _actions(s: dict) -> list[str]:
    """The actions the page offers for the lane's state (the lane decides again)."""
    state = s.get("state", "")
    closed = "lane" in (s.get("faults") or {})
    reason = (s.get("attendant") or {}).get("reason")
    out = []
    for action, states in REMOTE_ACTIONS.items():
        if state not in states:
            continue
        if action == "approve_age" and reason != "age_restricted":
            continue
        if action == "clear" and reason in (None, "age_restricted"):
            continue
        if action == "close_lane" and closed or action == "open_lane" and not closed:
            continue
        if action == "void_line" and not s.get("lines"):
            continue
        out.append(action)
    return out
