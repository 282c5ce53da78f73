"""kiosk-ereceipt (``kiosk ereceipt serve``): the lane's e-receipt pages for shoppers' phones.

``GET /r/<token>`` (the link :mod:`kiosk.printing.ereceipt` signs) answers the kept receipt
(:mod:`kiosk.printing.store`, read only) as a page in its language
(:mod:`kiosk.printing.ereceipt_page`). A link that opens nothing gets a clear page: 403 when
its signature does not check, 410 when it has expired, 404 when it is malformed or its
receipt is not kept here; anything else 404, a method but GET/HEAD 405. Every answer carries
the page's Content-Security-Policy, ``Referrer-Policy: no-referrer``, ``nosniff`` and
``no-store``. The token is a bearer secret: the access log names the status and the
receipt id, never the token. A request that breaks anything answers 500 and the service
goes on (one thread per request, at most :data:`MAX_CLIENTS` at once, a read timeout
against a slow client).

HTTPS of its own with ``ereceipt.tls_cert`` and ``ereceipt.tls_key`` (TLS 1.2 or newer,
:func:`tls_context`; the key file the service user's, 0600, and on a production lane not a
demo one): the TLS handshake is done in the request's thread under the same read timeout,
so a client that stalls or sends garbage costs one thread, never the accept loop, and a
plain-HTTP request to that port gets the connection closed, no page. A renewed certificate
needs no restart: :class:`ServerTls` looks at the two files (inode, size, times, mode) at
most every :data:`TLS_CHECK_S` seconds, from the handshake and from the serve loop, and
when they changed builds a new context with the same checks; new connections get it, open
ones keep theirs. A renewal that does not pass (half written, the key not the
certificate's, a loose key) logs one error line and the previous certificate goes on
serving until the files change again. Without ``tls_cert``/``tls_key`` it speaks plain
HTTP, and only on a loopback ``listen_host`` (behind a local TLS proxy): :func:`check_listen`
refuses anything else at start, as ``kiosk backoffice serve`` does.

The stdlib's ThreadingHTTPServer: a handful of phones per lane needs no framework. systemd:
``Type=notify``, READY=1 once listening, WATCHDOG=1 from the serve loop (kiosk/ops/sdnotify.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kiosk.config import KioskConfig, load_config_or_exit
from kiosk.domain.addresses import is_loopback
from kiosk.ops import sdnotify
from kiosk.payments.wallet.config import WalletConfigError, is_demo, read_secret_file
from kiosk.printing.ereceipt import CREDENTIAL, KeyFileError, LinkError, load_key, read_token
from kiosk.printing.ereceipt_page import CSP, error_page, receipt_page
from kiosk.printing.store import ReceiptNotFound, ReceiptStore
from kiosk.security.certificates import expiries

log = logging.getLogger("kiosk.ereceipt")
PREFIX = "/r/"
READ_TIMEOUT_S = 10
MAX_CLIENTS = 32   # requests served at once (a lane's handful of phones, with room)
TLS_CHECK_S = 5.0  # how often, at most, the certificate files are looked at for a renewal


class EReceiptServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 32

    def __init__(self, address: tuple[str, int], key: bytes, receipts_dir: Path,
                 watchdog: sdnotify.Watchdog | None = None,
                 max_clients: int = MAX_CLIENTS, tls: ServerTls | None = None) -> None:
        self.key = key
        self.tls = tls
        self.store = ReceiptStore(receipts_dir)
        self.watchdog = watchdog
        self._slots = threading.BoundedSemaphore(max_clients)
        super().__init__(address, Handler)

    def process_request(self, request, client_address) -> None:  # noqa: ANN001
        """One thread per client up to ``max_clients``; beyond, the connection is closed at
        once (a phone retries) rather than a thread started for it."""
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:  # noqa: ANN001
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request, client_address) -> None:  # noqa: ANN001
        """With TLS, the handshake here, in the request's thread (never in the accept loop),
        under the read timeout; one that fails (a plain-HTTP request, garbage, a client that
        stalls) closes that connection only."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(READ_TIMEOUT_S)
        try:
            conn = self.tls.current().wrap_socket(request, server_side=True,
                                                  do_handshake_on_connect=False)
        except OSError:
            return   # the client is gone already
        try:
            conn.do_handshake()
        except (OSError, ValueError) as exc:   # ssl.SSLError and socket timeouts are OSErrors
            log.info("TLS handshake failed: %s", getattr(exc, "reason", None)
                     or type(exc).__name__)
            conn.close()
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            self.shutdown_request(conn)   # the plain socket ``request`` is detached now

    def service_actions(self) -> None:  # called by serve_forever's loop, the main thread
        if self.watchdog is not None:
            self.watchdog.tick()
        if self.tls is not None:
            self.tls.current()   # a renewal is taken (and logged) without a phone connecting

    def page(self, path: str) -> tuple[int, str, str]:
        """(status, html, receipt id for the log) of a request path."""
        path = urlsplit(path).path
        if not path.startswith(PREFIX):
            return (*error_page("unknown"), "-")
        token = unquote(path[len(PREFIX):])
        try:
            claim = read_token(self.key, token)
        except LinkError as exc:
            return (*error_page(exc.reason, exc.lang), "-")
        try:
            receipt = self.store.load(claim.txn)
        except ReceiptNotFound:
            return (*error_page("unknown", claim.lang), claim.txn)
        return 200, receipt_page(receipt), claim.txn


