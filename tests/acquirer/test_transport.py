"""TLS with a pinned CA works; a wrong CA fails; plain TCP to a non-loopback host is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.config import ConfigError, load_config
from kiosk.payments.acquirer import AcquirerError, AcquirerLink
from kiosk.payments.acquirer_config import AcquirerConfig
from kiosk.payments.hostlog import HostLog
from kiosk.payments.iso8583 import load_dialect
from tests.acquirer.conftest import sale


def _ca(tmp: Path, name: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    path = tmp / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def _server_cert(tmp: Path, ca_key, ca_cert) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acquirer")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tmp / "server.pem", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_sim(start_sim, tmp_path):
    ca_key, ca_cert, ca_path = _ca(tmp_path, "pinned-ca")
    _, _, other_ca = _ca(tmp_path, "other-ca")
    sim = start_sim(tls=_server_cert(tmp_path, ca_key, ca_cert))
    return sim, ca_path, other_ca


def test_tls_with_pinned_ca(tls_sim, make_link):
    sim, ca, _ = tls_sim
    link = make_link(sim.port, plain_tcp_simulator_only=False, ca_file=ca,
                     server_hostname="localhost")
    assert link.authorize(sale(1)).outcome == "approved"
    assert link._sock.version() in ("TLSv1.2", "TLSv1.3")
    assert link.sign_on()


def test_tls_with_wrong_ca_fails_before_anything_is_sent(tls_sim, make_link):
    sim, _, other = tls_sim
    link = make_link(sim.port, plain_tcp_simulator_only=False, ca_file=other,
                     server_hostname="localhost")
    answer = link.authorize(sale(2))
    assert answer.outcome == "unavailable" and link.store.get("idem-2-a") is None
    assert "unknown ca" in sim.wait_event("tls_refused")["error"].lower()
    assert sim.events("received") == []


def test_tls_with_wrong_hostname_fails(tls_sim, make_link):
    sim, ca, _ = tls_sim
    link = make_link(sim.port, plain_tcp_simulator_only=False, ca_file=ca,
                     server_hostname="acquirer.example.com")
    assert link.authorize(sale(3)).outcome == "unavailable"
    assert sim.events("received") == []


def test_plain_client_cannot_talk_to_tls_host(tls_sim, make_link):
    sim, _, _ = tls_sim
    answer = make_link(sim.port, response_timeout_s=1).authorize(sale(4))
    assert answer.outcome in ("unknown", "unavailable")
    assert sim.events("received") == []


def test_plain_tcp_to_non_loopback_host_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="plain TCP is only for the simulator"):
        AcquirerConfig(host="10.20.30.40")
    with pytest.raises(ValidationError, match="TLS needs a pinned CA"):
        AcquirerConfig(host="10.20.30.40", plain_tcp_simulator_only=False)
    # even a config that skipped validation cannot open plain TCP to a real host
    bad = AcquirerConfig.model_construct(**{**AcquirerConfig().model_dump(),
                                            "host": "10.20.30.40"})
    with pytest.raises(AcquirerError, match="refusing plain TCP to 10.20.30.40"):
        AcquirerLink(bad, load_dialect("default"), HostLog(tmp_path / "h.sqlite"))


def test_config_layer_names_the_bad_acquirer_host(tmp_path):
    env = {"KIOSK__PATHS__STATE_DIR": str(tmp_path), "KIOSK__ACQUIRER__HOST": "acq.example.com"}
    with pytest.raises(ConfigError) as err:
        load_config(site_dir=tmp_path / "none", environ=env)
    text = str(err.value)
    assert "acquirer" in text and "plain TCP is only for the simulator" in text
    assert "\n" not in text
