"""`kiosk sim qrpay` as a command: it prints where it serves, a lane configured with what
`--print-options` prints pays through it, and the ledger records the payment."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import tomllib

from kiosk.cli import build_parser
from kiosk.payments.wallet.client import open_gateway
from kiosk.payments.wallet.config import WalletOptions
from kiosk.payments.wallet.gateway import WalletOrder
from kiosk.sim.qrpay import code_for, ledger_summary


def _kiosk(*args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk.cli", *args]


def test_sim_qrpay_command(tmp_path):
    state = tmp_path / "state"
    printed = subprocess.run(_kiosk("sim", "qrpay", "--state-dir", str(state), "--port", "0",
                                    "--print-options", "alipay"),
                             capture_output=True, text=True, timeout=60, check=True).stdout
    opts = tomllib.loads(printed)["payments"]["options"]["qr"]
    assert opts["dialect"] == "alipay" and opts["url"].startswith("https://127.0.0.1:")
    proc = subprocess.Popen(_kiosk("sim", "qrpay", "--state-dir", str(state), "--port", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        ready = json.loads(lines.get(timeout=60))
        assert ready["ready"] and ready["scenarios"]["04"] == "system_error_then_success"
        opts["url"] = ready["url"]                 # --port 0: the port it got
        gw = open_gateway(WalletOptions(**opts), state)
        order = WalletOrder("KCLI1", 2500, "CNY", "Demo lane", code_for("success", "alipay"))
        answer = gw.pay(order)
        assert (answer.transport, answer.trade, answer.paid_amount) == ("ok", "paid", 2500)
        gw.close()
        assert ledger_summary(ready["ledger"])["KCLI1"]["paid"] == 1
    finally:
        proc.terminate()
        proc.wait(10)
    assert order.code not in proc.stderr.read()


def test_sim_qrpay_serves_loopback_only(tmp_path, capsys):
    args = build_parser().parse_args(["sim", "qrpay", "--state-dir", str(tmp_path), "--host",
                                      "0.0.0.0", "--port", "0"])
    assert args.fn(args) == 2
    assert "loopback only" in capsys.readouterr().err
