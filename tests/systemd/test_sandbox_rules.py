"""Each real service process under its own unit's seccomp rules: does it still work?

``SystemCallFilter=`` (EPERM for a call off the list) and ``MemoryDenyWriteExecute=`` are
rules the kernel applies to the process; :mod:`tests.systemd.sandbox` applies the unit
file's own rules the same way, without systemd. Under them: kiosk-core and kiosk-scanner
sell a basket read from a video, kiosk-core pays by chip card (pyscard over pcscd's
socket, ISO 8583 to the acquirer, the host log's AES key), kiosk-gpio says READY=1,
kiosk-sync ships a journal over TLS, kiosk-receipt-prune deletes old kept receipts,
kiosk-scale reads a scale over a pty and publishes its weight,
kiosk-fault closes the lane, kiosk-voice buys by
voice (Vosk, espeak-ng), the UI draws its first frame, and kiosk-firstboot's provisioning
applies a lane (chown included).
For the two units left without ``MemoryDenyWriteExecute=`` the reason is measured: the
voice service's microphone callback cannot be made under it, and the UI on Mesa's
llvmpipe dies before its first frame.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kiosk_drivers.scale.sim.simulator import ScaleSimulator
from kiosk_drivers.scanner.sim.synth import Placement, Presentation, write_session
from kiosk_drivers.sim.pty import start_pty_pair

from tests.card.conftest import acquirer, card_lane  # noqa: F401 - fixtures
from tests.cardsupport import pcscd  # noqa: F401 - a fixture
from tests.flash.test_ab_update import ready_of
from tests.flash.test_provision import GOOD, PEM
from tests.harness import REPO
from tests.integration.flow import to_receipt
from tests.scale.feed import ScaleFeed
from tests.systemd.notify_listener import NotifyListener
from tests.systemd.sandbox import ran_under, sandbox_env, sandbox_env_for, unavailable
from tests.systemd.test_units import read_unit

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))

#: the units that set MemoryDenyWriteExecute=yes
DENIED_WX = {"kiosk-core.service", "kiosk-scanner.service", "kiosk-gpio.service",
             "kiosk-fault@.service", "kiosk-firstboot.service", "kiosk-ereceipt.service",
             "kiosk-sync.service", "kiosk-receipt-prune.service", "kiosk-scale@.service",
             "kiosk-metrics.service",  # run under its rules in tests/metrics
             "kiosk-update-commit.service"}


def test_write_execute_is_denied_where_measured():
    """Every unit with MemoryDenyWriteExecute=yes is run under it below; the others say
    why they go without (and the why is measured below)."""
    names = [p.name for p in (REPO / "systemd").glob("*.service")]
    have = {n for n in names
            if read_unit(n)["Service"].get("MemoryDenyWriteExecute") == ["yes"]}
    assert have == DENIED_WX
    for name in set(names) - DENIED_WX:
        assert "no MemoryDenyWriteExecute=" in (REPO / "systemd" / name).read_text(), name


def test_the_rules_are_really_applied(tmp_path):
    """The harness does what it says: a writable+executable mapping is refused, and so is
    a call outside the list (setpriority, in ~@resources), with EPERM."""
    probe = ("import mmap, os, sys\n"
             "try:\n"
             "    os.setpriority(os.PRIO_PROCESS, 0, 1)\n"
             "    print('setpriority ok')\n"
             "except PermissionError:\n"
             "    print('setpriority EPERM')\n"
             "try:\n"
             "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
             "    print('wx mapped')\n"
             "except OSError:\n"
             "    print('wx refused')\n")
    free = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=30, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert free.stdout.split() == ["setpriority", "ok", "wx", "mapped"], free.stderr
    env = sandbox_env(dict(os.environ), "kiosk-core.service", tmp_path)
    ruled = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=30, env=env)
    assert ran_under(ruled.stderr, "kiosk-core.service")
    assert ruled.stdout.split() == ["setpriority", "EPERM", "wx", "refused"], ruled.stderr


@pytest.mark.integration
def test_core_and_scanner_sell_under_their_rules(start_core, shopper, lane_env, tmp_path):
    """The real kiosk-core (journal, catalog, receipts, payment) and kiosk-scanner (OpenCV
    capture, zxing-cpp and zbar): a basket from a video, paid, the receipt printed."""
    core_env = sandbox_env(lane_env, "kiosk-core.service", tmp_path / "rules")
    core = start_core(**{k: core_env[k] for k in core_env if k not in lane_env
                         or k == "PYTHONPATH"})
    shopper.wait_online()
    assert ran_under(core.log(), "kiosk-core.service")
    video = tmp_path / "basket.avi"
    write_session(video, [Presentation(name, hold=10, gap=28, placement=Placement(angle=a))
                          for name, a in (("ean13_ramyun", 5), ("upca_cupnoodle", 0))],
                  (640, 480), seed=7)
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "scanner", "--source", str(video),
                           "--pace", "lockstep"],
                          env=sandbox_env(lane_env, "kiosk-scanner.service", tmp_path / "rules"),
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ran_under(done.stderr, "kiosk-scanner.service")
    shopper.wait_state(lambda s: sum(ln["qty"] for ln in s["lines"]) == 2, timeout=30)
    shopper.send("checkout")
    shopper.wait_state(lambda s: s["state"] == "payment")
    shopper.send("pay", method="card")
    final = to_receipt(shopper, timeout=60)
    assert sum(ln["qty"] for ln in final["lines"]) == 2
    assert core.proc is not None and core.proc.poll() is None


@pytest.mark.card
@pytest.mark.integration
def test_core_pays_by_card_under_its_rules(card_lane, tmp_path):  # noqa: F811
    """The card path: pcscd's socket, the EMV card, the acquirer over TCP, the host log."""
    env = sandbox_env(card_lane.env, "kiosk-core.service", tmp_path / "rules")
    core = card_lane.start_core(**{k: env[k] for k in ("PYTHONPATH", "KIOSK_TEST_SANDBOX",
                                                        "KIOSK_TEST_SANDBOX_UNIT")})
    assert ran_under(core.log(), "kiosk-core.service")
    txn = card_lane.to_payment()
    card_lane.pay()
    card_lane.wait_step("insert_card")
    card_lane.insert("visa")
    st = card_lane.shopper.wait_state(lambda s: s["state"] == "approved", 30)
    assert st["txn"] == txn
    to_receipt(card_lane.shopper, "print")
    card_lane.remove()
    assert [e["basket"] for e in card_lane.acq.received("0200")] == [txn]


