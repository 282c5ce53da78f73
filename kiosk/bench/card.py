"""``kiosk bench card``: card insert to authorization request, over the real PC/SC stack.

Each run inserts a virtual EMV card (``kiosk.sim.emvcard``, Visa-like, T=1) into
vpcd's reader under a private pcscd, lets :class:`CardPaymentPort` read it (pyscard
events, EMV selection, GPO, records, first GENERATE AC), authorize it over ISO 8583
with a ``kiosk sim acquirer`` process on loopback, and finish with the second GENERATE
AC; then the card is pulled and the next run waits for pcscd to see the empty slot.

Figures (median and p95 over the runs):

* **insert → request sent**: from the card connecting to vpcd to the authorization
  request leaving for the host; includes pcscd noticing the card (it polls vpcd about
  every 400 ms), which is most of it;
* **detected → request sent**: from pcscd reporting the card present (the reader event)
  to the request leaving: the APDUs plus our own code;
* **insert → approved**: to the port's approved result (host answer and second AC);
* the APDU count per sale and, as the baseline measured in the same run, the raw APDU
  round trip through pcscd (a SELECT sent N times), so the APDU share of "detected →
  request" is ``apdus_before_request × round trip`` and the rest is our code.

The last line is one JSON object with the issue's keys.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kiosk_drivers.cardreader import open_channel, reader_state
from kiosk_drivers.cardreader.sim.pcscd import READER0, PrivatePcscd
from kiosk_drivers.cardreader.sim.vpcd import VpcdCard

from kiosk.bench.stats import percentile
from kiosk.config import load_config
from kiosk.payments.card_port import CardPaymentPort
from kiosk.payments.port import AuthRequest
from kiosk.ports import free_port
from kiosk.sim.emvcard import make_card

JSON_KEYS = ("insert_to_request_ms_median", "insert_to_request_ms_p95",
             "detected_to_request_ms_median", "detected_to_request_ms_p95",
             "insert_to_approved_ms_median", "apdu_count")


def _start_acquirer(state: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "acquirer", "--port",
                             str(port), "--ledger", str(state / "acquirer-ledger.jsonl")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "port=" not in line:
        proc.kill()
        raise SystemExit(f"kiosk sim acquirer did not start: {line!r}")
    return proc, port


def _apdu_round_trip_ms(reader: str, count: int) -> float:
    channel = open_channel(reader)
    select_pse = bytes.fromhex("00A404000E315041592E5359532E444446303100")
    times = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            channel.transmit(select_pse)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        channel.close()
    return statistics.median(times)


def bench_card(runs: int = 50, profile: str = "visa") -> int:
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-card-"))
    pcscd = PrivatePcscd(work / "pcscd").start()
    acquirer, acq_port = _start_acquirer(work)
    os.environ.update({
        "KIOSK_CONFIG_DIR": str(work / "no-site-config"),
        "KIOSK__PATHS__STATE_DIR": str(work / "state"),
        "KIOSK__DEVICES__PAYMENT": "card",
        "KIOSK__ACQUIRER__PORT": str(acq_port),
        "KIOSK__CARDREADER__READER_PATTERN": "^Virtual PCD 00 00$",
    })
    config = load_config()
    port = CardPaymentPort(config)
    slot = VpcdCard("127.0.0.1", pcscd.port, netns=pcscd.netns)
    insert_req, detected_req, insert_ok, apdus, apdus_before = [], [], [], [], []
    failures = 0
    try:
        slot.insert(make_card(profile))
        _wait_present(reader_state, READER0, True)
        rtt = _apdu_round_trip_ms(READER0, 50)
        slot.remove()
        _wait_present(reader_state, READER0, False)
        for run in range(runs):
            card = make_card(profile)
            t_insert = time.monotonic()
            slot.insert(card)
            t_insert = slot.connected_at or t_insert
            request = AuthRequest(txn=f"BENCH{run:04d}", method="card", amount=1234 + run,
                                  currency_code=config.currency.code,
                                  currency_numeric=config.currency.numeric, stan=run + 1,
                                  idem_key=f"bench-card-{os.getpid()}-{run}")
            result = port.authorize(request)
            t_done = time.monotonic()
            t = port.timings
            if result.outcome != "approved" or t.request_sent is None or t.detected is None:
                failures += 1
                print(f"run {run}: {result.outcome} {result.reason}", file=sys.stderr)
            else:
                insert_req.append((t.request_sent - t_insert) * 1000)
                detected_req.append((t.request_sent - t.detected) * 1000)
                insert_ok.append((t_done - t_insert) * 1000)
                apdus.append(t.apdus)
                apdus_before.append(t.apdus_before_request)
            slot.remove()
            _wait_present(reader_state, READER0, False)
    finally:
        slot.remove()
        port.close()
        acquirer.terminate()
        acquirer.wait(10)
        pcscd.stop()
    if not insert_req:
        print("no approved run; nothing to report", file=sys.stderr)
        return 1
    apdu_count = int(statistics.median(apdus))
    before = statistics.median(apdus_before)
    det_med = statistics.median(detected_req)
    figures = {
        "insert_to_request_ms_median": round(statistics.median(insert_req), 2),
        "insert_to_request_ms_p95": round(percentile(insert_req, 95), 2),
        "detected_to_request_ms_median": round(det_med, 2),
        "detected_to_request_ms_p95": round(percentile(detected_req, 95), 2),
        "insert_to_approved_ms_median": round(statistics.median(insert_ok), 2),
        "apdu_count": apdu_count,
    }
    print(f"card benchmark: {len(insert_req)} approved sales of {runs} ({failures} failed),"
          f" profile {profile}, real pcscd + vpcd + kiosk sim acquirer on loopback")
    print(f"  insert -> request sent    median {figures['insert_to_request_ms_median']:8.2f} ms"
          f"   p95 {figures['insert_to_request_ms_p95']:8.2f} ms  (includes pcscd's poll)")
    print(f"  detected -> request sent  median {det_med:8.2f} ms"
          f"   p95 {figures['detected_to_request_ms_p95']:8.2f} ms")
    print(f"  insert -> approved        median {figures['insert_to_approved_ms_median']:8.2f} ms")
    print(f"  APDUs per sale {apdu_count} ({before:g} before the request);"
          f" baseline raw APDU round trip {rtt:.3f} ms -> {before * rtt:.2f} ms of APDUs,"
          f" {det_med - before * rtt:.2f} ms our code (ratio detected->request / APDU time"
          f" {det_med / max(before * rtt, 1e-6):.1f})")
    print(json.dumps(figures))
    return 0 if not failures else 1


def _wait_present(reader_state, reader: str, present: bool, timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while reader_state(reader)[0] != present:
        if time.monotonic() >= end:
            raise SystemExit(f"pcscd did not report {reader} {'present' if present else 'empty'}")
        time.sleep(0.01)
