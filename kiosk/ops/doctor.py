"""``kiosk doctor``: check this lane, one verdict per line (ok / warn / FAIL) and the fix to try.

What it checks, in order: the configuration (it loads, and which layer set what), the
services of ``kiosk.target`` (``systemctl is-active``; on a box without systemd it says so),
the broker (a connection with kiosk-cli's credential), the journal (:meth:`Journal.verify`),
free space on the root file system and the data partition (the state dir), the clock
(:mod:`kiosk.ops.timesync`), the sync lag to the back office (kiosk-sync's retained status),
the certificate files the lane relies on (:mod:`kiosk.security.certificates`: the acquirer's
and wallet gateway's CA and client certificates, the back office's CA, the e-receipt server's
certificate, the store broker's CA of the bridge; FAIL when one has expired or is not valid
yet, warn within :data:`CERT_WARN_DAYS` days of its expiry), each configured device
(printer and its paper, card reader through pcscd, camera or wedge scanner, GPIO), payments
still owed to the host (a reversal in the journal, queued reversals and completions in the
host log), and demo credentials still in place (the demo staff PIN or badge, ``demo-`` bus
passwords).

Exit status: 1 when any line is FAIL, else 0 (warnings do not fail the lane); ``--json``
prints the same findings as one JSON object. Every check only reads (it opens the journal as
``kiosk journal verify`` does) and is bounded by the configured timeouts; a check that breaks
reports FAIL with its error rather than stopping the others.

It sits in ``ops`` (below ``services``, above ``journal``, ``bus``, ``printing``,
``security``, ``config`` and ``payments``): everything it reads is in the layers below, so
``kiosk/cli.py`` only wires the command. The device checks are in
:mod:`kiosk.ops.doctor_devices`, the report's lines in :mod:`kiosk.ops.doctor_report`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.bus.acl import USERNAMES
from kiosk.bus.bridge import DEVICE_BRIDGE_DIR
from kiosk.bus.client import BusClient
from kiosk.bus.credentials import CredentialError, demo_or_short, login_for, read_password
from kiosk.bus.messages import MessageError, Topics, parse_sync_status
from kiosk.config import (
    DEFAULTS_FILE,
    PRIVATE_DIR,
    SITE_CONFIG_DIR,
    ConfigError,
    config_sources,
    load_config,
)
from kiosk.journal.store import Journal, JournalTooNew, MigrationHeld
from kiosk.ops.doctor_devices import (
    check_card_reader,
    check_gpio,
    check_printer,
    check_scanner,
    existing,
)
from kiosk.ops.doctor_report import Finding, fail, format_text, ok, warn
from kiosk.ops.timesync import clock_synchronized
from kiosk.ops.update import on_trial
from kiosk.payments.hostlog import HostLog
from kiosk.security.certificates import CertFile, NotCertificates, expiries, lane_certificates
from kiosk.security.staff import demo_credentials

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

#: the units ``systemd/kiosk.target`` wants (tests/unit/test_doctor.py keeps them in step)
UNITS = ("mosquitto.service", "kiosk-core.service", "kiosk-ui.service",
         "kiosk-scanner.service", "kiosk-gpio.service", "kiosk-voice.service",
         "kiosk-ereceipt.service", "kiosk-sync.service", "kiosk-metrics.service",
         "pcscd.socket")
#: ``systemctl is-system-running`` answers meaning "systemd does not run this box"
NOT_SYSTEMD = ("offline", "unknown", "")
DEFAULT_MIN_FREE_MB = 100
BROKER_WAIT_S = 5.0
SYSTEMCTL_TIMEOUT_S = 5.0
#: the back office this far behind (the oldest event it lacks) is worth a warning
SYNC_LAG_WARN_S = 3600.0
#: a certificate the lane relies on that expires within this many days is worth a warning
CERT_WARN_DAYS = 30


# -- services -------------------------------------------------------------------------------

def unit_states(units: tuple[str, ...], systemctl: str = "systemctl") -> dict[str, str] | None:
    """``systemctl is-active`` of each unit; None when systemd does not run this box (no
    ``systemctl`` on PATH, or it says ``offline``). ``systemctl`` is looked up on PATH, so a
    test can put its own there."""
    exe = shutil.which(systemctl)
    if exe is None:
        return None

    def ask(*args: str) -> str:
        try:
            done = subprocess.run([exe, *args], capture_output=True, text=True,
                                  timeout=SYSTEMCTL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""

    if ask("is-system-running") in NOT_SYSTEMD:
        return None
    return {unit: ask("is-active", unit) or "unknown" for unit in units}


def check_services(config: KioskConfig) -> Iterator[Finding]:
    units = tuple(u for u in UNITS if (u != "pcscd.socket" or config.devices.payment == "card")
                  and (u != "kiosk-ereceipt.service" or config.store.e_receipt_url)
                  and (u != "kiosk-sync.service" or config.sync.url)
                  and (u != "kiosk-metrics.service"  # skipped without its bus password
                       or (config.bus.credentials_dir / "kiosk-metrics.password").exists()))
    states = unit_states(units)
    if states is None:
        yield warn("services", "not under systemd: services not checked (a dev or CI box)",
                   "on a device: systemctl status kiosk.target; here: kiosk run")
        return
    for unit, state in states.items():
        if state == "active":
            yield ok(f"service {unit}", "active")
        elif state in ("activating", "reloading"):
            yield warn(f"service {unit}", state, f"wait, then: systemctl status {unit}")
        else:
            yield fail(f"service {unit}", state or "unknown",
                       f"journalctl -u {unit} -n 50; then systemctl restart {unit}")


# -- bus, journal, space, clock -------------------------------------------------------------

def check_broker(config: KioskConfig) -> Iterator[Finding]:
    where = f"{config.bus.host}:{config.bus.port}"
    try:
        login = login_for(config.bus, "kiosk-cli", config.security.production)
    except CredentialError as exc:
        yield fail("broker", str(exc), "kiosk bus provision (as root), then"
                   " systemctl reload mosquitto")
        return
    client = BusClient(login, f"kiosk-doctor-{os.getpid()}")
    try:
        client.start(wait_s=None)
        client.answered.wait(BROKER_WAIT_S)
        connected = client.connected.is_set()  # before stop(), which clears it
    finally:
        client.stop()
    if connected:
        yield ok("broker", f"{where} accepts kiosk-cli")
    elif client.refusal:
        yield fail("broker", f"{where} refused kiosk-cli: {client.refusal}",
                   "the broker's password file and /etc/kiosk/bus disagree: kiosk bus"
                   " provision (as root), then systemctl reload mosquitto")
    else:
        yield fail("broker", f"no answer from {where} within {BROKER_WAIT_S:g} s",
                   "systemctl status mosquitto; systemctl restart mosquitto")


def retained(config: KioskConfig, topic: str, wait_s: float = BROKER_WAIT_S) -> bytes | None:
    """The retained message on ``topic`` (read as kiosk-cli), or None when there is none."""
    login = login_for(config.bus, "kiosk-cli", config.security.production)
    got: list[bytes] = []
    arrived = threading.Event()

    def on_message(_topic: str, payload: bytes) -> None:
        got.append(payload)
        arrived.set()

    client = BusClient(login, f"kiosk-doctor-{os.getpid()}-r")
    client.subscribe(topic, on_message)
    try:
        client.start(wait_s=wait_s)
        arrived.wait(wait_s if client.connected.is_set() else 0)
    finally:
        client.stop()
    return got[0] if got else None


def check_sync(config: KioskConfig) -> Iterator[Finding]:
    """The sync lag kiosk-sync reports (its retained status) against the journal's end."""
    if not config.sync.url:
        yield ok("sync", "off (sync.url is empty): the lane sells alone")
        return
    fix = "systemctl status kiosk-sync; journalctl -u kiosk-sync -n 50"
    try:
        payload = retained(config, Topics(config.store.lane_id).sync_status)
    except CredentialError as exc:
        yield warn("sync", f"cannot read the sync status: {exc}", "run kiosk doctor as root")
        return
    if payload is None:
        yield warn("sync", "no sync status on the bus: kiosk-sync has not run", fix)
        return
    try:
        st = parse_sync_status(payload)
    except MessageError as exc:
        yield fail("sync", f"unreadable sync status: {exc}", fix)
        return
    lag = (f"{st.get('lag_events')} event(s), {st.get('lag_s')} s behind"
           if st.get("lag_events") is not None else "lag unknown")
    last = st.get("last_success")
    when = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last)) if last else "never")
    detail = (f"back office holds seq {st.get('acked_seq')} of {st.get('journal_seq')}: {lag};"
              f" last success {when}")
    if st["state"] == "refused":
        yield fail("sync", f"the back office refuses this lane's token; {detail}",
                   f"a new token: kiosk backoffice lane add STORE LANE, into"
                   f" {config.sync.token_file} (mode 0600), then systemctl restart kiosk-sync")
    elif st["state"] == "offline":
        yield warn("sync", f"kiosk-sync is not running; {detail}", fix)
    elif st["state"] == "retrying":
        yield warn("sync", f"failing, retrying: {st.get('error')}; {detail}",
                   f"check the network and {config.sync.url} (its log for a 4xx); the lane"
                   " keeps selling")
    elif (st.get("lag_s") or 0) > SYNC_LAG_WARN_S:
        yield warn("sync", detail, f"{fix}; is the back office slow?")
    else:
        yield ok("sync", detail)