@pytest.mark.integration
def test_gpio_is_ready_under_its_rules(lane_env, tmp_path):
    """`kiosk gpio` (gpiozero's mock pins here; lgpio on the device) claims its pins,
    connects and says READY=1."""
    with NotifyListener() as notify:
        env = dict(sandbox_env(lane_env, "kiosk-gpio.service", tmp_path),
                   NOTIFY_SOCKET=notify.address, KIOSK__GPIO__PIN_FACTORY="mock",
                   GPIOZERO_PIN_FACTORY="mock")
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "gpio"], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            notify.wait_for("READY=1", timeout=60)  # TimeoutError if it never comes
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert ran_under(err, "kiosk-gpio.service")


@pytest.mark.integration
def test_ereceipt_serves_a_receipt_under_its_rules(config, tmp_path):
    """`kiosk ereceipt serve` says READY=1 and answers a kept receipt's link (HMAC, Babel,
    python-barcode) over its own TLS (ereceipt.tls_cert/tls_key, ssl) under its unit's
    rules."""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    from kiosk.printing.ereceipt import LinkSigner, load_key
    from kiosk.printing.store import ReceiptStore
    from tests.backoffice.sync.tls import make_tls
    from tests.drivers.receipts import make_receipt

    url = "https://receipts.store.test/r/{txn}"
    tls = make_tls(tmp_path / "tls")
    key = load_key(config.ereceipt_key_file, create=True)
    ReceiptStore(config.receipts_dir).save(make_receipt(config, "ko", link=False))
    link = LinkSigner(key, url, 3600).link("S001-L01-000042", "ko")
    with NotifyListener() as notify:
        env = dict(sandbox_env(dict(os.environ), "kiosk-ereceipt.service", tmp_path / "sb"),
                   NOTIFY_SOCKET=notify.address, KIOSK__STORE__E_RECEIPT_URL=url,
                   KIOSK__ERECEIPT__TLS_CERT=str(tls.cert),
                   KIOSK__ERECEIPT__TLS_KEY=str(tls.key))
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ereceipt", "serve",
                                 "--port", "0"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            notify.wait_for("READY=1", timeout=60)
            head = []
            for line in iter(proc.stderr.readline, ""):
                head.append(line)
                if "listening on" in line:
                    break
            port = int(head[-1].rsplit(":", 1)[1])
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=10,
                context=ssl.create_default_context(cafile=tls.ca))
            conn.request("GET", urlsplit(link).path)
            resp = conn.getresponse()
            assert resp.status == 200 and "영수증 번호" in resp.read().decode("utf-8")
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert ran_under("".join(head) + err, "kiosk-ereceipt.service"), err


