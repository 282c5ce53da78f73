"""AcquirerLink: card authorization, reversal, network management and end of day over ISO 8583.

Rules this module keeps:

* An authorization is never resent. No answer, a broken link or a garbled answer makes the
  outcome "unknown" and queues a durable reversal (0400, repeats 0401; or 0420/0421 per
  dialect) that is retried until any answer to it arrives, and always drained before any
  new request.
* Journal before send: the STAN is reserved (persisted) first, then the attempt is written
  to the :class:`~kiosk.payments.hostlog.HostLog`, then the request leaves.
* Responses match on MTI + 11 + 41 and must echo 4; an answer for an earlier STAN is logged
  and ignored; a mismatch counts as no answer.
* TLS 1.2+ with a pinned CA to any host; plain TCP only to a loopback simulator.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from kiosk.domain.addresses import is_loopback
from kiosk.payments.acquirer_config import AcquirerConfig
from kiosk.payments.hostlog import Attempt, HostLog, Totals
from kiosk.payments.iso8583 import (
    Dialect,
    DialectError,
    IsoError,
    icc_tags,
    load_dialect,
    original_data,
    track2_text,
)

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

log = logging.getLogger("kiosk.acquirer")

Outcome = Literal["approved", "declined", "unknown", "unavailable"]


class AcquirerError(Exception):
    """A request the link refuses (transport policy, a basket already approved)."""


class _NoAnswer(Exception):
    """No usable answer: timeout, broken link or garbled bytes (reason in args[0])."""


@dataclass(frozen=True)
class SaleRequest:
    """One authorization attempt. Card data fields are kept out of repr()."""

    txn: str                      # basket / transaction id
    idem_key: str                 # one per attempt; a repeat returns the stored outcome
    amount: int                   # minor units
    currency_numeric: int
    icc_data: bytes = field(default=b"", repr=False)   # field 55 (tags per the issue)
    track2: bytes = field(default=b"", repr=False)     # tag 57 → field 35
    pan: str = field(default="", repr=False)           # field 2, only where the dialect has it
    pan_masked: str = ""
    entry_mode: str = ""          # field 22 override; default from the dialect


@dataclass(frozen=True)
class HostAnswer:
    outcome: Outcome              # unavailable: nothing left the kiosk (safe to retry)
    message_key: str              # shopper message key; never a raw response code
    response_code: str = ""       # field 39 (journal only)
    auth_code: str = ""           # field 38
    rrn: str = ""                 # field 37
    stan: int = 0
    arc: bytes | None = None      # 8A for the second GENERATE AC; None when no answer
    issuer_auth_data: bytes | None = None   # tag 91 from field 55
    scripts_71: bytes = b""       # issuer script templates 71 (whole TLVs) from field 55
    scripts_72: bytes = b""
    reversal_queued: bool = False


@dataclass(frozen=True)
class Reconciliation:
    balanced: bool
    response_code: str
    ours: Totals
    host: Totals | None


class AcquirerLink:
    """One kiosk's link to its acquirer host. Thread-safe; one request at a time."""

    def __init__(self, config: AcquirerConfig, dialect: Dialect, store: HostLog, *,
                 recover: bool = True) -> None:
        self.config = config
        self.dialect = dialect
        self.store = store
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._check_transport()
        if recover:
            queued = store.recover()
            if queued:
                log.warning("recovery: %d unfinished attempt(s) queued for reversal",
                            len(queued))

    # -- public API -----------------------------------------------------------------
    def authorize(self, sale: SaleRequest) -> HostAnswer:
        with self._lock:
            known = self.store.get(sale.idem_key)
            if known is not None:
                log.info("authorize: idem key already used (STAN %s, %s): not resent",
                         known.stan, known.state)
                return _answer_of(known)
            for other in self.store.attempts(txn=sale.txn, states=(
                    "approved", "completed", "completion_queued")):
                raise AcquirerError(f"basket {sale.txn} already has an approved authorization"
                                    f" (STAN {other.stan}); reverse it first")
            if not self.drain_reversals():
                return HostAnswer("unavailable", "try_later")
            try:
                self._connect()
            except (OSError, ssl.SSLError) as exc:
                log.warning("authorize: cannot connect: %s", exc)
                return HostAnswer("unavailable", "try_later")
            mti = self.dialect.auth_mti
            stan = self.store.next("stan")
            values = self._sale_values(sale, stan)
            body, sent = self.dialect.build(mti, values)
            self.store.record(idem_key=sale.idem_key, txn=sale.txn, mti=mti, stan=sent["11"],
                              f7=sent["7"], tid=sent["41"], mid=sent["42"], amount=sale.amount,
                              currency=sale.currency_numeric, pan_masked=sale.pan_masked)
            if sale.pan and self.dialect.needs_pan_after_auth():
                self.store.keep_pan(sale.idem_key, sale.pan)
            log.info("authorize: %s STAN %s amount %s basket %s sent", mti, stan,
                     sale.amount, sale.txn)
            try:
                self._send(body)
                got = self._await(sent, self.config.response_timeout_s)
                answer = self._interpret(sale.idem_key, stan, got)
            except _NoAnswer as exc:
                log.warning("authorize: STAN %s: %s: outcome unknown, reversal queued",
                            stan, exc.args[0])
                self.store.queue_reversal(sale.idem_key, exc.args[0])
                self.drain_reversals()
                return HostAnswer("unknown", "try_later", stan=stan, reversal_queued=True)
            if answer.reversal_queued:
                self.drain_reversals()
            return answer

    def reverse(self, idem_key: str, reason: str) -> None:
        """Queue a durable reversal of the attempt (no-op if declined or already reversed).
        It is sent by :meth:`drain_reversals` (also run before every new request)."""
        with self._lock:
            if self.store.queue_reversal(idem_key, reason):
                log.info("reversal queued for %s: %s", idem_key, reason)

    def completed(self, idem_key: str) -> None:
        """The card accepted the approved sale (TC): the attempt is final. In a dual-message
        dialect the 0220 completion is queued and delivered like a reversal."""
        with self._lock:
            attempt = self.store.get(idem_key)
            if attempt is None or attempt.state not in ("approved", "completed",
                                                        "completion_queued"):
                raise AcquirerError(f"{idem_key}: only an approved attempt can complete"
                                    f" (state {attempt.state if attempt else 'unknown'})")
            if attempt.state != "approved":
                return
            if self.dialect.dual_message:
                self.store.update(idem_key, state="completion_queued")
                self.drain_reversals()
            else:
                self.store.update(idem_key, state="completed")

    def drain_reversals(self) -> bool:
        """Deliver queued reversals (and completions) until each is answered. True when
        none is left; False when the host could not be reached (they stay queued)."""
        with self._lock:
            for attempt in self.store.pending():
                if not self._deliver(attempt):
                    return False
            return True

    def sign_on(self) -> bool:
        return self._network("001")

    def echo(self) -> bool:
        return self._network("301")

    def end_of_day(self, journal_totals: Totals | None = None,
                   currency_numeric: int | None = None) -> Reconciliation:
        """0500 with the net captured sales (default: this link's own log) checked against
        the 0510. A balanced answer closes the batch."""
        with self._lock:
            ours = journal_totals if journal_totals is not None else self.store.totals()
            if not self.drain_reversals():
                return Reconciliation(False, "", ours, None)
            values = self._base_values(self.store.next("stan"))
            values["76"] = str(ours.count).zfill(10)
            values["88"] = str(ours.amount).zfill(16)
            if currency_numeric is not None:
                values["49"] = str(currency_numeric).zfill(3)
            try:
                self._connect()
                body, sent = self.dialect.build("0500", values)
                self._send(body)
                got = self._await(sent, self.config.response_timeout_s, echo_amount=False)
            except (OSError, ssl.SSLError, _NoAnswer) as exc:
                log.warning("end of day: no answer: %s", exc)
                return Reconciliation(False, "", ours, None)
            try:
                host = Totals(int(got["76"]), int(got["88"]))
            except (KeyError, ValueError):
                host = None
            code = got.get("39", "")
            balanced = code == "00" and host == ours
            log.info("end of day: ours %s host %s code %s balanced %s", ours, host, code,
                     balanced)
            if balanced:
                self.store.close_batch()
            return Reconciliation(balanced, code, ours, host)

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # -- messages -------------------------------------------------------------------
    def _base_values(self, stan: int) -> dict[str, str]:
        now = datetime.now(UTC)
        local = datetime.now()
        values = {"7": now.strftime("%m%d%H%M%S"), "11": str(stan).zfill(6),
                  "12": local.strftime("%H%M%S"), "13": local.strftime("%m%d")}
        if self.config.terminal_id:
            values["41"] = self.config.terminal_id
        if self.config.merchant_id:
            values["42"] = self.config.merchant_id
        return values

    def _sale_values(self, sale: SaleRequest, stan: int) -> dict[str, str]:
        values = self._base_values(stan)
        values["4"] = str(sale.amount).zfill(12)
        values["49"] = str(sale.currency_numeric).zfill(3)
        if sale.entry_mode:
            values["22"] = sale.entry_mode
        if sale.pan and self.dialect.carries(self.dialect.auth_mti, 2):
            values["2"] = sale.pan
        if sale.track2:
            values["35"] = track2_text(sale.track2)
        if sale.icc_data:
            values["55"] = sale.icc_data.hex().upper()
        if self.dialect.reference_field:
            values[self.dialect.reference_field] = sale.txn
        return values

    def _later_values(self, attempt: Attempt) -> dict[str, str]:
        """Fields of a reversal/completion: the original 2/3/4/7/11/41/42/49 and 90."""
        values = {"4": str(attempt.amount).zfill(12), "7": attempt.f7, "11": attempt.stan,
                  "41": attempt.tid, "42": attempt.mid,
                  "49": str(attempt.currency).zfill(3),
                  "90": original_data(attempt.mti, attempt.stan, attempt.f7)}
        local = datetime.now()
        values["12"] = local.strftime("%H%M%S")
        values["13"] = local.strftime("%m%d")
        pan = self.store.pan(attempt.idem_key)
        if pan:
            values["2"] = pan
        if attempt.auth_code:
            values["38"] = attempt.auth_code
        if self.dialect.reference_field:
            values[self.dialect.reference_field] = attempt.txn
        return values

    def _deliver(self, attempt: Attempt) -> bool:
        completion = attempt.state == "completion_queued"
        for _ in range(self.config.reversal_attempts_per_drain):
            first = attempt.reversal_attempts == 0
            mti = ("0220" if completion else
                   self.dialect.reversal_mti if first else self.dialect.reversal_repeat_mti)
            try:
                self._connect()
                if not completion:
                    # Counted before the send: after a crash mid-send the next is a repeat.
                    attempt = self.store.update(attempt.idem_key,
                                                reversal_attempts=attempt.reversal_attempts + 1)
                body, sent = self.dialect.build(mti, self._later_values(attempt))
                self._send(body)
                got = self._await(sent, self.config.reversal_timeout_s, echo_amount=False)
            except (OSError, ssl.SSLError, _NoAnswer) as exc:
                log.warning("%s for STAN %s: no answer (%s); stays queued", mti, attempt.stan,
                            exc)
                continue
            state = "completed" if completion else "reversed"
            self.store.update(attempt.idem_key, state=state)
            log.info("%s for STAN %s answered %s (39=%s): %s", mti, attempt.stan,
                     got.get("t"), got.get("39", ""), state)
            return True
        return False

    def _network(self, code: str) -> bool:
        with self._lock:
            values = self._base_values(self.store.next("stan"))
            values["70"] = code
            try:
                self._connect()
                body, sent = self.dialect.build("0800", values)
                self._send(body)
                got = self._await(sent, self.config.response_timeout_s, echo_amount=False)
            except (OSError, ssl.SSLError, _NoAnswer) as exc:
                log.warning("0800/%s: no answer: %s", code, exc)
                return False
            return got.get("39") == "00"

    def _interpret(self, idem_key: str, stan: int, got: dict[str, str]) -> HostAnswer:
        code = got.get("39", "")
        try:
            tags = icc_tags(got["55"]) if got.get("55") else {}
        except IsoError as exc:
            raise _NoAnswer(f"garbled field 55: {exc}") from None
        rule = self.dialect.rule(code)
        common = dict(response_code=code, auth_code=got.get("38", "").strip(),
                      rrn=got.get("37", "").strip(), stan=stan,
                      arc=code.encode("ascii", "replace"),
                      issuer_auth_data=tags.get("91"), scripts_71=tags.get("71", b""),
                      scripts_72=tags.get("72", b""))
        fields = dict(response_code=code, auth_code=common["auth_code"], rrn=common["rrn"],
                      message_key=rule.message)
        if rule.action == "approve":
            self.store.update(idem_key, state="approved", **fields)
            log.info("STAN %s approved (38=%s 37=%s)", stan, common["auth_code"],
                     common["rrn"])
            return HostAnswer("approved", rule.message, **common)
        if rule.action == "reverse_decline":
            self.store.update(idem_key, **fields)
            self.store.queue_reversal(idem_key, f"response_{code}")
            log.info("STAN %s answered %s: reversing and declining", stan, code)
            return HostAnswer("declined", rule.message, reversal_queued=True, **common)
        self.store.update(idem_key, state="declined", **fields)
        log.info("STAN %s declined (39=%s)", stan, code)
        return HostAnswer("declined", rule.message, **common)

    # -- transport ------------------------------------------------------------------
    def _check_transport(self) -> None:
        if not self.config.uses_tls and not is_loopback(self.config.host):
            raise AcquirerError(f"refusing plain TCP to {self.config.host}: only the simulator"
                                " on loopback may be reached without TLS")
        if self.config.uses_tls and self.config.ca_file is None:
            raise AcquirerError("TLS to the acquirer needs a pinned CA file (ca_file)")

    def _connect(self) -> None:
        if self._sock is not None and not self._stale():
            return
        self._disconnect()
        self._check_transport()
        cfg = self.config
        sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.connect_timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if cfg.uses_tls:
                ctx = ssl.create_default_context(cafile=str(cfg.ca_file))
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.check_hostname = True
                if cfg.client_cert_file:
                    ctx.load_cert_chain(str(cfg.client_cert_file), str(cfg.client_key_file))
                sock = ctx.wrap_socket(sock, server_hostname=cfg.server_hostname or cfg.host)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._buffer = b""

    def _stale(self) -> bool:
        """Whether the open connection was closed by the host while idle (anything it sent
        meanwhile stays buffered: late answers are matched and ignored later)."""
        assert self._sock is not None
        try:
            while select.select([self._sock], [], [], 0)[0]:
                self._sock.settimeout(0.5)
                chunk = self._sock.recv(65536)
                if not chunk:
                    return True
                self._buffer += chunk
        except (TimeoutError, ssl.SSLWantReadError):
            return False  # a TLS record without application data: still open
        except (OSError, ValueError):
            return True
        return False

    def _disconnect(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buffer = b""

    def _send(self, body: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.settimeout(self.config.response_timeout_s)
            self._sock.sendall(self.dialect.frame(body))
        except OSError as exc:
            self._disconnect()
            raise _NoAnswer(f"broken link on send: {exc}") from None

    def _await(self, sent: dict[str, str], timeout: float, echo_amount: bool = True
               ) -> dict[str, str]:
        """Read frames until the answer to ``sent`` arrives; _NoAnswer otherwise."""
        request = dict(sent) if echo_amount else {k: v for k, v in sent.items() if k != "4"}
        deadline = time.monotonic() + timeout
        while True:
            try:
                frames, self._buffer = self.dialect.framing.split(self._buffer)
                for body in frames:
                    m = self.dialect.match(body, request)
                    if m.kind == "match":
                        return m.fields
                    log.warning("ignored %s answer (%s) while waiting for %s STAN %s",
                                m.kind, m.reason, sent["t"], sent.get("11"))
            except IsoError as exc:
                self._disconnect()
                raise _NoAnswer(f"garbled answer: {exc}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise _NoAnswer("timeout")
            assert self._sock is not None
            try:
                self._sock.settimeout(left)
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise _NoAnswer("timeout") from None
            except OSError as exc:
                self._disconnect()
                raise _NoAnswer(f"broken link: {exc}") from None
            if not chunk:
                self._disconnect()
                raise _NoAnswer("broken link: closed by host")
            self._buffer += chunk


def handle_response_bytes(dialect: Dialect, raw: bytes, sent: dict[str, str]) -> HostAnswer | None:
    """Pure response handling (framing + decode + match + field 55), for fuzzing and tools:
    the answer to ``sent`` found in ``raw``, or None. Raises only IsoError."""
    frames, _ = dialect.framing.split(raw)
    for body in frames:
        m = dialect.match(body, sent)
        if m.kind != "match":
            continue
        code = m.fields.get("39", "")
        tags = icc_tags(m.fields["55"]) if m.fields.get("55") else {}
        rule = dialect.rule(code)
        outcome: Outcome = "approved" if rule.action == "approve" else "declined"
        return HostAnswer(outcome, rule.message, response_code=code,
                          auth_code=m.fields.get("38", ""), rrn=m.fields.get("37", ""),
                          arc=code.encode("ascii", "replace"),
                          issuer_auth_data=tags.get("91"), scripts_71=tags.get("71", b""),
                          scripts_72=tags.get("72", b""))
    return None


def _answer_of(attempt: Attempt) -> HostAnswer:
    """The stored outcome of an attempt, for a repeated idem key (nothing is resent)."""
    common = dict(response_code=attempt.response_code, auth_code=attempt.auth_code,
                  rrn=attempt.rrn, stan=int(attempt.stan))
    if attempt.state in ("approved", "completed", "completion_queued"):
        return HostAnswer("approved", attempt.message_key or "approved", **common)
    if attempt.state == "declined" or attempt.response_code:
        key = attempt.message_key if attempt.message_key not in ("", "approved") else (
            "card_declined")
        return HostAnswer("declined", key, **common,
                          reversal_queued=attempt.state == "reversal_queued")
    return HostAnswer("unknown", "try_later", **common,
                      reversal_queued=attempt.state == "reversal_queued")


def lane_ids(acq: AcquirerConfig) -> tuple[str, str]:
    """(merchant id, terminal id) the acquirer knows this lane by, as the receipt prints
    them: fields 42 and 41 of every request, from ``[acquirer]`` or else the dialect's
    fixed values; ("", "") for what neither gives (a dialect that does not load)."""
    try:
        fixed = load_dialect(acq.dialect).fixed
    except DialectError as exc:
        log.warning("no merchant/terminal id for the receipt: %s", exc)
        fixed = {}
    return (acq.merchant_id or fixed.get("42", "")).strip(), \
        (acq.terminal_id or fixed.get("41", "")).strip()


def open_link(config: KioskConfig, *, recover: bool = True) -> AcquirerLink:
    """The link as configured: dialect from [acquirer] dialect, the request log and its PAN
    key in paths.state_dir. Recovery (reversal of unfinished attempts) runs unless told not."""
    acq = config.acquirer
    state = config.paths.state_dir
    store = HostLog(state / acq.hostlog_file, state / acq.pan_key_file)
    return AcquirerLink(acq, load_dialect(acq.dialect), store, recover=recover)


def admin_main(config: KioskConfig, action: str) -> int:
    """``kiosk acquirer sign-on|echo|drain|end-of-day``: one line of result; exit 0 if OK."""
    try:
        link = open_link(config)
    except (AcquirerError, DialectError) as exc:
        print(f"acquirer: {exc}")
        return 2
    try:
        if action in ("sign-on", "echo"):
            ok = link.sign_on() if action == "sign-on" else link.echo()
            print(f"acquirer {action}: {'OK' if ok else 'no answer or refused'}")
            return 0 if ok else 1
        if action == "drain":
            ok = link.drain_reversals()
            left = len(link.store.pending())
            print(f"acquirer drain: {'nothing left' if ok else f'{left} still queued'}")
            return 0 if ok else 1
        rec = link.end_of_day(currency_numeric=config.currency.numeric)
        host = f"{rec.host.count} for {rec.host.amount}" if rec.host else "no answer"
        print(f"acquirer end-of-day: ours {rec.ours.count} for {rec.ours.amount}, host {host},"
              f" code {rec.response_code or '-'}: {'balanced' if rec.balanced else 'NOT balanced'}")
        return 0 if rec.balanced else 1
    finally:
        link.close()
