"""A renewed e-receipt certificate is served without a restart (:class:`ServerTls`).

The real :class:`EReceiptServer` on 127.0.0.1 with real certificates: the first pair from a
test CA (:func:`tests.backoffice.sync.tls.make_tls`, as the other TLS tests), the renewals
from :mod:`tests.fixtures.certs`. Each file is put in place as an installer does (written
beside it, then renamed over it). The service's clock is the test's: the files are looked at
again when the test moves it on by :data:`TLS_CHECK_S`, so no sleep and no race with the
writes. A client reads the certificate it was served from the handshake.
"""

from __future__ import annotations

import http.client
import logging
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from kiosk.printing.ereceipt import load_key
from kiosk.services.ereceipt import TLS_CHECK_S, EReceiptServer, ServerTls
from tests.backoffice.sync.tls import make_tls
from tests.fixtures.certs import DAY, NOW, key_pem, pem, write

RENEWED = pem("127.0.0.1", NOW - DAY, NOW + 400 * DAY)   # its key: key_pem()


class Clock:
    """The server's monotonic clock, moved on by the test only."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def next_check(self) -> None:
        self.now += TLS_CHECK_S


@dataclass
class Lane:
    cert: Path      # ereceipt.tls_cert
    key: Path       # ereceipt.tls_key
    first: bytes    # the certificate (PEM) served at start
    port: int
    clock: Clock


@pytest.fixture
def lane(config, tmp_path: Path):
    first = make_tls(tmp_path / "ca")
    cert, key = tmp_path / "etc" / "tls.pem", tmp_path / "etc" / "tls.key"
    install(cert, first.cert.read_bytes())
    install(key, first.key.read_bytes(), 0o600)
    clock = Clock()
    server = EReceiptServer(("127.0.0.1", 0), load_key(tmp_path / "k", create=True),
                            config.receipts_dir, tls=ServerTls(cert, key, clock=clock))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield Lane(cert, key, cert.read_bytes(), server.server_address[1], clock)
    server.shutdown()
    server.server_close()
    thread.join(10)


def install(path: Path, data: bytes, mode: int = 0o644) -> None:
    """``data`` at ``path`` in one step: written beside it, then renamed over it."""
    tmp = path.with_name(path.name + ".new")
    write(tmp, data, mode)
    os.replace(tmp, path)


def connect(port: int) -> tuple[http.client.HTTPSConnection, x509.Certificate]:
    """A client that trusts anything (only which certificate it gets matters here)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    conn.connect()
    return conn, x509.load_der_x509_certificate(conn.sock.getpeercert(binary_form=True))


def answered(conn: http.client.HTTPSConnection) -> int:
    conn.request("GET", "/r/not-a-link")
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def served(port: int) -> x509.Certificate:
    """The certificate a new client is served; the service answers it (404: no such link)."""
    conn, cert = connect(port)
    assert answered(conn) == 404
    return cert


def same(cert: x509.Certificate, data: bytes) -> bool:
    return cert == x509.load_pem_x509_certificate(data)


def lines(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "kiosk.ereceipt" and r.levelno == level]


def test_a_renewed_certificate_is_served_to_new_clients_without_a_restart(lane, caplog):
    caplog.set_level(logging.INFO, logger="kiosk.ereceipt")
    assert same(served(lane.port), lane.first)
    open_before, its_cert = connect(lane.port)
    install(lane.cert, RENEWED)
    install(lane.key, key_pem(), 0o600)
    assert same(served(lane.port), lane.first)   # not looked at before the interval is over

    lane.clock.next_check()
    renewed = served(lane.port)
    assert same(renewed, RENEWED) and renewed.not_valid_after_utc.date() == (
        NOW + 400 * DAY).date()
    assert lines(caplog, logging.INFO).count(
        f"TLS certificate reloaded from {lane.cert}: CN=127.0.0.1, valid until"
        f" {renewed.not_valid_after_utc:%Y-%m-%d %H:%M} UTC") == 1
    assert lines(caplog, logging.ERROR) == []
    # the connection made before the renewal keeps its certificate and is answered
    assert same(its_cert, lane.first) and answered(open_before) == 404


class Reloaded(logging.Handler):
    """Set once the service logs that it took a renewed certificate."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("TLS certificate reloaded"):
            self.seen.set()


def test_a_renewal_is_taken_and_logged_with_no_client_connecting(lane):
    """The serve loop looks too: the technician sees the line in the journal at once."""
    logger = logging.getLogger("kiosk.ereceipt")
    reloaded = Reloaded()
    logger.addHandler(reloaded)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        install(lane.cert, RENEWED)
        install(lane.key, key_pem(), 0o600)
        lane.clock.next_check()
        assert reloaded.seen.wait(10)
    finally:
        logger.removeHandler(reloaded)
        logger.setLevel(level)
    assert same(served(lane.port), RENEWED)


def test_a_broken_renewal_keeps_the_old_certificate_and_says_so_once(lane, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="kiosk.ereceipt")
    other = make_tls(tmp_path / "other")
    install(lane.cert, RENEWED)
    install(lane.key, other.key.read_bytes(), 0o600)   # a key, not this certificate's
    for _ in range(3):   # looked at three times, one change: one line
        lane.clock.next_check()
        assert same(served(lane.port), lane.first)
    errors = lines(caplog, logging.ERROR)
    assert len(errors) == 1, errors
    assert errors[0].startswith("renewed TLS certificate not used, the previous one is still"
                                f" served (tried again when {lane.cert} or {lane.key} change):")
    assert "KEY_VALUES_MISMATCH" in errors[0]

    install(lane.cert, b"-----BEGIN CERTIFICATE-----\ngarbage\n")   # another bad change
    lane.clock.next_check()
    assert same(served(lane.port), lane.first)
    assert len(lines(caplog, logging.ERROR)) == 2

    install(lane.cert, RENEWED)
    install(lane.key, key_pem(), 0o600)
    lane.clock.next_check()
    assert same(served(lane.port), RENEWED)
    assert len(lines(caplog, logging.ERROR)) == 2
    assert [line for line in lines(caplog, logging.INFO)
            if line.startswith("TLS certificate reloaded")] == [
        f"TLS certificate reloaded from {lane.cert}: CN=127.0.0.1, valid until"
        f" {NOW + 400 * DAY:%Y-%m-%d %H:%M} UTC"]


def test_a_renewed_key_readable_by_others_is_refused_until_chmod_600(lane, caplog):
    caplog.set_level(logging.INFO, logger="kiosk.ereceipt")
    install(lane.cert, RENEWED)
    install(lane.key, key_pem(), 0o644)
    lane.clock.next_check()
    assert same(served(lane.port), lane.first)
    lane.clock.next_check()
    assert same(served(lane.port), lane.first)
    assert lines(caplog, logging.ERROR) == [
        f"renewed TLS certificate not used, the previous one is still served (tried again when"
        f" {lane.cert} or {lane.key} change): e-receipt TLS key {lane.key} has mode 0644:"
        f" chmod 600 {lane.key}"]

    lane.key.chmod(0o600)   # the fix the line names: no new content, the mode only
    lane.clock.next_check()
    assert same(served(lane.port), RENEWED)
    assert len(lines(caplog, logging.ERROR)) == 1