def test_scale_publishes_a_weight_under_its_rules(lane_env, broker_port, tmp_path):
    """`kiosk scale produce` (kiosk-scale@produce) reads the simulated scale over a pty with
    pyserial, says READY=1 and publishes the settled weight."""
    pair = start_pty_pair(tmp_path / "scale", tmp_path / "scale-device")
    sim = ScaleSimulator(pair.device).start()
    sim.set_weight(1234)
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    feed = ScaleFeed(broker_port, lane, "produce")
    try:
        with NotifyListener() as notify:
            env = dict(sandbox_env(lane_env, "kiosk-scale@.service", tmp_path / "sb"),
                       NOTIFY_SOCKET=notify.address, KIOSK__SCALE__PRODUCE__PORT=str(pair.host),
                       KIOSK__SCALE__PRODUCE__PROTOCOL="mettler8217")
            proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "scale", "produce"],
                                    env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
            try:
                notify.wait_for("READY=1", timeout=60)
                msg = feed.wait(lambda m: m["status"] == "stable" and m["weight_g"] == 1234)
            finally:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
    finally:
        feed.close()
        sim.stop()
        pair.close()
    assert msg["online"] and ran_under(err, "kiosk-scale@.service"), err


def test_receipt_prune_deletes_old_receipts_under_its_rules(lane_env, tmp_path):
    """`kiosk receipt prune` (the daily timer) removes kept receipts past the link validity
    and keeps the others."""
    receipts = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "receipts"
    receipts.mkdir(parents=True, exist_ok=True)
    old, new = receipts / "S1-L1-000001.json", receipts / "S1-L1-000002.json"
    old.write_text(json.dumps({"issued": "2020-01-02T10:00:00+00:00"}))
    new.write_text(json.dumps({"issued": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                       time.gmtime())}))
    env = sandbox_env(lane_env, "kiosk-receipt-prune.service", tmp_path)
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "receipt", "prune"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and ran_under(done.stderr, "kiosk-receipt-prune.service"), (
        done.stderr)
    assert "1 kept receipt(s)" in done.stdout
    assert not old.exists() and new.exists()


