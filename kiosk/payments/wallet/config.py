"""The ``[payments.options.qr]`` options of the phone-wallet method, and the keys they name.

:class:`WalletOptions` is the method's ``config_model``: which gateway dialect
(``kiosk.wallet_dialects``), where it is (``https://`` only), the merchant ids, the key files,
the TLS trust (a pinned CA file, optional client certificate for mutual TLS), timeouts,
retries and the polling rules. Relative paths are inside the lane's state dir.

:func:`load_keys` reads the key files once at start and refuses, with one line
(:class:`WalletConfigError`), a secret file that is not the running user's or that others
may read (anything but 0600/0400), a missing or unreadable one, and on a production lane
(``security.production``) any file :func:`is_demo` recognises: what ``kiosk sim qrpay``
makes carries :data:`DEMO_MARK` (PEM files: a first line before ``-----BEGIN``; secret
files: the ``demo-`` prefix the bus passwords use too).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: first line of every PEM file ``kiosk sim qrpay`` writes
DEMO_MARK = "# kiosk-demo-key: made by `kiosk sim qrpay`; a production lane refuses it"
#: prefix of a demo shared secret (the convention of kiosk.bus.credentials.DEMO_PREFIX)
DEMO_SECRET_PREFIX = "demo-"
#: where the key files are by default, inside the state dir (where ``kiosk sim qrpay``
#: writes its demo ones when it shares the lane's state dir)
DEFAULT_RSA_KEY = "qrpay/merchant.key"
DEFAULT_HMAC_KEY = "qrpay/hmac.key"
DEFAULT_GATEWAY_KEY = "qrpay/gateway.pub.pem"
DEFAULT_CA = "qrpay/ca.pem"


class WalletConfigError(ValueError):
    """Wallet options or keys a lane cannot start with; the message is one line."""


class WalletOptions(BaseModel):
    """``[payments.options.qr]``: one wallet gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dialect: str = Field(default="generic", description="a name registered in the entry-point"
                         " group kiosk.wallet_dialects (generic, alipay, wechat)")
    url: str = Field(default="https://127.0.0.1:8643",
                     description="the gateway's base URL (https only)")
    app_id: str = Field(default="kiosk-demo", min_length=1, max_length=32,
                        description="Alipay app_id / WeChat appid / generic merchant id")
    merchant_id: str = Field(default="", max_length=32, description="WeChat mch_id")
    terminal_id: str = Field(default="", max_length=32, description="the lane's id at the"
                             " gateway (Alipay terminal_id, WeChat device_info)")
    sign_key_file: Path | None = Field(
        default=None, description="Alipay: the merchant's RSA private key (PEM, default"
        " qrpay/merchant.key); WeChat and generic: the HMAC-SHA256 key (text, default"
        " qrpay/hmac.key). Mode 0600, the service's own")
    gateway_public_key_file: Path | None = Field(
        default=None, description="Alipay: the platform's RSA public key (PEM) answers and"
        " notifications must verify against (default qrpay/gateway.pub.pem)")
    ca_file: Path = Field(default=Path(DEFAULT_CA),
                          description="the pinned CA (PEM) the gateway's certificate must chain to")
    client_cert_file: Path | None = Field(default=None, description="mutual TLS certificate")
    client_key_file: Path | None = Field(default=None, description="its private key (0600)")
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10, description="extra attempts where safe: any"
                         " failure of a query or a reverse; a pay only when it never connected")
    retry_backoff_s: float = Field(default=0.5, ge=0, description="base of the jittered,"
                                   " doubling wait between attempts")
    poll_interval_s: float | None = Field(default=None, gt=0, description="how often a"
                                          " user-paying order is queried (dialect default 5 s)")
    pay_deadline_s: float = Field(default=45.0, gt=0, description="how long a user-paying"
                                  " order is polled before it is reversed")
    reverse_min_delay_s: float | None = Field(
        default=None, ge=0, description="no reverse sooner than this after the pay request"
        " (dialect default: WeChat 15 s, others 0)")
    confirm_by_query: bool | None = Field(default=None, description="a paid pay answer counts"
                                          " only once a query confirms it (dialect default)")
    notify_url: str = Field(default="", description="where the gateway posts merchant-presented"
                            " notifications (the lane's listener); empty: polling only")
    order_prefix: str = Field(default="K", pattern=r"^[A-Za-z0-9]{0,8}$",
                              description="first characters of every merchant order number")

    @model_validator(mode="after")
    def _check(self) -> WalletOptions:
        parts = urlsplit(self.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"url {self.url!r}: the gateway is reached over https only")
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError("client_cert_file and client_key_file go together")
        if self.notify_url and urlsplit(self.notify_url).scheme not in ("http", "https"):
            raise ValueError(f"notify_url {self.notify_url!r} is not an http(s) URL")
        return self


