"""Layered, validated configuration.

Layers, later wins: packaged defaults (``config/defaults.toml``), then every
``*.toml`` in the site directory (``/etc/kiosk``, or ``$KIOSK_CONFIG_DIR``) in name
order, then every ``*.toml`` in its ``private/`` folder that this process may read (the
staff hashes: kiosk-core's alone, mode 0600; another service skips them), then
environment variables ``KIOSK__SECTION__KEY=value``. The merged result is validated
by pydantic; a bad value raises :class:`ConfigError` whose message is one line naming
the layer that set the key, the key and what is wrong.

The sections the checkout reads (store, tax, variable_measure, promotions, timeouts) are
the domain's own models (:mod:`kiosk.domain.rules`); :class:`KioskConfig` composes them
with the services' and drivers' sections, and this module re-exports them.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from kiosk_drivers.cardreader.config import ReaderConfig
from kiosk_drivers.gpio.config import GpioConfig
from kiosk_drivers.printer.config import PrinterConfig, check_printer_locales
from kiosk_drivers.scale.config import ScaleConfig
from kiosk_drivers.scanner.config import ScannerConfig
from kiosk_voice.config import VoiceConfig
from pydantic import Field, ValidationError, field_validator, model_validator

from kiosk.domain import rules
from kiosk.domain.bagging import BaggingConfig
from kiosk.domain.languages import language_of
from kiosk.domain.rules import (
    CheckoutRules,
    StaffMember,
)
from kiosk.domain.strict import Strict as _Strict
from kiosk.domain.text import NotUtf8, decode_utf8
from kiosk.i18n import canonical_locale
from kiosk.payments import registry
from kiosk.payments.acquirer_config import AcquirerConfig
from kiosk.payments.emv_config import CardConfig
from kiosk.resources import defaults_file

DEFAULTS_FILE = defaults_file()  # package data, through kiosk.resources
SITE_CONFIG_DIR = Path("/etc/kiosk")
PRIVATE_DIR = "private"  # in the site dir: layers only their owner reads (staff hashes)
ENV_PREFIX = "KIOSK__"


class ConfigError(Exception):
    """Configuration that cannot be loaded; str() is one line for the operator."""


class StoreConfig(rules.StoreConfig):
    """The domain's store model, its locales checked against the shipped catalogs."""

    @field_validator("locales")
    @classmethod
    def _shipped_locales(cls, value: list[str]) -> list[str]:
        out = [canonical_locale(tag) for tag in value]  # zh-CN → zh_Hans; de: refused
        if len(set(out)) != len(out):
            raise ValueError(f"a locale is named twice ({', '.join(value)} → {', '.join(out)})")
        return out

    @field_validator("default_locale")
    @classmethod
    def _shipped_default(cls, value: str) -> str:
        return canonical_locale(value)


class StaffConfig(_Strict):
    lockout_attempts: int = Field(ge=1)
    lockout_s: float = Field(gt=0)
    lockout_max_s: float = Field(default=3600, gt=0, description="the lockout doubles with"
                                 " each further failure up to this")
    members: list[StaffMember] = Field(default_factory=list)


class BusConfig(_Strict):
    host: str
    port: int = Field(ge=1, le=65535)
    max_message_bytes: int = Field(ge=256)
    #: where each service finds ``<bus user>.password`` (kiosk/bus/credentials.py); systemd's
    #: ``$CREDENTIALS_DIRECTORY/bus-password`` comes first when set
    credentials_dir: Path = Path("/etc/kiosk/bus")

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the bus is device-local: host must be loopback")
        return value


class PathsConfig(_Strict):
    state_dir: Path


class SimPaymentConfig(_Strict):
    decline_suffixes: list[str] = Field(default_factory=list)
    unavailable_suffixes: list[str] = Field(default_factory=list)
    latency_ms: int = Field(ge=0)
    card_brand: str
    card_last4: str = Field(pattern=r"^\d{4}$")
    card_step_ms: int = Field(default=400, ge=0)
    card_wait_s: float = Field(default=30, gt=0)
    cobadged_suffixes: list[str] = Field(default_factory=lambda: ["77"])
    card_abort_suffixes: dict[str, str] = Field(default_factory=dict)