@pytest.mark.integration
def test_fault_closes_the_lane_under_its_rules(lane_env, shopper, tmp_path):
    """kiosk-fault publishes the retained "core offline" status (no core runs here: the
    status the shopper sees can only be kiosk-fault's)."""
    done = subprocess.run([sys.executable, str(REPO / "systemd" / "kiosk-fault"),
                           "kiosk-ui.service"],
                          env=sandbox_env(lane_env, "kiosk-fault@.service", tmp_path), cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ran_under(done.stderr, "kiosk-fault@.service")
    assert "kiosk-ui.service failed" in done.stdout
    shopper.wait_online(False, timeout=10)


@pytest.mark.integration
def test_sync_ships_the_journal_under_its_rules(lane_env, tmp_path):
    """`kiosk sync` says READY=1 and ships a journal over TLS (httpx, ssl, SQLite read-only)
    to a back office (the stand-in of tests/backoffice/sync) under its unit's rules."""
    import ssl
    import threading

    from kiosk.journal.store import Journal
    from tests.backoffice.sync.fake_backoffice import BackOffice, Store
    from tests.backoffice.sync.tls import make_tls

    tls = make_tls(tmp_path / "tls")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls.cert, tls.key)
    lane = lane_env["KIOSK__STORE__LANE_ID"]
    bo = BackOffice(0, Store(tmp_path / "bo.sqlite"), {"tok": lane}, 100, 0, ctx)
    threading.Thread(target=bo.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    token = tmp_path / "token"
    token.write_text("tok\n")
    token.chmod(0o600)
    journal = Journal(Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite")
    journal.append([{"type": "activity", "ts": 1_780_000_000.0 + i} for i in range(12)], None)
    journal.close()
    try:
        with NotifyListener() as notify:
            env = dict(sandbox_env(lane_env, "kiosk-sync.service", tmp_path / "sb"),
                       NOTIFY_SOCKET=notify.address,
                       KIOSK__SYNC__URL=f"https://127.0.0.1:{bo.server_address[1]}",
                       KIOSK__SYNC__TOKEN_FILE=str(token), KIOSK__SYNC__CA_FILE=str(tls.ca),
                       KIOSK__SYNC__BATCH_MAX="5")
            proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sync"], env=env,
                                    cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            try:
                notify.wait_for("READY=1", timeout=60)
                deadline = time.monotonic() + 60
                while bo.store.acked(lane) < 12 and time.monotonic() < deadline:
                    time.sleep(0.05)  # polling the server's committed state
            finally:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
    finally:
        bo.shutdown()
        bo.server_close()
    assert bo.store.acked(lane) == 12, err
    assert proc.returncode == 0 and ran_under(err, "kiosk-sync.service"), err


# kiosk-voice buys by voice under its rules: tests/voice_ux/test_cli.py runs `kiosk voice run`
# as under systemd with this filter applied (one voice purchase serves both checks)


def test_voice_microphone_callback_needs_write_execute(tmp_path):
    """Why kiosk-voice has no MemoryDenyWriteExecute=: sounddevice hands PortAudio a cffi
    callback for the microphone stream, and cffi cannot make one under the rule."""
    probe = ("import sounddevice\n"
             "cb = sounddevice._ffi.callback('PaStreamCallback', error=-1)(lambda *a: 0)\n"
             "print('callback made')\n")
    env = sandbox_env(dict(os.environ), "kiosk-voice.service", tmp_path)
    free = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, timeout=60)
    assert ran_under(free.stderr, "kiosk-voice.service")  # its own rules: no W^X
    assert free.returncode == 0 and "callback made" in free.stdout, free.stderr
    ruled = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env=sandbox_env_for(dict(os.environ), "voice-with-wx", tmp_path,
                                               {"mdwe": True, "syscalls": None}), timeout=60)
    assert ran_under(ruled.stderr, "voice-with-wx")
    assert ruled.returncode != 0 and "Cannot allocate write+execute memory" in ruled.stderr


@pytest.mark.ui
@pytest.mark.integration
def test_ui_draws_under_its_rules_and_not_with_write_execute_denied(lane_env, tmp_path):
    """The UI (Kivy, OpenGL on Mesa's llvmpipe here) draws its first frame under its own
    rules; with MemoryDenyWriteExecute= added it dies before it (llvmpipe JIT-compiles
    shaders into writable+executable pages): why the UI goes without it."""
    from kiosk.ui.xvfb import XvfbError, start_xvfb

    try:
        xvfb, display = start_xvfb()
    except XvfbError as exc:
        pytest.skip(str(exc))
    base = dict(lane_env, DISPLAY=display, KIOSK__PATHS__STATE_DIR=str(tmp_path / "state"))
    own = sandbox_env(base, "kiosk-ui.service", tmp_path / "rules")
    spec = json.loads(Path(own["KIOSK_TEST_SANDBOX"]).read_text())
    with_wx = sandbox_env_for(base, "ui-with-wx", tmp_path / "rules", dict(spec, mdwe=True))
    outcomes = {}
    try:
        for name, env in (("own", own), ("with_wx", with_wx)):
            with NotifyListener() as notify:
                proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ui", "--windowed"],
                                        env=dict(env, NOTIFY_SOCKET=notify.address), cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
                ready = _ready_or_exit(notify, proc, timeout=90)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
                outcomes[name] = (ready, proc.returncode, err)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    ready, _, err = outcomes["own"]
    assert ran_under(err, "kiosk-ui.service") and ready, err[-2000:]
    ready, code, err = outcomes["with_wx"]
    assert ran_under(err, "ui-with-wx")
    assert not ready and code not in (0, None), (code, err[-2000:])