@dataclass(frozen=True)
class Keys:
    """What the key files hold, read once at start (never logged, never in a repr)."""

    ca_file: Path
    rsa_private: Any = None         # Alipay merchant key
    rsa_public: Any = None          # Alipay platform key
    secret: bytes = b""             # HMAC key (WeChat, generic)
    client_cert: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Keys(ca_file={self.ca_file})"


def resolve(path: Path, state_dir: Path) -> Path:
    return path if path.is_absolute() else Path(state_dir) / path


def read_secret_file(path: Path, what: str = "wallet key file") -> bytes:
    """A key file's bytes, refused unless it is ours and 0600 (or stricter); ``what`` names
    the file in the one-line error (the e-receipt server's TLS key uses it too)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise WalletConfigError(f"{what} {path} missing") from None
    except PermissionError:
        raise WalletConfigError(f"{what} {path}: permission denied") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        mode = stat.S_IMODE(st.st_mode)
        if st.st_uid != os.geteuid():
            raise WalletConfigError(f"{what} {path} belongs to uid {st.st_uid}, not"
                                    f" to this service (uid {os.geteuid()}): chown it")
        if mode & 0o177:
            raise WalletConfigError(f"{what} {path} has mode {mode:04o}: chmod 600"
                                    f" {path}")
        data = fh.read()
    if not data.strip():
        raise WalletConfigError(f"{what} {path} is empty")
    return data


def _read_public(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WalletConfigError(f"wallet file {path}: {exc.strerror or exc}") from None


def is_demo(data: bytes) -> bool:
    """A file ``kiosk sim qrpay`` made (a demo key, secret or certificate)."""
    return data.lstrip().startswith((DEMO_MARK.encode(), DEMO_SECRET_PREFIX.encode()))


def load_keys(options: WalletOptions, state_dir: Path, uses_rsa: bool,
              production: bool = False) -> Keys:
    """Read and check every file ``options`` names (one-line :class:`WalletConfigError`)."""
    demo: list[Path] = []

    def private(path: Path) -> bytes:
        data = read_secret_file(path)
        if is_demo(data):
            demo.append(path)
        return data

    def public(path: Path) -> bytes:
        data = _read_public(path)
        if is_demo(data):
            demo.append(path)
        return data

    sign_path = resolve(options.sign_key_file or Path(
        DEFAULT_RSA_KEY if uses_rsa else DEFAULT_HMAC_KEY), state_dir)
    ca = resolve(options.ca_file, state_dir)
    public(ca)
    rsa_private = rsa_public = None
    secret = b""
    if uses_rsa:
        rsa_private = _pem_private(sign_path, private(sign_path))
        pub_path = resolve(options.gateway_public_key_file or Path(DEFAULT_GATEWAY_KEY),
                           state_dir)
        try:
            rsa_public = serialization.load_pem_public_key(public(pub_path))
        except ValueError:
            raise WalletConfigError(f"wallet key file {pub_path}: not a PEM public key"
                                    ) from None
        if not isinstance(rsa_public, rsa.RSAPublicKey):
            raise WalletConfigError(f"wallet key file {pub_path}: not an RSA key")
    else:
        secret = private(sign_path).strip()
        if len(secret) < 16:
            raise WalletConfigError(f"wallet key file {sign_path}: an HMAC key of at least 16"
                                    " characters is needed")
    client_cert = None
    if options.client_cert_file is not None and options.client_key_file is not None:
        cert_path = resolve(options.client_cert_file, state_dir)
        key_path = resolve(options.client_key_file, state_dir)
        public(cert_path)
        private(key_path)
        client_cert = (str(cert_path), str(key_path))
    if production and demo:
        raise WalletConfigError("security.production: payments.options.qr uses demo keys of"
                                f" `kiosk sim qrpay` ({', '.join(map(str, demo))}); install"
                                " the gateway's real keys")
    return Keys(ca_file=ca, rsa_private=rsa_private, rsa_public=rsa_public, secret=secret,
                client_cert=client_cert)


def _pem_private(path: Path, data: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise WalletConfigError(f"wallet key file {path}: not an unencrypted PEM private key"
                                ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise WalletConfigError(f"wallet key file {path}: not an RSA key")
    return key