class PaymentsConfig(_Strict):
    """Payment rules for every backend (kiosk-core checks them before a request)."""

    require_clock_sync: bool = False   # the device image turns it on
    clock_source: Literal["any", "timesyncd", "adjtimex"] = "any"
    clock_sync_flag: Path = Path("/run/systemd/timesync/synchronized")
    card_wait_s: float = Field(default=90, gt=0, description="core's bound on card steps"
                               " before a request (the port bounds them below this)")
    # the payment methods the lane offers, in screen order (kiosk/payments/registry.py)
    methods: list[str] = Field(default_factory=lambda: ["card", "qr"])
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)  # [payments.options.<id>]


class DevicesConfig(_Strict):
    scanner: Literal["sim", "camera", "wedge"]
    printer: Literal["sim", "escpos"]
    payment: Literal["sim", "card"]   # the card method's host: the simulator, or PC/SC + ISO 8583


class SimConfig(_Strict):
    payment: SimPaymentConfig


class EReceiptConfig(_Strict):
    """The e-receipt on the phone (on when ``store.e_receipt_url`` is set): how long a link
    opens the receipt, the HMAC key that signs it, where ``kiosk ereceipt serve`` listens and
    its HTTPS certificate (kiosk/services/ereceipt.py)."""

    valid_days: int = Field(default=30, ge=1, le=3660)
    key_file: Path | None = None  # default: <paths.state_dir>/ereceipt.key (kiosk-core makes it)
    listen_host: str = "127.0.0.1"  # the lane network's address to reach phones
    listen_port: int = Field(default=8088, ge=1, le=65535)
    #: HTTPS of its own (kiosk/services/ereceipt.py): the page's certificate chain (PEM) and
    #: its key (kiosk-core's, mode 0600); without them plain HTTP on a loopback listen_host only
    tls_cert: Path | None = None
    tls_key: Path | None = None


class SyncConfig(_Strict):
    """kiosk-sync: ship the journal to the store's back office (off while ``url`` is empty:
    the lane sells alone). HTTPS only, verified against ``ca_file`` (the system's CAs when
    unset); the lane's bearer token in ``token_file`` (mode 0600, one line)."""

    url: str = Field(default="", pattern=r"^(https://[^\s/]+(/[^\s]*)?)?$")
    token_file: Path = Path("/etc/kiosk/sync/token")
    ca_file: Path | None = None
    batch_max: int = Field(default=500, ge=1, le=10_000)
    interval_s: float = Field(default=2.0, gt=0, description="wait when caught up")
    backoff_min_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0, description="cap of the full-jitter"
                                 " exponential backoff; a refused token waits this long")
    timeout_s: float = Field(default=30.0, gt=0, description="one HTTP request's bound")
    status_interval_s: float = Field(default=10.0, gt=0, description="the retained"
                                     " sync status is republished at least this often")
    pull_catalog: bool = Field(default=True, description="kiosk-sync also brings the store's"
                               " catalog snapshots down (off: the lane's catalog is managed"
                               " on the lane, `kiosk catalog import`)")
    catalog_interval_s: float = Field(default=30.0, gt=0, description="how often kiosk-sync"
                                      " asks for the store's catalog snapshot")


class AttendantConfig(_Strict):
    """The attendant station's remote commands (kiosk/security/remote.py)."""

    station_key: str = Field(default="", description="the station's public key file (one"
                             " line, `kiosk attendant key`); empty: remote commands refused")
    max_age_s: float = Field(default=30.0, gt=0, le=300, description="a remote command"
                             " older than this (or from further ahead) is refused as stale")


class UpdateConfig(_Strict):
    """``kiosk update --commit`` (kiosk-update-commit.service): a tried release is kept only
    once kiosk-core has stayed up, without a restart, for ``settle_s`` (kiosk/ops/core_ready.py);
    not settled within ``settle_timeout_s``, it is not committed and the next reset boots the
    old slot. The unit's TimeoutStartSec= (600 s) stays above the timeout."""

    settle_s: float = Field(default=120.0, ge=0, le=300, description="how long kiosk-core"
                            " must stay up after READY, without a restart")
    settle_timeout_s: float = Field(default=360.0, gt=0, le=540, description="the longest"
                                    " wait for it (restarts included)")

    @model_validator(mode="after")
    def _timeout_covers_settle(self) -> UpdateConfig:
        if self.settle_timeout_s < self.settle_s:
            raise ValueError(f"settle_timeout_s ({self.settle_timeout_s:g}) is shorter than"
                             f" settle_s ({self.settle_s:g}): no update could ever commit")
        return self


