"""The ``[acquirer]`` config section: where the acquirer host is and how to talk to it.

TLS 1.2+ with a pinned CA file is mandatory to any host that is not loopback (PCI DSS
4.2.1); plain TCP is allowed only to the simulator on loopback, and only when
``plain_tcp_simulator_only`` says so.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kiosk.domain.addresses import is_loopback


class AcquirerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8583, ge=1, le=65535)
    dialect: str = Field(default="default",
                         description="a name registered in the entry-point group"
                         " kiosk.acquirer_dialects, or a path to a dialect file")
    plain_tcp_simulator_only: bool = Field(
        default=True, description="plain TCP (no TLS), allowed only to a loopback host")
    ca_file: Path | None = Field(default=None, description="pinned CA bundle for TLS")
    server_hostname: str | None = Field(
        default=None, description="name checked against the host certificate (default: host)")
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    terminal_id: str | None = Field(default=None, min_length=8, max_length=8,
                                    description="field 41; default from the dialect")
    merchant_id: str | None = Field(default=None, min_length=15, max_length=15,
                                    description="field 42; default from the dialect")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    response_timeout_s: float = Field(default=30.0, gt=0)
    reversal_timeout_s: float = Field(default=10.0, gt=0)
    reversal_attempts_per_drain: int = Field(default=3, ge=1)
    reversal_retry_s: float = Field(
        default=5.0, gt=0, description="queued reversals retried between sales this often,"
        " doubling up to reversal_retry_max_s while the host stays unreachable")
    reversal_retry_max_s: float = Field(default=60.0, gt=0)
    hostlog_file: str = Field(default="hostlog.sqlite", description="inside paths.state_dir")
    pan_key_file: str = Field(default="hostlog.key",
                              description="AES key for PANs kept for reversals (0600)")

    @model_validator(mode="after")
    def _transport(self) -> AcquirerConfig:
        loop = is_loopback(self.host)
        if self.plain_tcp_simulator_only and not loop:
            raise ValueError(f"plain TCP is only for the simulator on loopback; host"
                             f" {self.host!r} needs TLS: set plain_tcp_simulator_only = false"
                             " and ca_file")
        if not self.plain_tcp_simulator_only and self.ca_file is None:
            raise ValueError("TLS needs a pinned CA: set ca_file")
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError("client_cert_file and client_key_file go together")
        return self

    @property
    def uses_tls(self) -> bool:
        return not self.plain_tcp_simulator_only
