"""``kiosk run``: a complete demo on a desktop with simulated devices.

Starts (or reuses) a loopback mosquitto, kiosk-core, and the simulated scanner
on stdin; loads the sample catalog on first start. Lines typed on stdin are
barcodes, or demo commands (``help`` lists them). Prints each state change.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from argparse import Namespace
from pathlib import Path

from kiosk_drivers.cardreader.sim.pcscd import PrivatePcscd
from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

from kiosk.bus.broker import credentials_dir, port_open, start_private_broker
from kiosk.bus.client import BusClient
from kiosk.bus.credentials import login_for
from kiosk.bus.messages import MessageError, Topics, command, parse_core_status, parse_state
from kiosk.catalog import SAMPLE_CATALOG, Catalog
from kiosk.config import KioskConfig, load_config, writable_dir
from kiosk.domain.codes import is_badge_code
from kiosk.domain.money import format_money, message_currency
from kiosk.ops import sdnotify
from kiosk.ports import free_port
from kiosk.security.pinseal import staff_pin_command
from kiosk.sim.backoffice_demo import start_demo_backoffice
from kiosk.sim.emvcard import PROFILES, make_card

HELP = """\
Type a barcode and Enter to scan it (try 8801043444279, 070666928444, 8801048052745).
Commands: start | plu PLU GRAMS | qty LINE N | remove LINE | checkout | back |
          pay card | pay qr | app N | receipt print|none | cancel | help-call |
          pin 2468 | approve | void LINE | clear | done | lang en|zh_Hans|ko | quit
Card reader (virtual chip card in a private pcscd): card visa|mastercard|unionpay|
          t0_visa|cobadged|blocked|aac_after_approval|ppse_only | card out
Acquirer host (the next card sale): host decline 51 | host partial AMOUNT | host delay S |
          host drop | host late | host status   (default: approve)
Phone wallet (kiosk sim qrpay, after 'pay qr'): phone [SCENARIO] shows a payment code to
          the camera (success, paying_then_success, insufficient_funds, code_used, ...);
          'app 1' on the show-code screen switches to the kiosk's own QR code.
