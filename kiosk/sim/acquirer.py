"""Acquirer host simulator: ``kiosk sim acquirer --port P --ledger FILE [--dialect FILE]``.

A threaded TCP server (plain TCP, or TLS with ``--tls-cert/--tls-key``) speaking the same
ISO 8583 dialect as the kiosk. Each request is answered by the next queued behaviour for its
kind, or approved when none is queued.

Control: one command per line on stdin, or on the loopback ``--control-port`` (the same line
protocol; each command is answered with one line, ``ok ...`` or ``error ...``).

    [TARGET] approve | approve scripts | decline CODE | partial AMOUNT | delay SECONDS
             | late | drop | garbage | mismatch
    status                   one JSON line: approvals, reversals, queued behaviours
    hangup                   close every open client connection now (an idle link drops)
    quit

TARGET is ``auth`` (0100/0200, the default), ``reversal`` (0400/0401/0420/0421, also
written as an MTI, e.g. ``0400 drop``), ``0800``, ``0220`` or ``0500``.

* approve: 39=00 with 37, 38 and field 55 tag 91 (``scripts`` adds a 72 template).
* decline CODE: 39=CODE. partial AMOUNT: 39=10, 54 carries the approved amount.
* delay SECONDS: approve, answer after SECONDS. late: approve, hold the answer and send it
  just before the answer to the next request on the same connection (after the client's
  timeout, deterministically). drop: approve, close the connection without answering.
  garbage: approve, answer with framed bytes that are not a message. mismatch: approve,
  answer with field 4 changed. In all these the host did approve: the sale is charged
  until reversed, as on a real host whose answer got lost.

Reversals are answered 0410/0430 always (idempotent: an unknown or already reversed STAN
still gets its answer); 0800 → 0810; 0500 → 0510 with the host's own net totals (39=00
when they agree, 95 when not; agreement closes the batch); 0220 → 0230.

The JSON-lines ledger records every request received (MTI, STAN, basket, the field numbers
present and field 90; no card data),
approval, decline, reversal, completion and settlement; :func:`ledger_net` computes
"approved and not reversed" per basket from it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from kiosk.domain.addresses import is_loopback
from kiosk.payments.iso8583 import Dialect, DialectError, IsoError, icc_tags, load_dialect
from kiosk.sim.emvcard import issuer_arpc

REVERSALS = ("0400", "0401", "0420", "0421")
BEHAVIOURS = ("approve", "decline", "partial", "delay", "late", "drop", "garbage", "mismatch")


def ledger_net(path: Path) -> dict[str, int]:
    """Per basket: approvals minus reversals of those approvals (must be 0 or 1)."""
    net: dict[str, int] = defaultdict(int)
    for line in Path(path).read_text().splitlines():
        rec = json.loads(line)
        if rec["event"] == "approved":
            net[rec["basket"]] += 1
        elif rec["event"] == "reversed":
            net[rec["basket"]] -= 1
    return dict(net)


def ledger_events(path: Path, event: str | None = None) -> list[dict]:
    recs = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return [r for r in recs if event is None or r["event"] == event]


class HostState:
    """What the simulated host has approved, reversed and captured; writes the ledger."""

    def __init__(self, dialect: Dialect, ledger: Path) -> None:
        self.dialect = dialect
        self.ledger = Path(ledger)
        self.lock = threading.Lock()
        self.queues: dict[str, deque[list[str]]] = defaultdict(deque)
        self.approvals: dict[tuple[str, str], dict] = {}
        self.batch = 1
        self.rrn = 0
        self.connections: set[socket.socket] = set()
        self._replay()

    def _replay(self) -> None:
        if not self.ledger.exists():
            return
        for rec in ledger_events(self.ledger):
            key = (rec.get("tid", ""), rec.get("stan", ""))
            if rec["event"] == "approved":
                self.approvals[key] = dict(rec, reversed=False, batch=rec.get("batch", 1))
            elif rec["event"] == "reversed" and key in self.approvals:
                self.approvals[key]["reversed"] = True
            elif rec["event"] == "completed" and key in self.approvals:
                self.approvals[key]["captured"] = True
            elif rec["event"] == "settlement" and rec.get("code") == "00":
                self.batch = rec["batch"] + 1
            self.rrn = max(self.rrn, int(rec.get("rrn", "0") or 0))

    def write(self, event: str, **data: object) -> None:
        rec = {"t": round(time.time(), 6), "event": event, **data}
        with self.ledger.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")

    def next_behaviour(self, target: str) -> list[str]:
        with self.lock:
            q = self.queues[target]
            return q.popleft() if q else ["approve"]

    def command(self, line: str) -> str:
        words = line.split()
        if not words:
            return "error empty command"
        if words[0] == "hangup":
            with self.lock:
                conns = list(self.connections)
            for conn in conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return f"ok hangup {len(conns)}"
        if words[0] == "status":
            with self.lock:
                return json.dumps({
                    "approved": sum(1 for a in self.approvals.values()),
                    "reversed": sum(1 for a in self.approvals.values() if a["reversed"]),
                    "queued": {k: [" ".join(b) for b in v] for k, v in self.queues.items()
                               if v}})
        target = "auth"
        if words[0] in ("auth", "reversal", "0800", "0220", "0500") or words[0] in REVERSALS:
            target = "reversal" if words[0] in REVERSALS else words.pop(0)
            if not words:
                return "error behaviour missing"
        name, args = words[0], words[1:]
        if name not in BEHAVIOURS:
            return f"error unknown behaviour {name!r}; one of {', '.join(BEHAVIOURS)}"
        try:
            if name == "decline" and (len(args) != 1 or len(args[0]) != 2):
                raise ValueError("decline needs a 2-character response code")
            if name == "partial":
                int(args[0])
            if name == "delay":
                float(args[0])
        except (ValueError, IndexError) as exc:
            return f"error {name}: {exc or 'argument missing'}"
        with self.lock:
            self.queues[target].append([name, *args])
        return f"ok {target} {' '.join([name, *args])}"

    def totals(self) -> tuple[int, int]:
        caught = [a for a in self.approvals.values()
                  if a.get("captured") and not a["reversed"] and a["batch"] == self.batch]
        return len(caught), sum(a["amount"] for a in caught)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        state = self.server.state
        dialect = state.dialect
        sock: socket.socket = self.request
        buffer = b""
        held: list[bytes] = []   # "late" answers for this connection
        with state.lock:
            state.connections.add(sock)
        try:
            self._serve(sock, state, dialect, buffer, held)
        finally:
            with state.lock:
                state.connections.discard(sock)

    def _serve(self, sock: socket.socket, state: HostState, dialect: Dialect, buffer: bytes,
               held: list[bytes]) -> None:
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            try:
                frames, buffer = dialect.framing.split(buffer)
            except IsoError as exc:
                state.write("bad_frame", error=str(exc))
                return
            for body in frames:
                try:
                    req = dialect.decode(body)
                except IsoError as exc:
                    state.write("bad_message", error=str(exc))
                    return
                if not self._answer(req, held):
                    return

    def _send(self, payload: bytes) -> bool:
        try:
            self.request.sendall(payload)
            return True
        except OSError:
            return False

    def _answer(self, req: dict[str, str], held: list[bytes]) -> bool:
        """Answer one request; False to close the connection."""
        state = self.server.state
        dialect = state.dialect
        mti = req["t"]
        ref = dialect.reference_field
        basket = req.get(ref, "") if ref else ""
        state.write("received", mti=mti, stan=req.get("11", ""), tid=req.get("41", ""),
                    basket=basket, amount=int(req.get("4", "0") or 0),
                    fields=sorted(int(k) for k in req if k.isdigit()),
                    original=req.get("90", ""))
        if mti in ("0100", "0200"):
            target = "auth"
        elif mti in REVERSALS:
            target = "reversal"
        else:
            target = mti
        behaviour = state.next_behaviour(target)
        name = behaviour[0]
        resp = {k: v for k, v in req.items()
                if k in ("3", "4", "7", "11", "24", "41", "42", "49", "70", "90", ref)}
        resp["t"] = mti[:2] + str(int(mti[2]) + 1) + "0"
        if mti in ("0100", "0200"):
            self._authorize(req, resp, behaviour, basket)
        elif mti in REVERSALS:
            self._reverse(req, resp)
        elif mti == "0220":
            key = (req.get("41", ""), req.get("90", "")[4:10] or req.get("11", ""))
            with state.lock:
                if key in state.approvals:
                    state.approvals[key]["captured"] = True
            state.write("completed", stan=key[1], tid=key[0], basket=basket)
            resp["39"] = "00"
        elif mti == "0500":
            with state.lock:
                count, amount = state.totals()
                theirs = (int(req.get("76", "0")), int(req.get("88", "0")))
                code = "00" if theirs == (count, amount) else "95"
                state.write("settlement", batch=state.batch, code=code, host=[count, amount],
                            kiosk=list(theirs))
                if code == "00":
                    state.batch += 1
            resp.update({"39": code, "76": str(count).zfill(10), "88": str(amount).zfill(16)})
        else:  # 0800 and anything else
            resp["39"] = "00"
        if name == "mismatch" and "4" in resp:
            resp["4"] = str(int(resp["4"]) + 1).zfill(12)
        try:
            payload = dialect.frame(dialect.encode(resp))
        except IsoError as exc:
            state.write("encode_error", error=str(exc))
            return False
        if name == "drop":
            state.write("dropped", mti=mti, stan=req.get("11", ""))
            return False
        if name == "garbage":
            payload = dialect.frame(b"GARBAGE!" * 4)
        if name == "late":
            held.append(payload)
            state.write("held_late", mti=mti, stan=req.get("11", ""))
            return True
        if name == "delay":
            time.sleep(float(behaviour[1]))
        while held:
            if not self._send(held.pop(0)):
                return False
        return self._send(payload)

    def _authorize(self, req: dict[str, str], resp: dict[str, str], behaviour: list[str],
                   basket: str) -> None:
        state = self.server.state
        name = behaviour[0]
        key = (req.get("41", ""), req.get("11", ""))
        amount = int(req.get("4", "0"))
        if name == "decline":
            resp["39"] = behaviour[1]
            state.write("declined", basket=basket, stan=key[1], tid=key[0], code=behaviour[1])
            return
        with state.lock:
            state.rrn += 1
            rrn = str(state.rrn).zfill(12)
        approved = amount
        resp["39"] = "00"
        if name == "partial":
            approved = min(int(behaviour[1]), amount)
            resp["39"] = "10"
            resp["54"] = f"0002{req.get('49', '000')}C{str(approved).zfill(12)}"
        auth_code = f"A{int(rrn) % 100000:05d}"
        resp.update({"37": rrn, "38": auth_code})
        arc = resp["39"].encode().hex().upper()
        icc = "910A" + _arpc(req, bytes.fromhex(arc)).hex().upper()
        if behaviour[1:] == ["scripts"]:
            icc += "720E9F180411223344" + "86058424000000"
        resp["55"] = icc
        with state.lock:
            state.approvals[key] = {"basket": basket, "amount": approved, "reversed": False,
                                    "captured": req["t"] == "0200", "batch": state.batch}
        state.write("approved", basket=basket, stan=key[1], tid=key[0], amount=approved,
                    rrn=rrn, auth_code=auth_code, code=resp["39"], behaviour=" ".join(behaviour),
                    batch=state.batch)

    def _reverse(self, req: dict[str, str], resp: dict[str, str]) -> None:
        state = self.server.state
        orig = req.get("90", "")[4:10] or req.get("11", "")
        key = (req.get("41", ""), orig)
        with state.lock:
            approval = state.approvals.get(key)
            fresh = approval is not None and not approval["reversed"]
            if fresh:
                approval["reversed"] = True
        if fresh:
            state.write("reversed", basket=approval["basket"], stan=orig, tid=key[0],
                        amount=approval["amount"], mti=req["t"])
        else:
            state.write("reversal_noop", stan=orig, tid=key[0], mti=req["t"])
        resp["39"] = "00"


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: HostState,
                 tls: ssl.SSLContext | None) -> None:
        self.state = state
        self.tls = tls
        super().__init__(address, _Handler)

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, addr = super().get_request()
        if self.tls is not None:
            sock.settimeout(10)
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.state.write("tls_refused", error=str(exc))
                sock.close()
                raise OSError("TLS handshake failed") from None
            sock.settimeout(None)
        return sock, addr


class _ControlHandler(socketserver.StreamRequestHandler):
    server: _ControlServer

    def handle(self) -> None:
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").strip()
            if line == "quit":
                self.server.stop.set()
                self.wfile.write(b"ok quit\n")
                return
            self.wfile.write((self.server.state.command(line) + "\n").encode())


class _ControlServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, state: HostState, stop: threading.Event) -> None:
        self.state = state
        self.stop = stop
        super().__init__(("127.0.0.1", port), _ControlHandler)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8583, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address only")
    parser.add_argument("--ledger", required=True, help="JSON-lines ledger file")
    parser.add_argument("--dialect", default="default", help="dialect name or file")
    parser.add_argument("--control-port", type=int, default=None,
                        help="also take control lines on this loopback port (0: pick)")
    parser.add_argument("--tls-cert", help="serve TLS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="private key of --tls-cert")


def _loopback(host: str) -> bool:
    try:
        return all(is_loopback(info[4][0])
                   for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP))
    except (OSError, ValueError):
        return False


def main(args: argparse.Namespace) -> int:
    try:
        dialect = load_dialect(args.dialect)
    except DialectError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not _loopback(args.host):
        print(f"kiosk sim acquirer: --host {args.host} is not a loopback address: a simulator"
              " never listens beyond this machine", file=sys.stderr)
        return 2
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    state = HostState(dialect, Path(args.ledger))
    server = _Server((args.host, args.port), state, tls)
    stop = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    control = None
    extra = ""
    if args.control_port is not None:
        control = _ControlServer(args.control_port, state, stop)
        threading.Thread(target=control.serve_forever, daemon=True).start()
        extra = f" control={control.server_address[1]}"
    print(f"acquirer simulator port={server.server_address[1]}{extra} dialect={dialect.name}"
          f" {'tls' if tls else 'plain'}", flush=True)

    def read_stdin() -> None:
        for raw in sys.stdin:
            line = raw.strip()
            if line == "quit":
                break
            if line:
                print(state.command(line), flush=True)
        else:
            return  # end of input: keep serving (stop with SIGTERM, or "quit")
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
    if control is not None:
        control.shutdown()
    return 0


def _arpc(req: dict, arc: bytes) -> bytes:
    """Tag 91 for the answer: the simulated issuer's ARPC for a known test card (so the
    card's EXTERNAL AUTHENTICATE passes), random bytes for any other card."""
    try:
        tags = icc_tags(req.get("55", ""))
        arpc = issuer_arpc(req.get("35", ""), tags.get("84", b""), tags.get("9F26", b""), arc)
    except Exception:  # a malformed request gets a random ARPC, never a crash  # noqa: S110
        arpc = None
    return arpc or (os.urandom(8) + arc)

