"""Fixtures: one `kiosk sim qrpay` (in process, HTTPS on loopback, short scenario timings)
and lane-side gateways of each dialect pointed at it."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.payments.wallet.client import GatewayClient, open_gateway
from kiosk.payments.wallet.config import WalletOptions
from kiosk.payments.wallet.gateway import GatewayAnswer, WalletOrder
from kiosk.sim.qrpay import QrPaySim, code_for, ledger_events

DIALECTS = ("generic", "alipay", "wechat")
#: the code shape each dialect's wallet shows (generic: any; WeChat's here)
CODE_KIND = {"generic": "wechat", "alipay": "alipay", "wechat": "wechat"}
_serial = itertools.count(1)


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qrpay")


@pytest.fixture(scope="session")
def sim(sim_dir: Path):
    with QrPaySim(sim_dir, confirm_after_s=0.3, scan_after_s=0.2, slow_s=0.4, down_s=0.4,
                  notify_retry_s=0.1) as running:
        yield running


@pytest.fixture(scope="session")
def gateway(sim: QrPaySim, sim_dir: Path) -> Callable[..., GatewayClient]:
    """A lane-side gateway of ``dialect`` with these options (one per set of options:
    loading an RSA key is checked, and slow); ``fresh``: a new one (no pooled connection)."""
    opened: dict[tuple, GatewayClient] = {}

    def make(dialect: str, fresh: bool = False, **extra: object) -> GatewayClient:
        opts = {"retries": 2, "retry_backoff_s": 0.05, "read_timeout_s": 5.0,
                "reverse_min_delay_s": 0.0, **extra}
        key = (dialect, *sorted(opts.items()), next(_serial) if fresh else 0)
        if key not in opened:
            opened[key] = open_gateway(WalletOptions(**sim.lane_options(dialect, **opts)),
                                       sim_dir)
        return opened[key]

    yield make
    for gw in opened.values():
        gw.close()


def new_order_no(tag: str = "T") -> str:
    return f"K{tag}{time.strftime('%H%M%S')}{next(_serial):05d}"


def new_code(scenario: str, dialect: str) -> str:
    return code_for(scenario, CODE_KIND[dialect], next(_serial) * 7919)


def order(scenario: str, dialect: str, amount: int = 1234) -> WalletOrder:
    return WalletOrder(new_order_no(), amount, "CNY", "Demo store lane 1",
                       new_code(scenario, dialect))


def poll(gw: GatewayClient, order_no: str, done: Callable[[GatewayAnswer], bool],
         timeout: float = 10.0, every: float = 0.05) -> GatewayAnswer:
    """Query until ``done`` (what the method does every poll_interval_s)."""
    end = time.monotonic() + timeout
    while True:
        answer = gw.query(order_no)
        if done(answer) or time.monotonic() > end:
            return answer
        time.sleep(every)


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> object:
    """``condition()`` once true (checked every 20 ms), or its last value at the timeout."""
    end = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < end:
        time.sleep(0.02)
    return value


def order_events(sim: QrPaySim, order_no: str, event: str | None = None) -> list[dict]:
    return [r for r in ledger_events(sim.ledger_path, event) if r.get("order_no") == order_no]


class Listener:
    """The lane's notification listener, as kiosk-core runs one: what a gateway posts is
    verified by the gateway object, and answered with the dialect's word."""

    def __init__(self) -> None:
        self.gateway: GatewayClient | None = None
        self.received: queue.Queue = queue.Queue()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gw = listener.gateway
                note = gw.verify_notification(dict(self.headers.items()), body) if gw else None
                listener.received.put(note)
                reply = gw.notification_reply(note is not None) if gw else None
                payload = reply.body if reply else b""
                self.send_response(200)
                self.send_header("Content-Type", reply.content_type if reply else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    lis = Listener()
    yield lis
    lis.close()