class SecurityConfig(_Strict):
    """``production``: this is a device selling for real (the image turns it on). A device
    refuses to start with a simulator backend or demo credentials."""

    production: bool = False


class KioskConfig(CheckoutRules):
    """Every section: the domain's rules (store ... timeouts, in that order) and the rest."""

    store: StoreConfig
    staff: StaffConfig
    bus: BusConfig
    paths: PathsConfig
    devices: DevicesConfig
    sim: SimConfig
    payments: PaymentsConfig = Field(default_factory=PaymentsConfig)
    printer: PrinterConfig = Field(default_factory=PrinterConfig)
    gpio: GpioConfig = Field(default_factory=GpioConfig)
    scanner: ScannerConfig = Field(default_factory=ScannerConfig)
    acquirer: AcquirerConfig = Field(default_factory=AcquirerConfig)
    card: CardConfig = Field(default_factory=CardConfig)
    cardreader: ReaderConfig = Field(default_factory=ReaderConfig)
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    ereceipt: EReceiptConfig = Field(default_factory=EReceiptConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    update: UpdateConfig = Field(default_factory=UpdateConfig)
    #: the lane's scales (kiosk-scale@<name>): ``produce`` prices weighed items, ``bagging``
    #: watches the bagging area; none by default (weights then come with the command)
    scale: dict[Literal["produce", "bagging"], ScaleConfig] = Field(default_factory=dict)
    bagging: BaggingConfig = Field(default_factory=BaggingConfig)
    attendant: AttendantConfig = Field(default_factory=AttendantConfig)

    @model_validator(mode="after")
    def _cross_checks(self) -> KioskConfig:
        if self.security.production:
            sims = [name for name in ("scanner", "printer", "payment")
                    if getattr(self.devices, name) == "sim"]
            if sims:
                raise ValueError("security.production: a device cannot use simulators"
                                 f" (devices.{', devices.'.join(sims)} = \"sim\")")
            if not any(m.pin_hash or m.badge_hash for m in self.staff.members):
                raise ValueError("security.production: no staff configured (provision"
                                 " [[staff]] members; see docs/technician.md)")
        registry.check(self.payments.methods, self.payments.options, self.security.production)
        ids = [p.id for p in self.promotions]
        if len(ids) != len(set(ids)):
            raise ValueError("promotion ids must be unique")
        for promo in self.promotions:
            if promo.price is not None:
                self.currency.parse(promo.price)
            if set(promo.name) - {language_of(loc) for loc in self.store.locales}:
                raise ValueError(f"promotion {promo.id}: name in a language the store lacks")
        if self.devices.printer == "escpos":
            check_printer_locales(self.printer, self.store.locales)
        if self.bagging.enabled and "bagging" not in self.scale:
            raise ValueError("bagging.enabled needs a bagging scale ([scale.bagging])")
        staff_ids = [m.id for m in self.staff.members]
        if len(staff_ids) != len(set(staff_ids)):
            raise ValueError("staff ids must be unique")
        return self

    @property
    def catalog_path(self) -> Path:
        return self.paths.state_dir / "catalog.sqlite"

    @property
    def catalog_staged_path(self) -> Path:
        """Where kiosk-sync's catalog puller leaves a checked snapshot for kiosk-core: a
        folder of its own, the one place in the state dir kiosk-sync may write."""
        return self.paths.state_dir / "catalog-inbox" / "catalog-staged.json"

    @property
    def journal_path(self) -> Path:
        return self.paths.state_dir / "journal.sqlite"

    @property
    def receipts_dir(self) -> Path:
        return self.paths.state_dir / "receipts"

    @property
    def ereceipt_key_file(self) -> Path:
        return self.ereceipt.key_file or self.paths.state_dir / "ereceipt.key"


def _merge(base: dict, layer: dict, source: tuple[int, str],
           sources: dict[str, tuple[int, str]], prefix: str = "") -> None:
    """Deep-merge ``layer`` into ``base`` in place, noting which layer set each leaf key."""
    for key, value in layer.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            if not isinstance(base.get(key), dict):
                base[key] = {}
            _merge(base[key], value, source, sources, path + ".")
        else:
            base[key] = value
            sources[path] = source


def _env_layer(environ: dict[str, str]) -> list[tuple[str, dict]]:
    layers = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        raw = environ[name]
        # Scalars stay text (pydantic converts "90" to 90 where a number is wanted, and
        # keeps "12" a string for a lane id); arrays and tables are read as TOML.
        value: Any = raw
        if raw.lstrip()[:1] in ("[", "{"):
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                raise ConfigError(f"config error: environment {name}: not a TOML array or"
                                  f" table: {raw!r}") from None
        layer: dict = {}
        node = layer
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        layers.append((f"environment {name}", layer))
    return layers


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.loads(decode_utf8(fh.read()))
    except (tomllib.TOMLDecodeError, NotUtf8) as exc:
        raise ConfigError(f"config error: {path}: {exc}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(f"config error: {path}: arrays or tables nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"config error: {path}: cannot read: {exc.strerror}") from None


def _source_of(key: str, sources: dict[str, tuple[int, str]]) -> str:
    """The layer that set ``key``: the key itself or its nearest ancestor (a list), else,
    for an error about a whole section, the latest layer that set anything inside it."""
    probe = key
    while probe:
        if probe in sources:
            return sources[probe][1]
        probe = probe.rpartition(".")[0]
    inside = [src for path, src in sources.items() if not key or path.startswith(key + ".")]
    return max(inside)[1] if inside else str(DEFAULTS_FILE)


def load_config_or_exit() -> KioskConfig:
    """For services and commands: the configuration, or its one-line error and exit 2."""
    try:
        return load_config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def writable_dir(*candidates: Path) -> Path | None:
    """The first of ``candidates`` that exists or can be made, and is writable."""
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    return None


def _merged_layers(site_dir: Path | None, environ: dict[str, str] | None
                   ) -> tuple[dict, dict[str, tuple[int, str]]]:
    """Every layer merged, and which layer set each leaf key (see module docstring)."""
    environ = dict(os.environ if environ is None else environ)
    if site_dir is None:
        site_dir = Path(environ.get("KIOSK_CONFIG_DIR", SITE_CONFIG_DIR))
    merged: dict = {}
    sources: dict[str, tuple[int, str]] = {}
    layers: list[tuple[str, dict]] = [(str(DEFAULTS_FILE), _read_toml(DEFAULTS_FILE))]
    if site_dir.is_dir():
        layers += [(str(p), _read_toml(p)) for p in sorted(site_dir.glob("*.toml"))]
        layers += [(str(p), _read_toml(p)) for p in sorted((site_dir / PRIVATE_DIR).glob(
            "*.toml")) if os.access(p, os.R_OK)]
    layers += _env_layer(environ)
    for number, (source, layer) in enumerate(layers):
        _merge(merged, layer, (number, source), sources)
    return merged, sources


def config_sources(site_dir: Path | None = None, environ: dict[str, str] | None = None
                   ) -> dict[str, str]:
    """Provenance: each key (``store.lane_id``; a list is one key) and the layer that set it
    last (the defaults file, a site file, or ``environment KIOSK__...``)."""
    return {key: source for key, (_, source) in _merged_layers(site_dir, environ)[1].items()}


def load_config(
    site_dir: Path | None = None, environ: dict[str, str] | None = None
) -> KioskConfig:
    """Load and validate the layered configuration (see module docstring)."""
    merged, sources = _merged_layers(site_dir, environ)
    try:
        return KioskConfig.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        got = ""
        if err["type"] not in ("missing",) and "input" in err and not isinstance(
            err["input"], dict | list
        ) and repr(err["input"]) not in msg and not key.startswith("staff."):
            # never echo what may be a PIN typed in clear
            got = f" (got {err['input']!r})"
        more = f" [+{exc.error_count() - 1} more]" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"config error: {_source_of(key, sources)}: {key or '(top level)'}: {msg}{got}{more}"
        ) from None
