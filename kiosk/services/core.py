"""kiosk-core: owns the checkout truth and drives it from bus commands.

One main loop owns the state, the journal and the catalog; everything else
(paho's network thread, payment and printer workers) only posts to its inbox.
Each accepted command becomes events that are journaled durably *before* any
effect (authorization, printing) starts, and the new state is published,
retained, after every change. On start the state is recovered from the journal
and every unfinished intent is resolved: an authorization that was in flight is
reversed, never resent.

Card payments: the port's progress steps (insert card, reading, choose
application, authorizing, remove card) arrive on the inbox from the payment
worker and are published on the state as ``payment.step`` / ``payment.apps``
without being journaled; the shopper's choice and cancel are journaled first and
then handed to the port (``choose`` / ``cancel``). Payments are refused while the
clock is not synchronized when ``payments.require_clock_sync`` is on.

Staff sign-in: a PIN arrives sealed to this service (kiosk/security/pinseal.py) and is opened
here; the scrypt check of a PIN or badge runs in a worker thread, and the command is
decided again with its outcome when the answer comes back through the inbox. Commands
that arrive meanwhile wait their turn, so order and de-duplication are kept. The PIN is
never logged or journaled.

A card left in the reader: when a session ends the port is told (``seal_cards``); a card
still in then never pays for anyone again, and the state carries ``card_left`` (screen,
voice, tower light and buzzer ask to take it) until the reader's observer reports it
removed (``card_taken`` on the inbox). Like the steps, this is not journaled: it is the
reader's present, not the sale's history.

Scales (issue 19): kiosk-scale publishes each scale's reading (``scale/<name>``); the
``produce`` scale's last one prices weighed items (only a stable, positive, in-range weight:
:func:`kiosk.domain.pricing.priceable_weight`), the ``bagging`` scale's feed the bagging-area
check (:class:`kiosk.domain.bagging.BaggingMonitor`, fed the basket's changes after every
commit), whose alerts and clearances are journaled events. A scale that stops answering is a
device fault (``scale_<name>``), never a weight. The state carries ``alerts``: what waits for
an attendant (type, since, lane), the shape an attendant station reads.

Shopper feedback (issue 18): a ``rate`` on the receipt screen is decided like any command and
journaled as one ``shopper_rating`` with the basket's step timings, read from the journal
(:func:`kiosk.domain.feedback.step_timings`). A low rating waits for "what went wrong": this
service holds it (published as ``rating_pending``, not journaled, like the card port's
steps) until the reasons come, and journals it without them just before its sale ends
(Done or the receipt timer) if they never do. A restart in between loses only that rating.

Hostile or broken input: a command is bounded in size and nesting before it is
parsed; one that fails, or any error while handling one message, is logged and
the loop carries on. A command the broker kept *retained* is never acted on and
is cleared. Every command id answered in the current and the previous basket is
remembered in the journal with its answer, so a replay gets the same answer
(ok, reason, seq), also after a restart. Rejected messages are counted per
topic and reason (:class:`kiosk.bus.rejects.RejectLog`, logged rate-limited)
and the counts ride on the retained core status.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from kiosk.bus.acl import may_send
from kiosk.bus.client import BusClient
from kiosk.bus.credentials import login_for
from kiosk.bus.messages import (
    MessageError,
    Topics,
    parse_command,
    parse_scale,
    result_message,
    state_message,
    status_message,
)
from kiosk.bus.rejects import RejectLog
from kiosk.catalog import Catalog, SnapshotError, read_staged
from kiosk.config import KioskConfig
from kiosk.domain.bagging import BaggingMonitor, Expectation, learned_weight
from kiosk.domain.checkout import (
    CheckoutState,
    Context,
    Rejected,
    apply,
    decide,
    decide_remote,
    device_events,
    due_timer_events,
    rating_event,
    totals,
)
from kiosk.domain.feedback import step_timings
from kiosk.domain.languages import language_of
from kiosk.domain.pricing import ScaleWeight
from kiosk.domain.receipt import Receipt, TerminalIds, build_receipt
from kiosk.domain.training import TRAINING_METHOD
from kiosk.domain.vocabulary import BAGGING_ALERTS, channel_of
from kiosk.i18n import translator
from kiosk.journal.store import (
    JOURNAL_SCHEMA,
    CommandResult,
    Journal,
    JournalTooNew,
    MigrationHeld,
)
from kiosk.ops.provision import REJECTED_MARKER
from kiosk.ops.timesync import clock_synchronized
from kiosk.ops.update import TrialWatch, on_trial
from kiosk.payments.acquirer import lane_ids
from kiosk.payments.method import PaymentMethod
from kiosk.payments.port import (
    MESSAGE_KEYS,
    PRE_REQUEST_STEPS,
    AuthRequest,
    AuthResult,
    safe_card,
    safe_step,
)
from kiosk.payments.registry import method_class, offered
from kiosk.printing.ereceipt import KeyFileError, LinkSigner, open_signer
from kiosk.printing.port import PrintResult, open_printer
from kiosk.printing.store import ReceiptStore
from kiosk.security.pinseal import PinOpener, SealError
from kiosk.security.remote import RemoteRefused, RemoteVerifier, load_public_key
from kiosk.security.staff import LOCKOUT_FILE, REASONS, Kind, StaffAuthenticator

log = logging.getLogger("kiosk.services.core")
TICK_S = 0.25
STATUS_EVERY_S = 1.0   # rejected-message counts go out on the core status at most this often


class _VerifyLater(Exception):
    """decide() needs a staff credential checked: that runs in a worker, then the command
    is decided again (the secret is an attribute, never the message)."""

    def __init__(self, kind: Kind, secret: str) -> None:
        super().__init__(kind)
        self.kind, self.secret = kind, secret


class CoreService:
    def __init__(self, config: KioskConfig, methods: dict[str, PaymentMethod]) -> None:
        """``methods``: the lane's payment methods by id, opened by the composition root
        (``kiosk core``: :func:`kiosk.payments.registry.open_methods`, or the demo's simulated
        host from :func:`kiosk.sim.payments.lane_methods`)."""
        self.config = config
        config.paths.state_dir.mkdir(parents=True, exist_ok=True)
        # kiosk-sync's one writable place (its unit's ReadWritePaths): the staged catalog
        config.catalog_staged_path.parent.mkdir(mode=0o700, exist_ok=True)
        self.topics = Topics(config.store.lane_id)
        trial = on_trial(config.paths.state_dir)
        try:  # never migrated while an update is on trial: a fall-back must read it
            self.journal = Journal(config.journal_path, defer=trial is not None)
        except (JournalTooNew, MigrationHeld) as exc:  # e.g. after an A/B fallback: one line
            raise SystemExit(f"kiosk-core: {exc}") from None
        # migrations held by the trial: run between baskets once the update is committed
        self._trial = (TrialWatch(config.paths.state_dir, trial)
                       if trial is not None and self.journal.schema < JOURNAL_SCHEMA else None)
        self._trial_look_at = 0.0  # monotonic: update.json is looked at no faster than TICK_S
        self.catalog = Catalog(config.catalog_path)
        self._adopt_catalog()
        self._staged_seen: tuple[int, int] | None = None  # a staged file refused already
        self._lane_ids = TerminalIds(*lane_ids(config.acquirer))  # printed on receipts
        self.staff = StaffAuthenticator(config.staff, config.paths.state_dir / LOCKOUT_FILE)
        self.pins = PinOpener(config.paths.state_dir)
        self.remote = RemoteVerifier(self._station_key(), config.store.lane_id,
                                     config.attendant.max_age_s)
        self._verifying: tuple[bytes, str, Kind] | None = None  # the command being checked
        self._checked: tuple | Exception | None = None     # its outcome, while re-decided
        self._held: deque[tuple[bytes, str]] = deque()     # commands waiting for it
        self._offered = ""                                 # the challenge last published
        # the offered methods, by id; each payment goes to the method it names
        self.methods = methods
        self._offer = offered(self.methods)
        self._resolving: set[int] = set()  # STANs a restart interrupted: resolve, not reverse
        # methods whose orders a restart left open (wallet): no new payment until resolved
        self._unresolved: set[str] = set()
        self._training_method: PaymentMethod | None = None  # opened at the first training sale
        self.printer = open_printer(config.devices.printer, config.receipts_dir, config.printer)
        self.ereceipt: LinkSigner | None = None  # the e-receipt links (store.e_receipt_url)
        try:
            self.ereceipt = open_signer(config, create=True)
            if self.ereceipt is not None:  # kiosk-ereceipt binds it in at its start
                config.receipts_dir.mkdir(exist_ok=True)
        except KeyFileError as exc:  # the lane sells on; its receipts carry no link
            log.error("e-receipt links off: %s", exc)
        self._e_link = ("", "", "")  # (txn, locale, link): one link per sale
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.state: CheckoutState = self.journal.recover()
        self.rejects = RejectLog(log)
        self._status_at = 0.0
        self._auth_in_flight: int | None = None
        self._reversal_in_flight = False
        self._reversal_next_try = 0.0
        self._printing = False
        self._keeper: ThreadPoolExecutor | None = None  # keeps receipts, one at a time
        self._step: dict | None = None   # the port's last progress step: {"stan", "step", ...}
        self._step_at = 0.0
        self._card_left = False          # a card was in the reader when the last session ended
        self._seals = 0                  # seal_cards calls: a late "taken" of an older one is stale
        self._rating: dict | None = None  # a low rating awaiting its reasons: txn, rating, by
        self.bus = BusClient(login_for(config.bus, "kiosk-core", config.security.production),
                             f"kiosk-core-{config.store.lane_id}",
                             will=(self.topics.core_status, status_message(False)))
        self.bus.subscribe(self.topics.commands,
                           lambda t, p, retained: self.inbox.put(("cmd", (t, p, retained))),
                           with_retain=True)
        self.bus.on_connect(lambda: self.inbox.put(("connected", None)))
        self._scales: dict[str, dict] = {}  # scale name → its last message (kiosk-scale)
        self.bagging: BaggingMonitor | None = None
        self._staff_seen = False            # staff signed in this session (attended learning)
        self._bag_published: dict | None = None  # the bagging view last published
        if config.bagging.enabled:
            self.bagging = BaggingMonitor(config.bagging)
            reason = (self.state.attendant or {}).get("reason")
            if self.state.state == "attendant_needed" and reason in BAGGING_ALERTS:
                self.bagging.alert = {"kind": reason, "since": self.state.entered_at,
                                      "line_id": (self.state.attendant or {}).get("line_id")}
        if config.scale:
            self.bus.subscribe(self.topics.scales,
                               lambda t, p: self.inbox.put(("scale", (t, p))))

    # -- main loop ------------------------------------------------------------

    def run(self, stop: threading.Event, on_ready: Callable[[], None] | None = None,
            on_tick: Callable[[], None] | None = None) -> None:
        self._recover_intents()
        self.bus.start(wait_s=None)
        log.info("kiosk-core up: lane %s, state %s, journal seq %d",
                 self.config.store.lane_id, self.state.state, self.journal.last_seq)
        ready = False
        try:
            while not stop.is_set():
                try:
                    kind, item = self.inbox.get(timeout=TICK_S)
                except queue.Empty:
                    kind, item = "tick", None
                try:  # one bad message or one bug must not stop the lane
                    self._dispatch(kind, item)
                    self._tick()
                except Exception:
                    log.exception("kiosk-core: handling %s failed; carrying on", kind)
                if not ready and self.bus.connected.is_set():
                    ready = True
                    if on_ready:
                        on_ready()
                if on_tick:  # e.g. the systemd watchdog ping: only while this loop turns
                    on_tick()
        finally:
            self.rejects.flush(force=True)
            self.bus.publish(self.topics.core_status,
                             status_message(False, self.rejects.snapshot()), retain=True)
            self.bus.stop()
            self.journal.close()
            self.catalog.close()

    def _dispatch(self, kind: str, item: Any) -> None:
        if kind == "cmd":
            topic, payload, retained = item
            self.handle_command(payload, self.topics.sender(topic) or "", retained)
        elif kind == "staff_checked":
            self._on_staff_checked(item)
        elif kind == "connected":
            self._publish_status()
            self.publish_state()
        elif kind == "auth_result":
            self._on_auth_result(*item)
        elif kind == "reversal_result":
            self._on_reversal_result(*item)
        elif kind == "printed":
            self._on_printed(item)
        elif kind == "progress":
            self._on_progress(*item)
        elif kind == "cancel_result":
            self._on_cancel_result(*item)
        elif kind == "orders_resolved":
            self._unresolved.discard(item)
            log.info("payment method %s: orders left open by the restart resolved", item)
            self.publish_state()
        elif kind == "scale":
            self._on_scale(*item)
        elif kind == "card_taken":
            if item == self._seals and self._card_left:
                self._card_left = False
                self.publish_state()

    # -- commands -------------------------------------------------------------

    def handle_command(self, payload: bytes, sender: str = "cli",
                       retained: bool = False) -> dict | None:
        """Validate, authorize, de-duplicate, decide, journal, apply, publish. Never raises.
        ``sender``: the service whose command topic it came on (tests calling directly act as
        the operator's ``cli``)."""
        topic = self.topics.command_from(sender or "unknown")
        if not payload:
            return None  # an empty message is how a retained one is cleared: nothing to do
        if retained:  # kept by the broker from before we subscribed: never acted on
            self.rejects.reject(topic, "retained", f"{len(payload)} bytes, cleared")
            self.bus.publish(topic, b"", retain=True)
            return None
        if self._verifying is not None:  # a staff check is in flight: keep commands' order
            self._held.append((payload, sender))
            return None
        try:
            cmd = parse_command(payload, self.config.bus.max_message_bytes)
        except MessageError as exc:
            self.rejects.reject(topic, exc.code, str(exc))
            return None
        cmd_id = cmd["id"]
        if not may_send(sender, cmd):  # the broker's ACL says who sent it, not cmd["source"]
            self.rejects.reject(topic, "not_allowed", f"{cmd['type']} {cmd_id} from {sender!r}")
            return None
        if cmd["type"] == "remote":  # the attendant station's: signature first, never deduped
            return self._remote(cmd, topic)
        known = self.journal.command_result(cmd_id)
        if known is not None:  # a repeated command (double tap, redelivery) changes nothing
            result = result_message(cmd_id, known.ok, known.reason, known.seq)
            self.bus.publish(self.topics.result, result)
            return result
        ctx = Context(self.config, self.catalog.by_gtin, self.catalog.by_plu,
                      self._check_pin, self._check_badge, time.time(),
                      clock_synced=cmd["type"] != "pay" or self.clock_ok(), step=self._step,
                      payment_methods=tuple(self.methods), scale=self._produce_weight(),
                      rating=self._pending_rating(), steps=self._steps)
        channel = channel_of(sender, cmd["source"])  # remembered with the command's answer
        try:
            if cmd["type"] == "pay" and self._unresolved:
                raise Rejected("payment_unavailable", "orders from before a restart are being"
                               " resolved")
            events = decide(self.state, cmd, ctx)
            if cmd["type"] == "wallet_code":
                self._present_code(cmd)
            if cmd["type"] == "rate" and not events:  # a low rating: "what went wrong?"
                self._rating = {"txn": self.state.txn, "rating": cmd["rating"],
                                "by": cmd["source"]}
                self.publish_state()
            if events:
                events[0]["cmd_id"] = cmd_id
                self.commit(events, cmd_id=cmd_id, channel=channel)  # remembered with them
            else:
                self._remember(cmd_id, CommandResult(True, "", self.journal.last_seq), channel)
            known = self.journal.command_result(cmd_id) or CommandResult(
                True, "", self.journal.last_seq)  # exactly what a replay will be told
            result = result_message(cmd_id, known.ok, known.reason, known.seq)
        except _VerifyLater as later:  # a staff credential is checked off the loop first
            self._verify(payload, sender, later)
            return None
        except Rejected as exc:
            self.rejects.reject(topic, exc.reason, f"{cmd['type']} {cmd_id}", logging.INFO)
            self._remember(cmd_id, CommandResult(False, exc.reason, 0), channel)
            result = result_message(cmd_id, False, exc.reason)
        except Exception:
            log.exception("command %s %s failed", cmd["type"], cmd_id)
            known = self.journal.command_result(cmd_id)  # journaled before the failure?
            if known is None:
                known = CommandResult(False, "internal_error", 0)
                self._remember(cmd_id, known, channel)
            result = result_message(cmd_id, known.ok, known.reason, known.seq)
        self.bus.publish(self.topics.result, result)
        if cmd["type"] in ("scan", "wallet_code"):
            self._feedback(cmd, result)
        if self.pins.challenge != self._offered:
            self.publish_state()  # a used challenge is replaced at once
        return result

    # -- the attendant station's signed commands -----------------------------------------

    def _station_key(self) -> Any:
        """The attendant station's public key (None: no station, remote commands refused)."""
        path = self.config.attendant.station_key
        if not path:
            return None
        try:
            return load_public_key(path)
        except (OSError, ValueError) as exc:  # the lane sells on; the station cannot command
            log.error("attendant station key %s unusable: %s", path, exc)
            return None

    def _remote(self, cmd: dict, topic: str) -> dict:
        """A signed command from the attendant station: checked (kiosk/security/remote.py),
        then decided; journaled either way with the attendant its certificate names
        (``remote_command``), a refused one too (forged, replayed, another lane's ...)."""
        cmd_id = cmd["id"]
        head = {"type": "remote_command", "action": cmd["action"],
                "line_id": cmd.get("line_id")}
        try:
            who = self.remote.verify(cmd, time.time(),
                                     self.journal.command_result(cmd_id) is not None)
        except RemoteRefused as exc:
            self.rejects.reject(topic, exc.reason, f"remote {cmd['action']} {cmd_id}")
            # not remembered under its id: a replay must not overwrite the original's answer
            self.commit([{**head, "staff_id": exc.staff_id, "session": exc.session,
                          "ok": False, "reason": exc.reason}])
            result = result_message(cmd_id, False, exc.reason)
            self.bus.publish(self.topics.result, result)
            return result
        head.update(staff_id=who.staff_id, session=who.session, cmd_id=cmd_id)
        try:
            events = decide_remote(self.state, who.action, who.line_id, who.staff_id,
                                   self.config)
        except Rejected as exc:
            self.rejects.reject(topic, exc.reason, f"remote {cmd['action']} {cmd_id}",
                                logging.INFO)
            self.commit([{**head, "ok": False, "reason": exc.reason}])
            self._remember(cmd_id, CommandResult(False, exc.reason, 0))
            result = result_message(cmd_id, False, exc.reason)
        else:
            log.info("attendant %s: %s on lane %s", who.staff_id, who.action,
                     self.config.store.lane_id)
            self.commit([{**head, "ok": True}, *events], cmd_id=cmd_id)
            known = self.journal.command_result(cmd_id) or CommandResult(
                True, "", self.journal.last_seq)
            result = result_message(cmd_id, known.ok, known.reason, known.seq)
        self.bus.publish(self.topics.result, result)
        return result

    # -- staff sign-in ----------------------------------------------------------------

    def _check_pin(self, cmd: dict, now: float) -> tuple:
        if self._checked is not None:
            return self._outcome()
        try:
            pin = self.pins.open(cmd)
        except SealError as exc:
            log.warning("staff PIN command %s refused: sealed PIN %s", cmd["id"], exc)
            raise Rejected("pin_stale" if str(exc) == "stale" else "pin_unreadable") from None
        return self._staff_check("pin", pin, now)

    def _check_badge(self, code: str, now: float) -> tuple:
        if self._checked is not None:
            return self._outcome()
        return self._staff_check("badge", code, now)

    def _staff_check(self, kind: Kind, secret: str, now: float) -> tuple:
        if self.staff.locked(kind, now):
            return None, REASONS[kind][1]
        raise _VerifyLater(kind, secret)

    def _outcome(self) -> tuple:
        if isinstance(self._checked, Exception):
            raise self._checked
        assert self._checked is not None
        return self._checked

    def _verify(self, payload: bytes, sender: str, later: _VerifyLater) -> None:
        self._verifying = (payload, sender, later.kind)
        kind, secret = later.kind, later.secret
        self._worker("staff-check", lambda: self.staff.match(kind, secret), "staff_checked")

    def _on_staff_checked(self, member: Any) -> None:
        if self._verifying is None:
            return
        (payload, sender, kind), self._verifying = self._verifying, None
        self._checked = (member if isinstance(member, Exception)
                         else self.staff.record(kind, member, time.time()))
        try:
            self.handle_command(payload, sender)
        finally:
            self._checked = None
        while self._held and self._verifying is None:
            self.handle_command(*self._held.popleft())

    def clock_ok(self) -> bool:
        """False while payments must wait for a synchronized clock."""
        pay = self.config.payments
        return not pay.require_clock_sync or clock_synchronized(pay.clock_source,
                                                                 pay.clock_sync_flag)

    def _remember(self, cmd_id: str, result: CommandResult,
                  channel: str | None = None) -> None:
        """Journal the answer to a command that changed nothing, before it is published, with
        its ``channel`` (an accepted one counts for the basket, see :meth:`commit`)."""
        try:
            self.journal.remember_command(cmd_id, self.state.txn_seq, result, channel)
        except Exception:  # the answer still goes out; only a replay would be decided again
            log.exception("remembering command %s failed", cmd_id)

    def _publish_status(self) -> None:
        self._status_at = time.monotonic()
        self.bus.publish(self.topics.core_status,
                         status_message(True, self.rejects.snapshot()), retain=True)

    def _feedback(self, cmd: dict, result: dict) -> None:
        good = result["ok"] and self.state.state != "attendant_needed"
        self.bus.publish(self.topics.feedback,
                         {"v": 1, "type": "feedback", "kind": "good_read" if good else "bad_read",
                          "source": "core"},
                         qos=0)

    def commit(self, events: list[dict], cmd_id: str | None = None,
               channel: str | None = None) -> None:
        """Apply events to a copy (to prove they fit), journal them (with the id of the
        command they accept), then adopt the copy. ``channel``: how the shopper gave that
        command (:func:`~kiosk.domain.vocabulary.channel_of`), journaled with its id; the
        basket's channels (those of its accepted commands, this one's too) ride on the
        ``session_finished`` that ends it. Read from the journal's command rows, they
        outlive a restart mid-basket; a journal that records none (an update on trial) gives
        None: unknown, never the last command's alone."""
        if not events:
            return
        events = self._rating_before_end(events)
        for event in events:
            if event["type"] == "session_finished":
                used = self.journal.channels(self.state.txn_seq)  # None: not recorded
                event["channels"] = None if used is None else sorted(
                    used | ({channel} if channel else set()))
        now = time.time()
        new = copy.deepcopy(self.state)
        for event in events:
            event.setdefault("ts", now)
            apply(new, event)
        ended = new.txn is None and self.state.txn is not None
        if ended:
            events.append({"type": "snapshot", "ts": now, "state": new.as_dict()})
        self.journal.append(events, txn=new.txn or self.state.txn,
                            command=(cmd_id, new.txn_seq) if cmd_id else None,
                            channel=channel if cmd_id else None)
        before, self.state = self.state, new
        if ended or any(e["type"] == "shopper_rating" for e in events):
            self._rating = None
        if ended:
            self._seal_cards()
        self.publish_state()
        self._start_effects(events)
        if self.bagging is not None:
            self.commit(self._follow_bagging(before, events))
            self._publish_if_bagging_moved()

    # -- shopper feedback (issue 18) ------------------------------------------------

    def _pending_rating(self) -> dict | None:
        """The low rating of the sale on the screen that waits for its reasons, if any."""
        pending = self._rating
        if pending is None or pending["txn"] != self.state.txn:
            return None
        return pending

    def _steps(self) -> dict[str, int | None]:
        """The current basket's step timings, from its events in the journal (a session's
        events all follow the last snapshot: one is written as every session ends)."""
        snap = self.journal.last_of("snapshot")
        return step_timings(e.event() for e in self.journal.entries(snap.seq if snap else 0))

    def _rating_before_end(self, events: list[dict]) -> list[dict]:
        """``events`` with the pending low rating journaled, without reasons, just before
        the ``session_finished`` among them (the shopper went without saying why)."""
        pending = self._pending_rating()
        at = next((i for i, e in enumerate(events) if e["type"] == "session_finished"), None)
        if pending is None or at is None:
            return events
        rated = rating_event(self.state, pending["rating"], (), pending["by"], self._steps())
        return [*events[:at], rated, *events[at:]]

    # -- scales and the bagging area ----------------------------------------------

    def _on_scale(self, topic: str, payload: bytes) -> None:
        try:
            msg = parse_scale(payload)
        except MessageError as exc:
            self.rejects.reject(topic, exc.code, str(exc))
            return
        name = topic.rsplit("/", 1)[-1]
        if name != msg["scale"] or name not in self.config.scale:
            self.rejects.reject(topic, "unknown_scale", name)
            return
        self._scales[name] = msg
        answering = msg["online"] and msg["status"] not in ("no_response", "bad_frame")
        self.commit(device_events(self.state, f"scale_{name}", answering,
                                  "" if answering else msg["status"]))
        if name == "bagging" and self.bagging is not None and answering:
            self.commit(self.bagging.reading(msg["status"], msg.get("weight_g"), time.time(),
                                             self.state.state == "shopping"))
            self._publish_if_bagging_moved()

    def _bagging_view(self) -> dict | None:
        """What the screen says of the bagging area: items still to be placed there."""
        mon = self.bagging
        if mon is None:
            return None
        return {"awaiting": sum(1 for p in mon.pending if p.sign > 0),
                "alert": (mon.alert or {}).get("kind")}

    def _publish_if_bagging_moved(self) -> None:
        if self._bagging_view() != self._bag_published:
            self.publish_state()

    def _produce_weight(self) -> ScaleWeight | None:
        """The produce scale's last reading, for pricing (None: the lane has no scale)."""
        cfg = self.config.scale.get("produce")
        if cfg is None:
            return None
        msg = self._scales.get("produce") or {}
        status = msg.get("status", "no_response") if msg.get("online") else "no_response"
        return ScaleWeight(status, msg.get("weight_g") if status == "stable" else None,
                           cfg.min_g, cfg.capacity_g, age_s=time.time() - msg.get("ts", 0.0))

    def _expectation(self, line: Any) -> Expectation:
        """What one unit of a basket line should weigh on the bagging scale."""
        weight, tolerance, check, samples = self.catalog.bag_weight(line.key)
        if line.weight_g is not None:  # weighed at the lane: that is its weight
            return Expectation(line.weight_g, tolerance, check)
        if weight is None:
            learned = learned_weight(samples, self.config.bagging)
            if learned is not None:
                return Expectation(learned.weight_g, tolerance or learned.tolerance_g, check)
        return Expectation(weight, tolerance, check)

    def _follow_bagging(self, before: CheckoutState, events: list[dict]) -> list[dict]:
        """Tell the bagging monitor what the events just committed changed; the events that
        follows from it (an own bag that clears an alert)."""
        mon = self.bagging
        assert mon is not None
        now = time.time()
        s = self.state
        out: list[dict] = []
        kinds = {e["type"] for e in events}
        if "session_started" in kinds:
            mon.start()
            self._staff_seen = False
        if "staff_signed_in" in kinds:
            self._staff_seen = True
        if "bagging_cleared" in kinds and any(e.get("how") == "override" for e in events
                                               if e["type"] == "bagging_cleared"):
            mon.override()
        if s.txn is None and before.txn is not None:  # the session ended
            if (before.payment or {}).get("status") == "approved" and (
                    self.config.bagging.learn_from == "all" or self._staff_seen):
                for key, grams in mon.samples:
                    self.catalog.bag_sample(key, grams)
            mon.start()
            return out
        old = {ln.line_id: ln for ln in before.lines}
        for line in s.lines:  # units added (a scan, a quantity raised) or taken out
            was = old.pop(line.line_id, None)
            more = _units(line) - (_units(was) if was else 0)
            for _ in range(more):
                mon.expect(line.line_id, line.key, self._expectation(line), now)
            if more < 0:
                mon.taken_off(line.line_id, line.key, self._expectation(line), -more, now)
        for line in old.values():  # lines removed
            mon.taken_off(line.line_id, line.key, self._expectation(line), _units(line), now)
        if "own_bag" in kinds:
            out += mon.own_bag(now)
        if mon.alert and (s.attendant or {}).get("reason") not in BAGGING_ALERTS:
            mon.cleared()  # staff voided the missing item's line, or the basket
        return out

    def _seal_cards(self) -> None:
        """A session ended: a card still in the reader is the last shopper's and must never
        pay for the next one (the port keeps it out of every attempt until it is removed)."""
        self._seals += 1
        seal = self._seals
        left = False
        for method in self.methods.values():
            try:
                left |= bool(method.seal_cards(lambda: self.inbox.put(("card_taken", seal))))
            except Exception:
                log.exception("payment method %s: seal_cards failed", method.id)
        self._card_left = left

    def publish_state(self) -> None:
        s = self.state
        cur = self.config.currency
        extra = {
            "lane": self.config.store.lane_id,
            "locales": self.config.store.locales,
            "server_time": time.time(),
            "idle_void_at": (s.idle_warning_at + self.config.timeouts.idle_void_s
                             if s.idle_warning_at else None),
            "reversal_owed": s.reversal is not None,
            "staff_seal": self.pins.offer(),  # what the PIN pad seals a PIN to
            "card_left": self._card_left,
            "methods": self._offer,     # the payment methods offered: ids, label msgids
            "e_receipt": (self._e_receipt() or None) if s.state in ("approved", "receipt")
            else None,                  # the sale's signed e-receipt link (receipt screen QR)
            "payments_resolving": bool(self._unresolved),  # no new payment until resolved
            "catalog_version": self._catalog_version[0],  # the snapshot prices come from
            "alerts": self._alerts(),   # what waits for an attendant (an attendant station)
            "bagging": self._bagging_view(),  # items still to be placed in the bagging area
            "rating_pending": (self._pending_rating() or {}).get("rating"),  # "what went wrong?"
        }
        self._bag_published = extra["bagging"]
        self._offered = self.pins.challenge
        data = s.as_dict()
        data.pop("reversal")
        for line, priced in zip(data["lines"], s.lines, strict=True):
            line["amount"] = priced.priced().amount  # the UI shows it, never computes it
        step = self._step
        if data["payment"] and step and step["stan"] == data["payment"]["stan"] and (
                s.state == "authorizing" or step["step"] == "remove_card"):
            data["payment"].update({k: v for k, v in step.items() if k != "stan"})
        self.bus.publish(
            self.topics.state,
            state_message(self.journal.last_seq, data, totals(s, self.config).as_dict(),
                          {"code": cur.code, "exponent": cur.exponent}, extra),
            retain=True,
        )

    def _alerts(self) -> list[dict]:
        """What waits for an attendant: its type (the attendant reason: help, age check,
        unknown item, a bagging alert), since when, and the lane."""
        s = self.state
        if not s.attendant:
            return []
        return [{"type": s.attendant.get("reason", ""), "lane": self.config.store.lane_id,
                 "since": s.attendant.get("since", s.entered_at),
                 "line_id": s.attendant.get("line_id")}]

    # -- effects (journal before effect) ----------------------------------------

    def _start_effects(self, events: list[dict]) -> None:
        for event in events:
            kind = event["type"]
            if kind == "auth_requested":
                self._step = None
                self._authorize()
            elif kind == "app_chosen":
                self._choose(event["stan"], event["index"])
            elif kind == "cancel_requested":
                self._cancel(event["stan"])
            elif kind == "receipt_chosen":
                if event["choice"] == "print":
                    self._print()
                else:
                    self._keep_receipt()
            elif (kind == "auth_approved" or kind == "language_changed"
                  and self.state.state == "approved") and self.ereceipt is not None:
                self._keep_receipt()  # the e-receipt link opens it, in its language

    def method(self, method_id: str) -> PaymentMethod:
        """The method a payment names. One no longer offered (the config changed across a
        restart) still gets its queued reversal: it is opened for that."""
        method = (self.methods.get(method_id) if method_id != TRAINING_METHOD
                  else self._training_method)
        if method is None:
            cls = method_class(method_id)
            pay = self.config.payments
            method = cls(self.config, cls.options_from(pay.options.get(method_id)))
            if method_id == TRAINING_METHOD:  # a training lane's payments: never offered
                self._training_method = method
                return method
            self.methods[method_id] = method
            log.warning("payment method %s is not offered: opened for its pending payment",
                        method_id)
        return method

    def _request(self, pay: dict) -> AuthRequest:
        cur = self.config.currency
        return AuthRequest(txn=self.state.txn or "", method=pay["method"], amount=pay["amount"],
                           currency_code=cur.code, currency_numeric=cur.numeric,
                           stan=pay["stan"], idem_key=pay["idem_key"])

    def _worker(self, name: str, fn: Callable[[], Any], reply: str) -> None:
        def run() -> None:
            try:
                value = fn()
            except Exception as exc:
                log.exception("%s failed", name)
                value = exc
            self.inbox.put((reply, value))

        threading.Thread(target=run, name=name, daemon=True).start()

    def _authorize(self) -> None:
        pay = self.state.payment
        assert pay is not None
        req = self._request(pay)
        self._auth_in_flight = req.stan

        def progress(step: dict) -> None:  # called on the payment worker's thread
            self.inbox.put(("progress", (req.stan, step)))

        def call() -> tuple[int, AuthResult]:
            try:
                return req.stan, self.method(req.method).authorize(req, progress)
            except Exception as exc:  # a port that raises is an unreachable host
                log.warning("authorization error: %s", type(exc).__name__)
                return req.stan, AuthResult("unavailable", reason="host_error")

        self._worker("authorize", call, "auth_result")

    def _on_auth_result(self, stan: int, result: AuthResult) -> None:
        if self._auth_in_flight == stan:
            self._auth_in_flight = None
        pay = self.state.payment
        if self.state.state != "authorizing" or not pay or pay["stan"] != stan:
            log.warning("late authorization answer for stan %06d ignored (%s)", stan,
                        result.outcome)
            return
        if result.outcome == "approved":
            self.commit([{"type": "auth_approved", "stan": stan, "auth_code": result.auth_code,
                          "card": safe_card(result.card), "rrn": result.rrn[:12],
                          "response_code": result.response_code[:2]}])
            try:  # the sale is journaled: the method's order (wallet) is final
                self.method(pay["method"]).recorded(pay["idem_key"])
            except Exception:  # start-up recovery finds it journaled approved
                log.exception("payment method %s: recorded failed", pay["method"])
        elif result.outcome == "declined":
            self.commit([{"type": "auth_declined", "stan": stan, "reason": result.reason,
                          "message_key": message_key(result),
                          "response_code": result.response_code[:2]}])
        else:
            self.commit([{"type": "auth_failed", "stan": stan, "reason": result.reason}])

    def _on_progress(self, stan: int, raw: dict) -> None:
        step = safe_step(raw)
        pay = self.state.payment
        if step is None or not pay or pay["stan"] != stan:
            return  # unknown, or a step of an attempt that is over
        if step["step"] == "card_removed":
            if self._step and self._step["stan"] == stan:
                self._step = None
                self.publish_state()
            return
        if self.state.state != "authorizing" and step["step"] != "remove_card":
            return
        self._step = {"stan": stan, **step}
        self._step_at = time.time()
        self.publish_state()

    def _choose(self, stan: int, index: int) -> None:
        if self._step and self._step["stan"] == stan and self._step["step"] == "choose_app":
            self._step = {"stan": stan, "step": "reading"}  # one choice per prompt
            self._step_at = time.time()
            self.publish_state()
        try:
            self.method((self.state.payment or {}).get("method", "")).choose(stan, index)
        except Exception:
            log.exception("payment method choose failed")

    def _present_code(self, cmd: dict) -> None:
        """A wallet payment code for the attempt waiting for one (decide checked that one
        does): straight to its method, never journaled, logged or published."""
        pay = self.state.payment or {}
        self.method(pay.get("method", "")).present_code(pay["stan"], cmd["code"], cmd["kind"])

    def _recover_orders(self) -> None:
        """Start-up: every method order a restart left open (phone wallet) is resolved
        (query, then reverse or record) on a worker, retried until the gateway answers;
        ``pay`` is refused until then. A paid order whose sale the journal holds approved
        is recorded, any other paid one refunded."""
        for method in list(self.methods.values()):
            keys = method.open_orders()
            if not keys:
                continue
            approved = {k for k in keys if self._journaled_approved(k)}
            self._unresolved.add(method.id)
            log.warning("payment method %s: %d order(s) left open by a restart: resolving",
                        method.id, len(keys))

            def run(method: PaymentMethod = method, approved: set[str] = approved) -> None:
                delay = 0.5
                while True:
                    try:
                        if method.recover(approved.__contains__):
                            break
                    except Exception:
                        log.exception("payment method %s: recovery failed", method.id)
                    time.sleep(delay)
                    delay = min(delay * 2, 30)
                self.inbox.put(("orders_resolved", method.id))

            threading.Thread(target=run, name=f"recover-{method.id}", daemon=True).start()

    def _journaled_approved(self, idem_key: str) -> bool:
        """Whether the journal holds the attempt ``idem_key`` (``<txn>-<stan>``) approved."""
        txn, _, stan = idem_key.rpartition("-")
        if not stan.isdigit():
            return False
        for entry in self.journal.entries_of(txn, "auth_approved"):
            if entry.data.get("stan") == int(stan):
                return True
        return False

    def _cancel(self, stan: int) -> None:
        method_id = (self.state.payment or {}).get("method", "")

        def call() -> tuple[int, bool]:
            try:
                return stan, bool(self.method(method_id).cancel(stan))
            except Exception as exc:  # unknown: treat as sent, so it is reversed
                log.warning("payment cancel error: %s", type(exc).__name__)
                return stan, False

        self._worker("cancel", call, "cancel_result")

    def _on_cancel_result(self, stan: int, nothing_sent: bool) -> None:
        pay = self.state.payment
        if self.state.state != "authorizing" or not pay or pay["stan"] != stan:
            return  # the attempt ended first; its result stands
        if self._auth_in_flight == stan:
            self._auth_in_flight = None  # the port's own answer will come late and be ignored
        if nothing_sent:
            reason = "card_timeout" if pay.get("cancel") == "timeout" else "cancelled"
            self.commit([{"type": "auth_declined", "stan": stan, "reason": reason,
                          "message_key": reason}])
        else:
            self.commit([{"type": "auth_failed", "stan": stan, "reason": "cancelled"}])

    def _reverse(self) -> None:
        rev = self.state.reversal
        assert rev is not None
        self._reversal_in_flight = True
        req = AuthRequest(txn=self.state.txn or "", method=rev["method"], amount=rev["amount"],
                          currency_code=self.config.currency.code,
                          currency_numeric=self.config.currency.numeric, stan=rev["stan"],
                          idem_key=rev["idem_key"])

        resolve = req.stan in self._resolving

        def call() -> tuple[int, bool]:
            try:
                method = self.method(req.method)
                return req.stan, bool(method.resolve(req) if resolve else method.reverse(req))
            except Exception as exc:
                log.warning("reversal error: %s", type(exc).__name__)
                return req.stan, False

        self._worker("reverse", call, "reversal_result")

    def _on_reversal_result(self, stan: int, ok: bool) -> None:
        self._reversal_in_flight = False
        rev = self.state.reversal
        if rev is None or rev["stan"] != stan:
            return
        if ok:
            self._resolving.discard(stan)
        if not ok:
            self._reversal_next_try = time.monotonic() + min(2 ** rev["attempts"], 30)
        self.commit([{"type": "reversal_result", "stan": stan, "ok": ok}])

    def _print(self) -> None:
        if self._printing:
            return
        self._printing = True
        receipt = self._receipt()
        self._worker("print", lambda: self.printer.print_receipt(receipt), "printed")

    def _receipt(self) -> Receipt:
        """The sale's receipt, its payment line in the paying method's words."""
        s = self.state
        label = None
        if s.payment:
            try:
                cls = type(self.method(s.payment["method"]))
                label = cls.text(cls.receipt_label, language_of(s.locale), translator(s.locale))
            except Exception:  # a method gone since the sale: the receipt still prints
                log.exception("payment method %s: no receipt label", s.payment["method"])
        return build_receipt(s, self.config, datetime.now().astimezone(), translator, label,
                             self._lane_ids, link=self._e_receipt())

    def _e_receipt(self) -> str:
        """The sale's signed e-receipt link ("" when the lane has none), made once a sale."""
        s = self.state
        if self.ereceipt is None or not s.txn or (s.payment or {}).get("status") != "approved":
            return ""
        if self._e_link[:2] != (s.txn, s.locale):
            self._e_link = (s.txn, s.locale, self.ereceipt.link(s.txn, s.locale))
        return self._e_link[2]

    def _keep_receipt(self) -> None:
        """No paper: keep the receipt anyway (staff reprint, e-receipt link)."""
        receipt = self._receipt()
        store = ReceiptStore(self.config.receipts_dir)

        def keep() -> None:
            try:
                store.save(receipt)
            except OSError as exc:
                log.warning("keeping the receipt failed: %s", exc)

        # one keeper, in order: a receipt kept again (the shopper changed the language on
        # the receipt screen) must never be overwritten by the earlier copy finishing later
        if self._keeper is None:
            self._keeper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keep-receipt")
        self._keeper.submit(keep)

    def _on_printed(self, result: PrintResult | Exception) -> None:
        self._printing = False
        if isinstance(result, Exception):
            result = PrintResult(False, reason=type(result).__name__)
        events: list[dict] = []
        if self.state.state == "approved":
            events.append({"type": "receipt_printed", "path": result.path, "ok": result.ok,
                           "reason": result.reason})
        events += device_events(self.state, "printer", result.ok,
                                "" if result.ok else result.reason)
        self.commit(events)

    # -- timers and recovery ----------------------------------------------------

    def _tick(self) -> None:
        now = time.time()
        s = self.state
        self._between_baskets()
        if s.state == "authorizing" and s.payment and self._auth_in_flight is not None:
            self._auth_timers(s.payment, now)
        if (self.state.reversal is not None and not self._reversal_in_flight
                and time.monotonic() >= self._reversal_next_try):
            self._reverse()
        due = due_timer_events(self.state, self.config, now)
        if due:
            self.commit(due)
        if self.bagging is not None and self.state.txn is not None:
            self.commit(self.bagging.tick(now, self.state.state == "shopping"))
            self._publish_if_bagging_moved()
        self.rejects.flush()
        if self.rejects.changed and time.monotonic() - self._status_at >= STATUS_EVERY_S:
            self._publish_status()

    def _auth_timers(self, pay: dict, now: float) -> None:
        """Safety nets: the port bounds card waits itself; the host answer is bounded from
        the moment the request left (the authorizing step, or the start for a port
        without steps)."""
        step = self._step if self._step and self._step["stan"] == pay["stan"] else None
        card_wait = self.config.payments.card_wait_s
        auth_wait = self.config.timeouts.authorization_s
        if step and step["step"] in PRE_REQUEST_STEPS:
            if not pay.get("cancel") and now - self._step_at >= card_wait:
                log.warning("card step %s for %.0f s: cancelling", step["step"], card_wait)
                self.commit([{"type": "cancel_requested", "stan": pay["stan"],
                              "by": "timeout"}])
                return
            if not pay.get("cancel") or now - self._step_at < card_wait + auth_wait:
                return
        elif now - (self._step_at if step else pay["started_at"]) < auth_wait:
            return
        self._auth_in_flight = None
        self.commit([{"type": "auth_failed", "stan": pay["stan"], "reason": "timeout"}])

    def _recover_intents(self) -> None:
        s = self.state
        if s.txn is None:
            # no shopper's session open: a card in the reader at start was left there (at
            # the end of a sale before the restart) and pays for nobody until taken. In an
            # open session it is taken to be that shopper's (card_left is not journaled: a
            # card left before a crash in the next shopper's session is not caught)
            self._seal_cards()
        if s.state == "authorizing" and s.payment:
            log.warning("recovered an authorization in flight (stan %06d): reversing",
                        s.payment["stan"])
            self._resolving.add(s.payment["stan"])
            self.commit([{"type": "recovered", "note": "authorization interrupted by restart"},
                         {"type": "auth_failed", "stan": s.payment["stan"], "reason": "restart"}])
        elif s.state == "approved" and (s.payment or {}).get("receipt_choice") == "print":
            self._print()
        elif s.state == "approved" and self.ereceipt is not None:
            self._keep_receipt()  # its link may be shown again: keep what it opens
        self._recover_orders()
        self._check_provisioning()
        self._journal_catalog_in_place()

    def _between_baskets(self) -> None:
        """What waits for the lane to be idle: no basket open (no ``txn``: nothing scanned,
        no payment in flight; the domain refuses ``catalog_applied`` inside one too). A staged
        catalog snapshot, and the journal migrations an update's trial held."""
        if self.state.txn is not None:  # an open basket keeps the prices, and schema, it began with
            return
        self._apply_staged_catalog()
        self._apply_held_migrations()

    def _apply_held_migrations(self) -> None:
        """Started while an update was on trial, the journal was opened with ``defer``: its
        deferrable migrations wait (kiosk.journal.store). kiosk-update-commit.service commits
        the update once the lane is up but never restarts kiosk-core (a shopper may be
        mid-basket), so this looks at the update record (a stat of ``update.json``, no faster
        than the tick, only while no basket is open) and, once it says "committed", runs the
        held migrations in place (:meth:`Journal.migrate`), between baskets: one line in the
        log and the lane sells on, on the new schema. An update recorded as fallen back (or
        replaced by another install) applies nothing: one line, and no more looking.

        A migration that fails here is handled as at start, where a failed migration stops
        kiosk-core: its transaction is rolled back (the journal keeps the schema the lane sold
        on, every row in it) and kiosk-core exits with one line; systemd starts it again
        (``Restart=on-failure``), and that start, no longer on trial, migrates the journal as
        every start does, or fails the same way and leaves the lane out of service with its
        journal intact (``StartLimitBurst=``, ``OnFailure=kiosk-fault@``). Selling on would
        keep the lane on a journal whose migration failed, a state no start can reach, and move
        the failure to the next reboot, in front of shoppers; here it shows now, between baskets,
        right after the commit."""
        if self._trial is None or time.monotonic() < self._trial_look_at:
            return
        self._trial_look_at = time.monotonic() + TICK_S
        outcome = self._trial.outcome()
        if outcome is None:  # still on trial
            return
        build, self._trial = self._trial.tried.get("build_id", "?"), None
        if outcome != "committed":
            log.info("update %s %s: the journal keeps schema %d, no migration applied",
                     build, outcome, self.journal.schema)
            return
        before = self.journal.schema
        try:
            self.journal.migrate()
        except Exception as exc:
            raise SystemExit(f"kiosk-core: update {build} committed, but the journal migration"
                             f" it held failed: {exc}; {self.journal.path} keeps schema"
                             f" {before}; stopping so that kiosk-core's next start migrates"
                             " it") from None
        log.info("update %s committed: journal migrated from schema %d to %d between baskets",
                 build, before, JOURNAL_SCHEMA)

    # -- catalog snapshots from the back office (issue 17) ---------------------------------

    def _adopt_catalog(self) -> None:
        """Price from the catalog in place: its version, and its promotions where a snapshot
        brought them (they replace the configuration's)."""
        self._catalog_version = self.catalog.version()
        promotions = self.catalog.promotions()
        if promotions is not None:
            self.config = self.config.model_copy(update={"promotions": promotions})

    def _apply_staged_catalog(self) -> None:
        """Put in place the snapshot the puller (kiosk/services/catalog_pull.py) staged, in
        one catalog transaction, then journal ``catalog_applied``; only between baskets
        (:meth:`_between_baskets`). A staged file that fails its check again is logged and
        removed."""
        staged = self.config.catalog_staged_path
        try:
            st = staged.stat()
        except FileNotFoundError:
            return
        if (st.st_mtime_ns, st.st_size) == self._staged_seen:
            return
        self._staged_seen = (st.st_mtime_ns, st.st_size)
        try:
            snapshot = read_staged(staged, self.config.currency, self.config.tax.rates)
        except (OSError, SnapshotError) as exc:
            log.error("staged catalog refused, keeping version %d: %s",
                      self._catalog_version[0], exc)
            staged.unlink(missing_ok=True)
            return
        if snapshot.version <= self._catalog_version[0]:
            staged.unlink(missing_ok=True)
            return
        self.catalog.replace_all(snapshot)
        staged.unlink(missing_ok=True)  # in place (a crash from here: journaled at start)
        self._adopt_catalog()
        self.commit([{"type": "catalog_applied", "version": snapshot.version,
                      "sha256": snapshot.sha256}])
        log.info("catalog version %d applied (%d items)", snapshot.version,
                 len(snapshot.products))

    def _journal_catalog_in_place(self) -> None:
        """Start-up: a snapshot put in place just before a crash is journaled now."""
        version, digest = self._catalog_version
        last = self.journal.last_of("catalog_applied")
        if version and (last is None or last.data.get("version") != version):
            if self.state.txn is None:
                self.commit([{"type": "catalog_applied", "version": version, "sha256": digest}])
            else:
                log.error("catalog version %d in place but not journaled, basket %s open",
                          version, self.state.txn)

    def _check_provisioning(self) -> None:
        """A provisioning file that first boot rejected (kiosk provision leaves a marker in
        the state dir) keeps the lane out of service: it would otherwise sell as whatever
        lane the defaults name. The fault clears once a good file has been applied."""
        marker = self.config.paths.state_dir / REJECTED_MARKER
        try:
            detail = "rejected: " + marker.read_text().split(" ", 1)[1].strip()
        except FileNotFoundError:
            detail = ""
        except (OSError, IndexError):
            detail = "rejected"
        if detail:
            log.error("provisioning was rejected (%s): lane out of service", marker)
        self.commit(device_events(self.state, "provisioning", not detail, detail))


def _units(line: Any) -> int:
    """Items a basket line puts in the bagging area (a weighed line is one)."""
    return line.qty if line.weight_g is None else 1


def message_key(result: AuthResult) -> str:
    """What the shopper is told about a declined attempt (never the issuer's reason)."""
    for key in (result.message_key, result.reason):
        if key in MESSAGE_KEYS:
            return key
    return "card_declined"
