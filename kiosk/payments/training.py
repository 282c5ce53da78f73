"""The training acquirer: the payment method every payment of a lane in training goes to
(kiosk.domain.training). It approves at once and contacts nothing: no card reader, no
acquirer host, no wallet gateway, no file. A method of its own (registered as
``training``), not a branch in the card code, so a real method never sees a training
payment and this one never sees a real one."""

from __future__ import annotations

from kiosk.domain.training import TRAINING_METHOD
from kiosk.i18n import N_
from kiosk.payments.method import PaymentMethod
from kiosk.payments.port import AuthRequest, AuthResult, Progress, no_progress


class TrainingMethod(PaymentMethod):
    id = TRAINING_METHOD
    label = N_("Training payment")
    receipt_label = N_("Training payment")

    def authorize(self, request: AuthRequest, progress: Progress = no_progress) -> AuthResult:
        progress({"step": "authorizing"})
        return AuthResult("approved", auth_code=f"T{request.stan:05d}"[-6:],
                          response_code="00")

    def reverse(self, request: AuthRequest) -> bool:
        return True  # nothing was charged: nothing to undo