Demo staff PIN is 2468. --sim-payments: card totals ending in .51 are declined, .52 find
the host down."""

#: what to type for each command type the core may accept (the hint after a refusal)
DEMO_WORDS = {
    "scan": "a barcode", "add_plu": "plu PLU GRAMS", "start": "start", "set_quantity": "qty LINE N",
    "remove_line": "remove LINE", "help": "help-call", "checkout": "checkout",
    "pay": "pay card|qr", "back": "back", "cancel": "cancel", "done": "done",
    "choose_app": "app N", "receipt": "receipt print|none", "staff_pin": "pin PIN",
    "attendant": "approve | clear | void LINE",
}


def refusal_hint(kind: str, reason: str, state: dict | None) -> str:
    """What to type instead, after kiosk-core refused a ``kind`` command with ``reason``
    in the last published ``state`` (the core's own ``accepts`` list, never restated)."""
    if reason == "payment_in_progress":
        return "a payment is under way: wait for its result (or type cancel)"
    if reason != "not_allowed_now" or not state:
        return ""
    accepts = state.get("accepts") or ()
    if kind == "pay" and "checkout" in accepts:
        return "type checkout first"
    if state.get("state") == "attendant_needed":
        return ("staff first: pin 2468 (the demo PIN), then approve (age check), clear (help,"
                " unknown barcode) or void LINE")
    words = [DEMO_WORDS[c] for c in accepts if c in DEMO_WORDS]
    if not words:
        return f"nothing to type in {state.get('state')}: wait for the next state"
    return f"in {state.get('state')} you can type: {', '.join(words)}"


def _state_dir(requested: str | None, config: KioskConfig) -> Path:
    if requested:
        return Path(requested).resolve()
    fallback = Path.home() / ".local" / "state" / "kiosk"
    return writable_dir(config.paths.state_dir) or fallback


def _ensure_catalog(config: KioskConfig) -> None:

    catalog = Catalog(config.catalog_path)
    try:
        if catalog.count() == 0:
            report = catalog.import_csv(SAMPLE_CATALOG, config.currency, config.tax.rates)
            print(f"demo: loaded {report.loaded} sample products into {config.catalog_path}")
    finally:
        catalog.close()


def parse_demo_line(line: str) -> tuple[str, dict] | None:
    """Map a typed line to (command type, fields); None for an unknown line."""

    words = shlex.split(line)
    if not words:
        return None
    head, rest = words[0].lower(), words[1:]
    if head.isdigit() or is_badge_code(words[0]):
        return "scan", {"code": words[0]}
    simple = {"start": "start", "checkout": "checkout", "back": "back", "cancel": "cancel",
              "help-call": "help", "done": "done", "touch": "touch"}
    try:
        if head in simple:
            return simple[head], {}
        if head == "receipt":
            return "receipt", {"choice": rest[0] if rest else "print"}
        if head == "app":
            return "choose_app", {"index": int(rest[0])}
        if head == "pay":
            return "pay", {"method": rest[0] if rest else "card"}
        if head == "plu":
            return "add_plu", {"plu": rest[0], "weight_g": int(rest[1])}
        if head == "qty":
            return "set_quantity", {"line_id": int(rest[0]), "qty": int(rest[1])}
        if head == "remove":
            return "remove_line", {"line_id": int(rest[0])}
        if head == "pin":
            return "staff_pin", {"pin": rest[0]}
        if head in ("approve", "clear"):
            return "attendant", {"action": "approve_age" if head == "approve" else "clear"}
        if head == "void":
            return "attendant", {"action": "void_line", "line_id": int(rest[0])}
        if head == "lang":
            return "set_language", {"locale": rest[0]}
    except (IndexError, ValueError):
        return None
    return None


def _summary(msg: dict) -> str:

    cur = message_currency(msg["currency"])
    total = format_money(msg["totals"]["total"], cur, msg["locale"])
    lines = ", ".join(
        f"#{ln['line_id']} {ln['names'].get('en', ln['key'])}"
        + (f" x{ln['qty']}" if ln["qty"] > 1 else "")
        + (f" {ln['weight_g']}g" if ln["weight_g"] else "")
        for ln in msg["lines"])
    extra = f" [{msg['attendant']['reason']}]" if msg.get("attendant") else ""
    notice = f" ({msg['notice']})" if msg.get("notice") else ""
    receipt = f" receipt: {msg['receipt']['path']}" if msg.get("receipt") else ""
    pay = msg.get("payment") or {}
    device = "phone" if pay.get("method") == "qr" else "card"
    step = f" {device}: {pay['step']}" if pay.get("step") else ""
    if pay.get("notice"):
        step += f" ({pay['notice']})"
    if pay.get("apps"):
        step += " (" + ", ".join(f"app {i} {a['label']}" for i, a in enumerate(pay["apps"])) + ")"
    return f"[{msg['state']}{extra}]{step} total {total}{notice} {lines}{receipt}"


class CardSims:
    """The card path's simulators for the demo: a private pcscd with vpcd, a virtual card
    slot driven from stdin, and ``kiosk sim acquirer`` on loopback. kiosk-core started
    after :meth:`start` uses them (``devices.payment = "card"``)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.pcscd = None
        self.acquirer: subprocess.Popen | None = None
        self.control_port: int | None = None
        self.slot = None

    def start(self) -> str:


        self.pcscd = PrivatePcscd(self.state_dir / "pcscd").start()  # sets PCSCLITE_CSOCK_NAME
        port, self.control_port = free_port(), free_port()
        self.acquirer = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sim", "acquirer", "--port", str(port),
             "--control-port", str(self.control_port),
             "--ledger", str(self.state_dir / "acquirer-ledger.jsonl")],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=(self.state_dir / "acquirer.log").open("ab"))
        os.environ["KIOSK__DEVICES__PAYMENT"] = "card"
        os.environ["KIOSK__ACQUIRER__PORT"] = str(port)
        os.environ["KIOSK__CARDREADER__READER_PATTERN"] = "^Virtual PCD 00 00$"
        self.slot = VpcdCard("127.0.0.1", self.pcscd.port, netns=self.pcscd.netns)
        return (f"demo: card payments through a private pcscd (vpcd) and kiosk sim acquirer on"
                f" port {port}; type 'card visa' to insert a card, 'card out' to pull it")

    def host(self, words: list[str]) -> str:
        """One control line to the acquirer simulator (``decline 05``, ``delay 40``, ...);
        its one-line answer."""

        if not words:
            return "demo: host what? e.g. 'host decline 51', 'host status'"
        try:
            with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as sock:
                sock.sendall((" ".join(words) + "\n").encode())
                answer = sock.makefile("r", encoding="utf-8").readline().strip()
        except OSError as exc:
            return f"demo: acquirer simulator not reachable ({exc})"
        return f"demo: host {answer or 'gave no answer'}"

    def command(self, words: list[str]) -> str:

        if not words or words[0] == "out":
            self.slot.remove()
            return "demo: card pulled out"
        if words[0] not in PROFILES:
            return f"demo: unknown card profile; known: {', '.join(PROFILES)}"
        self.slot.insert(make_card(words[0]))
        return f"demo: {words[0]} card inserted"

    def stop(self) -> None:
        if self.slot is not None:
            self.slot.remove()
        if self.acquirer is not None:
            self.acquirer.terminate()
            self.acquirer.wait(10)
        if self.pcscd is not None:
            self.pcscd.stop()


def _start_card_sims(state_dir: Path) -> CardSims | None:
    """Card sims when pcscd and vpcd are installed; else the simulated acquirer plays the
    card reader too (and says so)."""
    sims = CardSims(state_dir)
    try:
        print(sims.start())
        return sims
    except (RuntimeError, OSError) as exc:
        sims.stop()
        os.environ["KIOSK__DEVICES__PAYMENT"] = "sim"
        print(f"demo: no virtual card reader ({exc}); payments are simulated")
        return None


def _start_wallet_sim(config: KioskConfig, state_dir: Path):  # type: ignore[no-untyped-def]
    """``kiosk sim qrpay`` in this process (HTTPS on loopback, demo keys in the state dir)
    for the ``qr`` method, unless ``[payments.options.qr]`` names a gateway already."""
    if "qr" not in config.payments.methods or "qr" in config.payments.options:
        return None
    from kiosk.sim.qrpay import QrPaySim

    sim = QrPaySim(state_dir).start()
    for key, value in sim.lane_options("generic").items():  # what kiosk-core is started with
        os.environ[f"KIOSK__PAYMENTS__OPTIONS__QR__{key.upper()}"] = str(value)
    print(f"demo: phone payments through kiosk sim qrpay on {sim.url} (ledger"
          f" {sim.ledger_path}); after 'pay qr' type 'phone' to show a payment code")
    return sim


def _phone_code(words: list[str]) -> tuple[str, str] | str:
    """``phone [SCENARIO]``: a payment code of WeChat's shape that picks the simulator's
    scenario (kiosk.sim.qrpay), and its kind; or what to type instead."""
    from kiosk.sim.qrpay import SUFFIX, code_for

    scenario = words[0] if words else "success"
    if scenario not in SUFFIX:
        return f"demo: unknown scenario; known: {', '.join(SUFFIX)}"
    return code_for(scenario, "wechat", int.from_bytes(os.urandom(5), "big")), "wechat"


def _sealed_pin(pin: str, seal: dict | None) -> dict | None:
    """The ``pin`` line as the PIN pad sends it: sealed to kiosk-core (kiosk.security.pinseal)."""

    if not seal:
        print("demo: kiosk-core has not published its PIN key yet", flush=True)
        return None
    try:
        return staff_pin_command(pin, seal, source="sim")
    except ValueError as exc:
        print(f"demo: {exc}", flush=True)
        return None


def _log_to_file(path: Path) -> None:
    """This process's own log lines (the bus client's) go to ``path``, not the prompt."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(handlers=[handler], level=logging.getLogger().level or logging.INFO,
                        force=True)