def _open_journal(config: KioskConfig) -> Journal | Finding:
    path = config.journal_path
    if not path.exists():
        return warn("journal", f"no journal yet at {path}",
                    "kiosk-core creates it at its first start")
    try:
        return Journal(path, defer=on_trial(config.paths.state_dir) is not None)
    except JournalTooNew as exc:
        return fail("journal", str(exc), "install the release that wrote it (kiosk update)")
    except MigrationHeld as exc:
        return fail("journal", str(exc), "kiosk update --commit, or reboot to fall back")
    except sqlite3.DatabaseError as exc:
        return fail("journal", f"{path}: not a readable journal: {exc}",
                    "keep the file for support; kiosk-core cannot start on it")


def check_journal(config: KioskConfig) -> Iterator[Finding]:
    journal = _open_journal(config)
    if isinstance(journal, Finding):
        yield journal
        return
    try:
        count, problems = journal.verify()
    finally:
        journal.close()
    if problems:
        yield fail("journal", f"{config.journal_path}: {len(problems)} problem(s), first:"
                   f" {problems[0]}", "kiosk journal verify (lists them); keep the file and"
                   " call support: do not delete it")
    else:
        yield ok("journal", f"{count} events, chain and replay sound ({config.journal_path})")


def check_space(config: KioskConfig, min_free_mb: int) -> Iterator[Finding]:
    state = existing(config.paths.state_dir)
    places = [("disk /", Path("/"), "")]
    if os.stat(state).st_dev != os.stat("/").st_dev:
        places.append(("data partition", state, f" on {state}"))
    else:
        places[0] = ("disk /", Path("/"), f" (also holds the state dir {config.paths.state_dir})")
    for label, path, where in places:
        usage = shutil.disk_usage(path)
        free_mb, total_mb = usage.free // 2**20, usage.total // 2**20
        detail = f"{free_mb} MiB free of {total_mb} MiB{where}"
        fix = (f"free space (old receipts in {config.receipts_dir}, logs: journalctl"
               " --vacuum-size=50M) or grow the data partition (docs/technician.md)")
        if free_mb < min_free_mb:
            yield fail(label, f"{detail}, below the {min_free_mb} MiB floor", fix)
        elif free_mb < 2 * min_free_mb:
            yield warn(label, f"{detail}, near the {min_free_mb} MiB floor", fix)
        else:
            yield ok(label, detail)