def _ready_or_exit(notify: NotifyListener, proc: subprocess.Popen, timeout: float) -> bool:
    """True once READY=1 arrives; False as soon as the process has exited without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = notify.recv(0.5)
        if msg is not None and "READY=1" in msg.split("\n"):
            return True
        if msg is None and proc.poll() is not None:
            return False
    return False


def test_update_commit_runs_under_its_rules(lane_env, tmp_path, start_core):
    """kiosk-update-commit's three commands under the unit's filter and W^X: the trial is
    seen (`kiosk update --pending`), the journal verified without a migration, and
    `kiosk update --commit` waits for kiosk-core to settle (its signal relay, its look at
    /proc) and makes the tried slot B the default."""
    from kiosk.config import load_config
    from kiosk.journal.store import Journal

    state = Path(lane_env["KIOSK__PATHS__STATE_DIR"])
    Journal(load_config(environ=lane_env).journal_path).close()
    (state / "update.json").write_text(json.dumps(
        {"status": "trying", "from": "A", "to": "B", "build_id": "v2-build"}))
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "config.txt").write_text("os_prefix=slot-a/\narm_64bit=1\n")
    (boot / "tryboot.txt").write_text("os_prefix=slot-b/\narm_64bit=1\n")
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=tty1 root=LABEL=kiosk-root-b ro rootwait\n")
    where = ["--boot", str(boot), "--cmdline", str(cmdline), "--state", str(state)]
    env = sandbox_env(lane_env, "kiosk-update-commit.service", tmp_path / "rules")

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "kiosk.cli", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert ran_under(done.stderr, "kiosk-update-commit.service"), done.stderr
        return done

    assert run("update", "--pending", *where).returncode == 0
    verify = run("journal", "verify")
    assert verify.returncode == 0 and "OK" in verify.stdout, verify.stderr
    ready_of(start_core(), state)
    done = run("update", "--commit", "--settle", "1", "--settle-timeout", "60", *where)
    assert done.returncode == 0 and "slot B is now the default" in done.stderr, done.stderr
    assert (boot / "config.txt").read_text().splitlines()[0] == "os_prefix=slot-b/"
    assert not (boot / "tryboot.txt").exists()
    assert json.loads((state / "update.json").read_text())["status"] == "committed"
    assert run("update", "--pending", *where).returncode == 1


def test_firstboot_provisions_under_its_rules(tmp_path):
    """`kiosk provision` as kiosk-firstboot runs it (root, under the unit's filter with
    @chown let back in): the lane is applied and the keys belong to kiosk-core."""
    if os.geteuid() != 0:
        pytest.skip("provisioning hands the keys to kiosk-core only as root")
    root = tmp_path / "root"
    (root / "etc" / "kiosk").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0::/root:/bin/bash\nkiosk-core:x:990:990::/var/lib/kiosk:/usr/sbin/nologin\n")
    (root / "etc" / "hosts").write_text("127.0.0.1\tlocalhost\n")
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "kiosk-provision.toml").write_text(GOOD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "provision", "--boot", str(boot),
                           "--root", str(root)],
                          env=sandbox_env(env, "kiosk-firstboot.service", tmp_path / "rules"),
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ran_under(done.stderr, "kiosk-firstboot.service")
    assert done.returncode == 0, done.stderr
    key = root / "etc" / "kiosk" / "keys" / "acquirer-ca.pem"
    assert key.read_text() == PEM and key.stat().st_uid == 990
    assert not (boot / "kiosk-provision.toml").exists()
