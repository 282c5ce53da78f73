"""The certificate files a lane relies on, and when each certificate in them stops being valid.

:func:`lane_certificates` lists the files the configuration actually uses, each with the key
that names it and the service that reads it: the acquirer's pinned CA and client certificate
(card payments over TLS), the wallet gateway's CA and mutual-TLS certificate (paths inside the
state dir resolved as the wallet client does, :func:`kiosk.payments.wallet.config.resolve`),
the back office's CA (kiosk-sync), the e-receipt server's own certificate, and the store
broker's CA of the lane broker's bridge (``bridge_cafile``, :mod:`kiosk.bus.bridge`). A method
whose host the demo simulates in-process (:func:`kiosk.payments.registry.simulated_hosts`)
uses none of its files.

:func:`expiries` reads a PEM file's certificates (a bundle holds several; other PEM blocks,
such as a private key, are skipped and never returned): each one's subject and validity.
``kiosk doctor`` judges them (:func:`kiosk.ops.doctor.check_certificates`), kiosk-metrics
exports the earliest expiry of each file (``kiosk_certificate_expiry_seconds``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import NameOID

from kiosk.bus.bridge import DEVICE_BRIDGE_DIR, bridge_cafiles
from kiosk.payments import registry
from kiosk.payments.wallet.config import WalletOptions, resolve

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

PEM_CERT_BEGIN = b"-----BEGIN CERTIFICATE-----"


class NotCertificates(ValueError):
    """A file that holds no readable PEM certificate; ``str()`` is one line saying why."""


@dataclass(frozen=True)
class Validity:
    """One certificate of a file: its subject (the CN, else the whole subject) and validity."""

    subject: str
    not_before: dt.datetime   # aware, UTC
    not_after: dt.datetime    # aware, UTC


@dataclass(frozen=True)
class CertFile:
    """A certificate file the lane uses: the key that names it, the path (None: named in a
    bridge file this user may not read), the systemd unit that reads it, and whether that
    unit takes a renewed file by itself (else it reads it at start only)."""

    key: str
    path: Path | None
    service: str
    reloads: bool = False


def _subject(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if cns:
        value = cns[0].value
        return f"CN={value.decode(errors='replace') if isinstance(value, bytes) else value}"
    return cert.subject.rfc4514_string() or "(no subject)"


def expiries(pem: bytes) -> list[Validity]:
    """Every certificate in ``pem``, in file order, or :class:`NotCertificates`."""
    if PEM_CERT_BEGIN not in pem:
        raise NotCertificates("no PEM certificate in it (a DER file, a key alone, or not a"
                              " certificate)")
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise NotCertificates("a PEM certificate in it does not parse (truncated or"
                              " corrupt)") from None
    return [Validity(_subject(c), c.not_valid_before_utc, c.not_valid_after_utc) for c in certs]


def lane_certificates(config: KioskConfig, bridge_dir: Path = DEVICE_BRIDGE_DIR
                      ) -> list[CertFile]:
    """The certificate files this lane's configuration uses (see the module docstring)."""
    out: list[CertFile] = []
    pay = config.payments
    simulated = registry.simulated_hosts(config)
    acq = config.acquirer
    if "card" in pay.methods and "card" not in simulated and acq.uses_tls:
        if acq.ca_file is not None:
            out.append(CertFile("acquirer.ca_file", acq.ca_file, "kiosk-core"))
        if acq.client_cert_file is not None:
            out.append(CertFile("acquirer.client_cert_file", acq.client_cert_file,
                                "kiosk-core"))
    state = config.paths.state_dir
    for cls in registry.check(pay.methods, pay.options, config.security.production):
        if cls.id in simulated or not (isinstance(cls.config_model, type)
                                       and issubclass(cls.config_model, WalletOptions)):
            continue
        opts = cls.options_from(pay.options.get(cls.id))
        assert isinstance(opts, WalletOptions)
        prefix = f"payments.options.{cls.id}"
        out.append(CertFile(f"{prefix}.ca_file", resolve(opts.ca_file, state), "kiosk-core"))
        if opts.client_cert_file is not None:
            out.append(CertFile(f"{prefix}.client_cert_file",
                                resolve(opts.client_cert_file, state), "kiosk-core"))
    if config.sync.url and config.sync.ca_file is not None:
        out.append(CertFile("sync.ca_file", config.sync.ca_file, "kiosk-sync"))
    if config.store.e_receipt_url and config.ereceipt.tls_cert is not None:
        out.append(CertFile("ereceipt.tls_cert", config.ereceipt.tls_cert, "kiosk-ereceipt",
                            reloads=True))   # kiosk.services.ereceipt.ServerTls
    for conf, cafile in bridge_cafiles(bridge_dir):
        out.append(CertFile(f"{conf}: bridge_cafile", cafile, "mosquitto"))
    return out