def check_clock(config: KioskConfig) -> Iterator[Finding]:
    pay = config.payments
    if clock_synchronized(pay.clock_source, pay.clock_sync_flag):
        yield ok("clock", f"synchronized ({pay.clock_source})")
        return
    fix = "timedatectl status; check the network and NTP (systemctl status systemd-timesyncd)"
    if pay.require_clock_sync:
        yield fail("clock", "not synchronized: the lane refuses payments until it is", fix)
    else:
        yield warn("clock", "not synchronized (payments.require_clock_sync is off)", fix)


# -- certificates ---------------------------------------------------------------------------

def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_certificates(config: KioskConfig, bridge_dir: Path = DEVICE_BRIDGE_DIR
                       ) -> Iterator[Finding]:
    """Each certificate file the lane uses (:func:`lane_certificates`): FAIL when one of its
    certificates has expired or is not valid yet, or the file is missing or holds none; warn
    within :data:`CERT_WARN_DAYS` of the earliest expiry; ok with that date otherwise."""
    files = lane_certificates(config, bridge_dir)
    if not files:
        yield ok("certificates", "none configured (no TLS file of the lane's own in use)")
        return
    now = dt.datetime.now(dt.UTC)
    for cert in files:
        yield _judge_certificate(cert, now)


def _judge_certificate(cert: CertFile, now: dt.datetime) -> Finding:
    check = f"certificate {cert.key}"
    if cert.path is None:
        return warn(check, "the bridge file is not readable by this user: its CA not judged",
                    "run kiosk doctor as root")
    path = cert.path
    then = (f"; {cert.service} takes it by itself within seconds, no restart (journalctl -u"
            f" {cert.service}: 'TLS certificate reloaded')" if cert.reloads
            else f", then systemctl restart {cert.service}")
    renew = (f"install a renewed certificate at {path} (docs/technician.md, certificates)"
             f"{then}")
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        return fail(check, f"{path} missing", f"install it, or correct {cert.key}")
    except PermissionError:
        return warn(check, f"{path} is not readable by this user: not judged",
                    "run kiosk doctor as root")
    except OSError as exc:
        return fail(check, f"{path}: cannot read: {exc.strerror or exc}",
                    f"install it, or correct {cert.key}")
    try:
        certs = expiries(pem)
    except NotCertificates as exc:
        return fail(check, f"{path}: {exc}", f"put the PEM certificate there; {renew}")
    of = f" (earliest of {len(certs)} certificates)" if len(certs) > 1 else ""
    early = [c for c in certs if c.not_before > now]
    if early:
        return fail(check, f"{path}: {early[0].subject} is not valid before"
                    f" {_when(early[0].not_before)}", "check the clock (timedatectl status);"
                    f" if it is right, {renew}")
    first = min(certs, key=lambda c: c.not_after)
    left = first.not_after - now
    if left <= dt.timedelta(0):
        return fail(check, f"{path}: {first.subject} expired on {_when(first.not_after)}"
                    f" ({(now - first.not_after).days} days ago){of}", renew)
    if left < dt.timedelta(days=CERT_WARN_DAYS):
        return warn(check, f"{path}: {first.subject} expires on {_when(first.not_after)}"
                    f" ({left.days} days left){of}", renew)
    return ok(check, f"{path}: {first.subject} valid until {_when(first.not_after)}{of}")


