"""The payment port: what kiosk-core asks of an acquirer or QR-pay gateway.

A port authorizes one amount under an idempotency key (the same key never
charges twice) and reverses an authorization whose outcome is unknown. Card
data never crosses this interface: results carry only brand and masked PAN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class AuthRequest:
    txn: str
    method: Literal["card", "qr"]
    amount: int                 # minor units
    currency_code: str
    currency_numeric: int
    stan: int
    idem_key: str


@dataclass(frozen=True)
class AuthResult:
    outcome: Literal["approved", "declined", "unavailable"]
    auth_code: str = ""
    reason: str = ""
    card: dict = field(default_factory=dict)  # {"brand", "masked_pan"} at most


class PaymentPort(Protocol):
    def authorize(self, request: AuthRequest) -> AuthResult: ...

    def reverse(self, request: AuthRequest) -> bool:
        """Undo the authorization under ``request.idem_key`` if the host has one.

        Returns True once the host confirmed (also when it had nothing to undo),
        False if it could not be reached: the caller keeps the reversal queued.
        """
        ...


def mask_pan(pan: str) -> str:
    """First 6 and last 4 digits at most, the rest starred."""
    digits = "".join(c for c in pan if c.isdigit())
    if len(digits) < 10:
        return "*" * max(len(digits) - 4, 2) + digits[-4:]
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
