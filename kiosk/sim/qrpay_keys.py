"""The demo key material of ``kiosk sim qrpay``: a private CA, the gateway's TLS certificate,
a client certificate for mutual TLS, the RSA pairs of Alipay's scheme (merchant and
platform) and the HMAC key of WeChat's and the generic one.

Everything goes to ``<dir>`` (``<state_dir>/qrpay``, where the lane's wallet options look by
default), private files mode 0600; every file is marked as a demo one
(:data:`~kiosk.payments.wallet.config.DEMO_MARK`, or the ``demo-`` prefix of the HMAC key),
so a production lane refuses them. Files already there are reused (a restart keeps the keys
the lane knows); the TLS certificates are made anew when they are near their end.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.payments.wallet.config import DEMO_MARK, DEMO_SECRET_PREFIX

MARK = (DEMO_MARK + "\n").encode()


@dataclass(frozen=True)
class DemoFiles:
    dir: Path

    def __getattr__(self, name: str) -> Path:   # ca_pem → <dir>/ca.pem, merchant_key → ...
        stem, _, ext = name.rpartition("_")
        return self.dir / f"{stem.replace('_', '.')}.{ext}"


def _write(path: Path, data: bytes, private: bool) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _pem_key(key, private: bool = True) -> bytes:
    if private:
        return MARK + key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return MARK + key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _load_key(path: Path):
    return serialization.load_pem_private_key(path.read_bytes(), None)


def _cert(subject: str, key, issuer_key, issuer: x509.Certificate | None, *, ca: bool,
          usage: x509.ObjectIdentifier | None = None, days: int = 30) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.subject if issuer is not None else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True).add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False) \
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _fresh(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=2)


def make_demo_keys(directory: Path) -> DemoFiles:
    """Make (or keep) the demo files in ``directory``; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(directory)
    pem = serialization.Encoding.PEM
    if not (_fresh(files.ca_pem) and files.ca_key.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("kiosk qrpay demo CA", ca_key, ca_key, None, ca=True, days=60)
        _write(files.ca_key, _pem_key(ca_key), True)
        _write(files.ca_pem, MARK + ca.public_bytes(pem), False)
        for stale in (files.server_pem, files.client_pem):
            stale.unlink(missing_ok=True)
    ca_key = _load_key(files.ca_key)
    ca = x509.load_pem_x509_certificate(files.ca_pem.read_bytes())
    for stem, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH),
                        ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        if _fresh(cert_path) and key_path.exists():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"kiosk qrpay demo {stem}", key, ca_key, ca, ca=False, usage=usage)
        _write(key_path, _pem_key(key), True)
        _write(cert_path, MARK + cert.public_bytes(pem), False)
    for stem in ("merchant", "gateway"):
        key_path = directory / f"{stem}.key"
        if not key_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write(key_path, _pem_key(key), True)
            _write(directory / f"{stem}.pub.pem", _pem_key(key.public_key(), False), False)
    if not files.hmac_key.exists():
        _write(files.hmac_key, (DEMO_SECRET_PREFIX + secrets.token_hex(24) + "\n").encode(),
               True)
    return files


def lane_options(files: DemoFiles, dialect: str, url: str, *, notify_url: str = "",
                 mtls: bool = False, **extra: object) -> dict:
    """The ``[payments.options.qr]`` a lane uses to reach the simulator with these keys."""
    opts: dict = {"dialect": dialect, "url": url, "app_id": "kiosk-demo",
                  "merchant_id": "1900000109" if dialect == "wechat" else "",
                  "terminal_id": "lane1", "ca_file": str(files.ca_pem),
                  "sign_key_file": str(files.merchant_key if dialect == "alipay"
                                       else files.hmac_key)}
    if dialect == "alipay":
        opts["gateway_public_key_file"] = str(files.gateway_pub_pem)
    if notify_url:
        opts["notify_url"] = notify_url
    if mtls:
        opts.update(client_cert_file=str(files.client_pem), client_key_file=str(files.client_key))
    opts.update(extra)
    return opts