class Handler(BaseHTTPRequestHandler):
    server: EReceiptServer
    server_version = "kiosk-ereceipt"
    sys_version = ""
    timeout = READ_TIMEOUT_S
    protocol_version = "HTTP/1.0"
    _txn = "-"

    def do_GET(self) -> None:  # noqa: N802 - the http.server convention
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        try:
            status, html, self._txn = self.server.page(self.path)
        except Exception as exc:  # a kept receipt that fails to load or render
            log.error("e-receipt page failed: %s", type(exc).__name__)
            status, html = error_page("error")
        self._send(status, html, body)

    def _send(self, status: int, html: str, body: bool = True,
              extra: dict[str, str] | None = None) -> None:
        data = html.encode("utf-8")
        self.send_response(status)
        for name, value in {"Content-Type": "text/html; charset=utf-8",
                            "Content-Length": str(len(data)),
                            "Content-Security-Policy": CSP,
                            "Referrer-Policy": "no-referrer",
                            "X-Content-Type-Options": "nosniff",
                            "X-Frame-Options": "DENY",
                            "Cross-Origin-Resource-Policy": "same-origin",
                            "Cache-Control": "no-store", **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _not_allowed(self) -> None:
        status, html = error_page("unknown")
        self._send(405, html, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own errors (a bad request line, a header too long) as our page."""
        self.close_connection = True
        try:
            self._send(code, error_page("malformed")[1], self.command != "HEAD")
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # never self.path: the token in it opens the receipt
        log.info("%s %s %s", getattr(self, "command", "-"), code, self._txn)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("http: " + format, *args)


def serve_key(config: KioskConfig) -> bytes:
    """The signing key: systemd's credential when there is one, else ``ereceipt.key_file``
    (never created here: kiosk-core makes it)."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    path = Path(creds) / CREDENTIAL if creds else config.ereceipt_key_file
    return load_key(path)


class ListenError(ValueError):
    """Where or how the service cannot listen; the message is one line."""


def check_listen(host: str, cert: Path | None, key: Path | None) -> None:
    """Both of ``ereceipt.tls_cert``/``tls_key`` or neither; plain HTTP on loopback only."""
    if (cert is None) != (key is None):
        raise ListenError("set both ereceipt.tls_cert and ereceipt.tls_key, or neither")
    if cert is None and not is_loopback(host):
        raise ListenError(f"{host} is not a loopback address: ereceipt.tls_cert and"
                          " ereceipt.tls_key (HTTPS) are required for any other")


def tls_context(cert: Path, key: Path, production: bool = False) -> ssl.SSLContext:
    """The server's TLS (1.2 or newer) from ``cert`` (PEM chain) and ``key``; the key file
    must be the running user's and 0600 or stricter, and a production lane refuses the demo
    files of ``kiosk sim qrpay``. One-line :class:`ListenError` otherwise."""
    try:
        demo = [p for p, data in ((key, read_secret_file(key, "e-receipt TLS key")),
                                  (cert, cert.read_bytes())) if is_demo(data)]
    except WalletConfigError as exc:
        raise ListenError(str(exc)) from None
    except OSError as exc:
        raise ListenError(f"e-receipt TLS certificate {cert}: {exc.strerror or exc}") from None
    if production and demo:
        raise ListenError("security.production: ereceipt.tls_cert/tls_key are demo files of"
                          f" `kiosk sim qrpay` ({', '.join(map(str, demo))}): install the"
                          " store's certificate")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        why = getattr(exc, "reason", None) or exc
        raise ListenError(f"e-receipt TLS certificate {cert} with key {key}: not a PEM"
                          f" certificate chain and its key ({why})") from None
    return ctx


FileStamp = tuple[int, int, int, int, int, int, int] | None


def _stamp(path: Path) -> FileStamp:
    """What changes when a file is rewritten, replaced, chmod-ed or chown-ed (None: gone)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode,
            st.st_uid)


class ServerTls:
    """The server's TLS context, rebuilt when ``cert`` or ``key`` changes on disk.

    :meth:`current` is what a handshake uses. At most every ``check_s`` seconds (0: at every
    call) it stats the two files; when they differ from what was last looked at it builds a
    new context with :func:`tls_context`'s checks. One that fails keeps the previous context
    and logs one error line for that change; the next change is tried again. The first
    context is built here, so a pair that does not pass at start is a :class:`ListenError`.
    """

    def __init__(self, cert: Path, key: Path, production: bool = False,
                 check_s: float = TLS_CHECK_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cert, self.key, self.production = cert, key, production
        self.check_s, self._clock = check_s, clock
        self._lock = threading.Lock()
        self._stamps = self._files()   # before reading: a change while we read is seen next
        self._context = tls_context(cert, key, production)
        self._due = clock() + check_s

    def _files(self) -> tuple[FileStamp, FileStamp]:
        return _stamp(self.cert), _stamp(self.key)

    def current(self) -> ssl.SSLContext:
        """The context for a new connection: the latest pair of files that passed."""
        if self._clock() >= self._due:
            with self._lock:   # one thread looks; the others wait the few µs it takes
                if self._clock() >= self._due:
                    self._reload_if_changed()
                    # moved on once done: a caller meanwhile waits for the lock, and the
                    # new context, rather than take the old one
                    self._due = self._clock() + self.check_s
        return self._context

    def _reload_if_changed(self) -> None:
        stamps = self._files()
        if stamps == self._stamps:
            return
        self._stamps = stamps
        try:
            context = tls_context(self.cert, self.key, self.production)
            leaf = expiries(self.cert.read_bytes())[0]
        except Exception as exc:  # noqa: BLE001 - a renewal must never stop the serving
            why = str(exc) if isinstance(exc, ListenError) else f"{type(exc).__name__}: {exc}"
            log.error("renewed TLS certificate not used, the previous one is still served"
                      " (tried again when %s or %s change): %s", self.cert, self.key, why)
            return
        self._context = context
        log.info("TLS certificate reloaded from %s: %s, valid until %s", self.cert,
                 leaf.subject, f"{leaf.not_after:%Y-%m-%d %H:%M} UTC")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sub", required=True)
    serve = sub.add_parser("serve", help="serve the e-receipt pages (kiosk-ereceipt; HTTPS"
                           " with ereceipt.tls_cert/tls_key, plain HTTP on loopback only)")
    serve.add_argument("--host", help="listen address (default: ereceipt.listen_host; any but"
                       " loopback needs ereceipt.tls_cert/tls_key)")
    serve.add_argument("--port", type=int, help="port (default: ereceipt.listen_port)")


def serve_main(args: argparse.Namespace) -> int:
    """``kiosk ereceipt serve``: run until SIGTERM / SIGINT."""
    config = load_config_or_exit()
    if not config.store.e_receipt_url:
        print("ereceipt: store.e_receipt_url is not set: no e-receipt links to serve",
              file=sys.stderr)
        return 2
    try:
        key = serve_key(config)
    except KeyFileError as exc:
        print(f"ereceipt: {exc}", file=sys.stderr)
        return 2
    host = args.host or config.ereceipt.listen_host
    port = config.ereceipt.listen_port if args.port is None else args.port
    cert, tls_key = config.ereceipt.tls_cert, config.ereceipt.tls_key
    try:
        check_listen(host, cert, tls_key)
        tls = ServerTls(cert, tls_key, config.security.production) if cert else None
    except ListenError as exc:
        print(f"ereceipt: {exc}", file=sys.stderr)
        return 2
    server = EReceiptServer((host, port), key, config.receipts_dir, sdnotify.Watchdog(),
                            tls=tls)

    stop = sdnotify.stop_on_signals()
    # shutdown() waits for serve_forever to notice, so it is called from another thread
    threading.Thread(target=lambda: stop.wait() and server.shutdown(), name="ereceipt-stop",
                     daemon=True).start()
    bound = server.server_address
    scheme = "https" if tls else "http"
    print(f"ereceipt: listening on {scheme}://{bound[0]}:{bound[1]}", file=sys.stderr,
          flush=True)
    sdnotify.ready(f"listening on {bound[0]}:{bound[1]}")
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
    return 0