# -- payments owed, demo credentials, provenance ---------------------------------------------

def check_pending(config: KioskConfig) -> Iterator[Finding]:
    fix = "kiosk acquirer drain (needs the host), or let kiosk-core retry; see docs/operator.md"

    def money(minor: int) -> str:
        return f"{config.currency.code} {config.currency.plain(minor)}"

    owed = []
    journal = _open_journal(config)
    if isinstance(journal, Journal):
        try:
            reversal = journal.recover().reversal
        finally:
            journal.close()
        if reversal is not None:
            owed.append(f"journal: reversal of {money(reversal['amount'])},"
                        f" stan {reversal['stan']}, {reversal['attempts']} attempt(s)")
    hostlog_path = config.paths.state_dir / config.acquirer.hostlog_file
    if hostlog_path.exists():
        log = HostLog(hostlog_path, config.paths.state_dir / config.acquirer.pan_key_file)
        try:
            pending = log.pending()
        finally:
            log.close()
        for attempt in pending:
            owed.append(f"host log: {attempt.state.replace('_queued', '')} of"
                        f" {money(attempt.amount)} for {attempt.txn} (stan {attempt.stan})")
    if owed:
        yield fail("pending payments", "; ".join(owed), fix)
    else:
        yield ok("pending payments", "no reversal or completion owed to the host")


