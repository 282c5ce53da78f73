"""kiosk-metrics exports when each certificate file the lane relies on expires, and the shipped
rules page on an expired one and ticket one that expires within 30 days: a real exporter on a
lane whose configuration names real PEM files (made with ``cryptography``), scraped by the real
Prometheus with config/prometheus/kiosk-rules.yml."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from tests.fixtures.certs import DAY, NOW, pem, write
from tests.metrics.prom import Exporter, Prometheus
from tests.metrics.test_metrics_endpoint import scrape


def test_each_files_earliest_expiry_is_exported_and_alerted(lane_env, tmp_path):
    certs = tmp_path / "certs"
    # a bundle: the earliest of its two counts; 10 days left
    bundle = pem("office root", NOW - DAY, NOW + 365 * DAY) + pem("office CA", NOW - DAY,
                                                                  NOW + 10 * DAY)
    office = write(certs / "office-ca.pem", bundle)
    expired = write(certs / "receipts.pem", pem("receipts", NOW - 90 * DAY, NOW - 2 * DAY))
    garbage = write(certs / "gateway-ca.pem", b"not a certificate")
    env = dict(lane_env,
               KIOSK__SYNC__URL="https://127.0.0.1:1", KIOSK__SYNC__CA_FILE=office,
               KIOSK__STORE__E_RECEIPT_URL="https://127.0.0.1:8088/r/{txn}",
               KIOSK__ERECEIPT__TLS_CERT=expired, KIOSK__ERECEIPT__TLS_KEY=expired,
               KIOSK__PAYMENTS__OPTIONS__QR=f'{{ca_file = "{garbage}"}}')
    exporter = Exporter(env, tmp_path / "metrics.log").start()
    try:
        got = {labels: value for (name, labels), value in scrape(exporter.port).items()
               if name == "kiosk_certificate_expiry_seconds"}
        first_of_bundle = x509.load_pem_x509_certificates(bundle)[1].not_valid_after_utc
        assert got == {
            (("file", office), ("key", "sync.ca_file")): first_of_bundle.timestamp(),
            (("file", expired), ("key", "ereceipt.tls_cert")):
                x509.load_pem_x509_certificate(Path(expired).read_bytes()
                                               ).not_valid_after_utc.timestamp(),
        }  # the garbage file is left out (kiosk doctor names it), never invented
        assert "payments.options.qr.ca_file" in (tmp_path / "metrics.log").read_text()

        (tmp_path / "prom").mkdir()
        prom = Prometheus(tmp_path / "prom", [exporter.target])
        try:
            prom.wait("fired both", lambda: prom.active("KioskCertificateExpired",
                                                        {"key": "ereceipt.tls_cert"})
                      and prom.active("KioskCertificateExpiring", {"key": "sync.ca_file"}),
                      timeout=30)
            # each file fires its own rule only
            assert not prom.active("KioskCertificateExpiring", {"key": "ereceipt.tls_cert"})
            assert not prom.active("KioskCertificateExpired", {"key": "sync.ca_file"})
        finally:
            prom.stop()
    finally:
        exporter.stop()