def run_demo(args: Namespace) -> int:
    config = load_config()
    state_dir = _state_dir(args.state_dir, config)
    state_dir.mkdir(parents=True, exist_ok=True)
    _log_to_file(state_dir / "demo.log")
    os.environ["KIOSK__PATHS__STATE_DIR"] = str(state_dir)
    config = load_config()
    _ensure_catalog(config)
    procs: list[subprocess.Popen] = []
    if not port_open(config.bus.host, config.bus.port):
        # several tools may log in as kiosk-cli at once here (this client, `kiosk sim scan`)
        procs.append(start_private_broker(state_dir / "broker", config.bus.port, config.bus.host,
                                          one_session_per_user=False))
        # every process of the demo (they inherit the environment) logs in with its passwords
        creds = credentials_dir(state_dir / "broker")
        os.environ["KIOSK__BUS__CREDENTIALS_DIR"] = str(creds)
        config = load_config()
        print(f"demo: started a private mosquitto on {config.bus.host}:{config.bus.port}"
              f" (other tools: export KIOSK__BUS__CREDENTIALS_DIR={creds})")
    backoffice = None
    if getattr(args, "backoffice", False):  # ./setup.sh run: a local back office to sync to
        backoffice = start_demo_backoffice(state_dir, config)
        config = load_config()
    card_sims = None if getattr(args, "sim_payments", False) else _start_card_sims(state_dir)
    wallet_sim = _start_wallet_sim(config, state_dir)
    # the services log to files, so the prompt shows only states, refusals and answers
    core_log = (state_dir / "core.log").open("ab")
    procs.append(subprocess.Popen([sys.executable, "-m", "kiosk.cli", "core"],
                                  stdout=core_log, stderr=core_log, stdin=subprocess.DEVNULL))
    if config.sync.url:  # the lane's journal to the back office (kiosk-sync), as on a device
        sync_log = (state_dir / "sync.log").open("ab")
        procs.append(subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sync"],
                                      stdout=sync_log, stderr=sync_log, stdin=subprocess.DEVNULL))
        print(f"demo: kiosk-sync ships this lane's journal to {config.sync.url}"
              f" (log: {state_dir / 'sync.log'})")
    topics = Topics(config.store.lane_id)
    client = BusClient(login_for(config.bus, "kiosk-cli"), f"kiosk-demo-{os.getpid()}")
    last: dict = {"text": "", "seal": None, "state": None}
    sent: dict[str, str] = {}  # command id → its type, to hint after a refusal

    def on_state(_topic: str, payload: bytes) -> None:
        try:
            msg = parse_state(payload)
        except MessageError as exc:
            print(f"demo: state message dropped: {exc}", flush=True)
            return
        last["seal"] = msg.get("staff_seal")  # a typed PIN is sealed to it, never sent
        last["state"] = msg
        text = _summary(msg)
        if text != last["text"]:
            last["text"] = text
            print(f"state: {text}", flush=True)

    def on_result(_topic: str, payload: bytes) -> None:
        msg = json.loads(payload)
        kind = sent.pop(msg.get("id", ""), None)  # None: another client's command
        if not msg["ok"]:
            hint = refusal_hint(kind, msg["reason"], last["state"]) if kind else ""
            print(f"rejected: {msg['reason']}" + (f" ({hint})" if hint else ""), flush=True)

    online = threading.Event()

    def on_status(_topic: str, payload: bytes) -> None:
        try:
            up = parse_core_status(payload)["online"]
        except MessageError as exc:
            print(f"demo: core status dropped: {exc}", flush=True)
            return
        (online.set if up else online.clear)()

    client.subscribe(topics.state, on_state)
    client.subscribe(topics.result, on_result)
    client.subscribe(topics.core_status, on_status)
    client.start(wait_s=10)
    if not online.wait(30):
        print("demo: kiosk-core did not come online within 30 s", file=sys.stderr)
    stop = sdnotify.stop_on_signals(signals=(signal.SIGTERM,))  # Ctrl-C: KeyboardInterrupt
    print(f"demo: kiosk-core running; state, journal and receipts in {state_dir}; service logs"
          f" in {state_dir}/*.log")
    if getattr(args, "no_ui", False):
        print("demo: no shopper UI (--no-ui); drive the kiosk from here.")
    else:
        from kiosk.ui.launch import start_demo_ui

        ui_procs, note = start_demo_ui(state_dir)
        procs += ui_procs
        print(note)
        print("demo: you can also drive the kiosk from here.")
    print(HELP, flush=True)
    try:
        if not args.no_stdin:
            for line in sys.stdin:
                if line.strip().lower() in ("quit", "exit"):
                    break
                words = line.split()
                if words and words[0].lower() == "card" and card_sims is not None:
                    print(card_sims.command([w.lower() for w in words[1:]]), flush=True)
                    continue
                if words and words[0].lower() == "phone":
                    # the scanner's command: only kiosk-scanner may send a wallet code
                    code = _phone_code(words[1:])
                    if isinstance(code, str):
                        print(code, flush=True)
                        continue
                    scanner = BusClient(login_for(config.bus, "kiosk-scanner"),
                                        f"kiosk-demo-phone-{os.getpid()}")
                    if scanner.start(wait_s=5):
                        msg = command("wallet_code", source="scanner", code=code[0],
                                      kind=code[1])
                        sent[msg["id"]] = "wallet_code"
                        scanner.publish(topics.command_from("scanner"), msg).wait_for_publish(5)
                        scanner.stop()
                        print("demo: a phone's payment code shown to the camera", flush=True)
                    else:
                        print("demo: the scanner's bus login is refused", flush=True)
                    continue
                if words and words[0].lower() == "host" and card_sims is not None:
                    print(card_sims.host([w.lower() for w in words[1:]]), flush=True)
                    continue
                parsed = parse_demo_line(line)
                if parsed is None:
                    if line.strip():
                        print(HELP)
                    continue
                kind, fields = parsed
                if kind == "staff_pin":
                    msg = _sealed_pin(fields["pin"], last["seal"])
                    if msg is not None:
                        sent[msg["id"]] = kind
                        client.publish(topics.command_from("cli"), msg)
                    continue
                msg = command(kind, source="sim", **fields)
                sent[msg["id"]] = kind
                client.publish(topics.command_from("cli"), msg)
            else:
                print("demo: stdin closed; kiosk keeps running until Ctrl-C / SIGTERM")
                stop.wait()
        else:
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        client.stop()
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if card_sims is not None:
            card_sims.stop()
        if wallet_sim is not None:
            wallet_sim.stop()
        if backoffice is not None:
            backoffice.stop()
        time.sleep(0.1)
    return 0
