"""`kiosk voice run` as its own process (as under systemd): READY, WATCHDOG, WAV input, and
the seccomp rules of kiosk-voice.service (tests/systemd/sandbox.py) applied to it: Vosk
decodes, espeak-ng speaks (a child process, under the same filter)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fixtures.sample_items import KIMCHI
from tests.harness import REPO
from tests.systemd.notify_listener import NotifyListener
from tests.systemd.sandbox import ran_under, sandbox_env
from tests.voice_ux.test_voice_purchase import clips  # noqa: F401 - a fixture

pytestmark = [pytest.mark.voice, pytest.mark.integration]


def test_voice_cli_buys_by_voice_and_notifies_systemd(start_core, shopper, lane_env, clips,  # noqa: F811
                                                      tmp_path: Path) -> None:
    start_core(KIOSK__TIMEOUTS__RECEIPT_CHOICE_S="120")
    shopper.wait_online()
    assert shopper.send("start", locale="ko")["ok"]
    assert shopper.send("scan", code=KIMCHI)["ok"]
    shopper.wait_state(lambda s: s["state"] == "shopping" and s["lines"])
    with NotifyListener(abstract=True) as notify:
        env = sandbox_env(dict(lane_env, NOTIFY_SOCKET=notify.address,
                               WATCHDOG_USEC="2000000"),
                          "kiosk-voice.service", tmp_path / "rules")
        proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "kiosk.cli", "voice", "run",
             "--tts-out", str(tmp_path / "tts"),
             "--wav", f"{clips['pay']}@shopping", "--wav", f"{clips['receipt']}@approved",
             "--exit-when-done"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen = notify.wait_for("READY=1", timeout=90)
            assert any("READY=1" in m for m in seen)
            notify.wait_for("WATCHDOG=1", timeout=10, count=2)
            # keep draining, as systemd does: a full datagram queue would block the pings
            drained = threading.Event()
            drain = threading.Thread(target=lambda: [notify.recv(0.2) for _ in iter(
                drained.is_set, True)], daemon=True)
            drain.start()
            try:
                st = shopper.wait_state(lambda s: s["state"] == "receipt", timeout=90)
            except TimeoutError:
                proc.send_signal(signal.SIGABRT)  # -X faulthandler: where it hangs
                out, err = proc.communicate(timeout=30)
                raise AssertionError(f"no receipt state; voice said: {out} {err[-3000:]}"
                                     ) from None
            out, err = proc.communicate(timeout=60)
            drained.set()
            drain.join(5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == 0, err
    assert ran_under(err, "kiosk-voice.service")
    assert st["payment"]["receipt_choice"] == "print"
    assert "heard: pay_card receipt; sent: checkout pay receipt" in out
    assert sorted((tmp_path / "tts").glob("speaker-*.wav"))  # the prompts were spoken


def test_bad_wav_is_a_clear_error(lane_env, tmp_path: Path) -> None:
    rate = tmp_path / "cd.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", "-b", "16", str(rate), "trim", "0",
                    "0.2"], check=True)
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    for path, message in ((rate, "need 16000 Hz mono 16-bit, got 44100 Hz, 1 channel(s)"),
                          (junk, "not a WAV file")):
        done = subprocess.run([sys.executable, "-m", "kiosk.cli", "voice", "run", "--tts-out",
                               str(tmp_path / "tts"), "--wav", str(path)], env=lane_env,
                              cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert message in done.stderr