def check_demo_credentials(config: KioskConfig) -> Iterator[Finding]:
    staff = [] if _hidden_layers() else demo_credentials(config.staff)
    if _hidden_layers():
        yield warn("demo staff", "the staff layer is not readable by this user: not judged",
                   "run kiosk doctor as root")
    elif staff:
        yield fail("demo staff", f"the shipped demo credentials still sign in: {', '.join(staff)}",
                   "kiosk staff hash-pin; put the lane's [[staff.members]] in"
                   " /etc/kiosk/private/ (docs/technician.md)")
    else:
        yield ok("demo staff", f"{len(config.staff.members)} staff member(s), none with the"
                 " demo PIN or badge")
    creds = config.bus.credentials_dir
    present = [u for u in USERNAMES if (creds / f"{u}.password").exists()]
    if not present:
        yield warn("demo bus passwords", f"no bus passwords in {creds}",
                   "kiosk bus provision (as root)")
        return
    demo, unread = [], []
    for username in present:
        try:
            password = read_password(username, creds)
        except CredentialError:  # not readable by this user, or unsafe (the broker line)
            unread.append(username)
            continue
        if demo_or_short(password):
            demo.append(username)
    if demo:
        yield fail("demo bus passwords", f"demo or short bus password for {', '.join(demo)}"
                   f" in {creds}", "remove those .password files, kiosk bus provision,"
                   " systemctl reload mosquitto, restart the services")
    elif unread == present:
        yield warn("demo bus passwords", f"cannot read the passwords in {creds} as this user",
                   "run kiosk doctor as root")
    else:
        more = f" ({', '.join(unread)} not read here)" if unread else ""
        yield ok("demo bus passwords", f"no demo or short password{more}")


def _hidden_layers() -> list[str]:
    """Private config layers this user may not read (the loader skips them)."""
    private = Path(os.environ.get("KIOSK_CONFIG_DIR", SITE_CONFIG_DIR)) / PRIVATE_DIR
    return [str(p) for p in sorted(private.glob("*.toml")) if not os.access(p, os.R_OK)]


def check_provenance(sources: dict[str, str]) -> Iterator[Finding]:
    """One line per layer above the packaged defaults: the keys it set."""
    by_layer: dict[str, list[str]] = {}
    for key, layer in sources.items():
        if layer != str(DEFAULTS_FILE):
            by_layer.setdefault(layer, []).append(key)
    if not by_layer:
        yield ok("config", f"packaged defaults only ({DEFAULTS_FILE})")
    for layer, keys in by_layer.items():
        shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
        yield ok("config", f"{layer} sets {shown}")
    hidden = _hidden_layers()
    if hidden:
        yield warn("config", f"not readable by this user, so not judged: {', '.join(hidden)}"
                   " (the staff hashes)", "run kiosk doctor as root")


# -- the run --------------------------------------------------------------------------------

def run_checks(config: KioskConfig, sources: dict[str, str],
               min_free_mb: int = DEFAULT_MIN_FREE_MB) -> list[Finding]:
    """Every check, in the report's order; a check that raises is its own FAIL line."""
    checks: list[tuple[str, Callable[[], Iterator[Finding]]]] = [
        ("config", lambda: check_provenance(sources)),
        ("services", lambda: check_services(config)),
        ("broker", lambda: check_broker(config)),
        ("journal", lambda: check_journal(config)),
        ("space", lambda: check_space(config, min_free_mb)),
        ("clock", lambda: check_clock(config)),
        ("sync", lambda: check_sync(config)),
        ("certificates", lambda: check_certificates(config)),
        ("printer", lambda: check_printer(config)),
        ("card reader", lambda: check_card_reader(config)),
        ("scanner", lambda: check_scanner(config)),
        ("gpio", lambda: check_gpio(config)),
        ("pending payments", lambda: check_pending(config)),
        ("demo credentials", lambda: check_demo_credentials(config)),
    ]
    findings: list[Finding] = []
    for name, check in checks:
        try:
            findings.extend(check())
        except Exception as exc:  # one broken check must not hide the others
            findings.append(fail(name, f"the check itself failed: {type(exc).__name__}: {exc}",
                                 "kiosk -v doctor; report it with the output"))
    return findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--min-free-mb", type=int, default=DEFAULT_MIN_FREE_MB, metavar="MIB",
                        help="free space below this on / or the data partition is a FAIL,"
                        f" below twice it a warning (default {DEFAULT_MIN_FREE_MB})")


def doctor_main(args: argparse.Namespace) -> int:
    """Run every check, print the report; 1 when any line is FAIL, else 0."""
    sources: dict[str, str] = {}
    try:
        config = load_config()
        sources = config_sources()
    except ConfigError as exc:  # nothing else can be judged without a configuration
        findings = [fail("config", str(exc), "edit the file or variable the line names;"
                         " kiosk config check")]
    else:
        findings = run_checks(config, sources, args.min_free_mb)
    failed = any(f.verdict == "FAIL" for f in findings)
    if args.json:
        json.dump({"ok": not failed, "findings": [asdict(f) for f in findings],
                   "config_sources": sources},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(format_text(findings))
    return 1 if failed else 0
