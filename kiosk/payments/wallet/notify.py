"""The wallet notification listener: where a gateway posts a merchant-presented order's result.

A small HTTP server on a thread of kiosk-core's process (loopback or the lane network, behind
the store's HTTPS front or a tunnel the gateway reaches). A POST body is handed to the
gateway's :meth:`~kiosk.payments.wallet.gateway.WalletGateway.verify_notification`: only a
notification whose signature verifies counts, and it only wakes the waiting attempt, which
treats it like a query's answer (polling remains the fallback for one that never comes).
The answer is the dialect's reply (``notification_reply``); nothing of the body is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kiosk.payments.wallet.gateway import GatewayAnswer, WalletGateway

log = logging.getLogger("kiosk.payments.wallet.notify")
MAX_BODY = 64 * 1024


class NotifyListener:
    def __init__(self, host: str, port: int, gateway: WalletGateway,
                 on_notification: Callable[[str, GatewayAnswer], None]) -> None:
        self.gateway = gateway
        self.on_notification = on_notification
        self.accepted = 0
        self.refused = 0
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    self.send_error(413 if length else 411)
                    return
                body = self.rfile.read(length)
                accepted = listener.handle({k: v for k, v in self.headers.items()}, body)
                kind, payload = "text/plain", b"success"
                reply = getattr(listener.gateway, "notification_reply", None)
                if reply is not None:  # the dialect's own word (WeChat XML, Alipay text)
                    answer = reply(accepted)
                    kind, payload = answer.content_type, answer.body
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass  # no request lines (order numbers, addresses) in the journal of logs

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        name="wallet-notify", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, headers: dict[str, str], body: bytes) -> bool:
        try:
            note = self.gateway.verify_notification(headers, body)
        except Exception as exc:  # a broken body is a refused notification, nothing more
            log.warning("wallet notification unreadable: %s", type(exc).__name__)
            note = None
        if note is None:
            self.refused += 1
            log.warning("wallet notification refused (signature)")
            return False
        self.accepted += 1
        self.on_notification(note.order_no, note.answer)
        return True
