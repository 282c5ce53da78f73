"""Which heard intents are confirmed before they act (issue 20, item 2).

An intent that moves money or calls staff is asked back ("Pay 7,810 won by card? Say yes,
or press select") unless the recognizer was sure of it: paying (every ``pay_`` intent)
and calling staff outside accessible mode (a shopper in accessible mode asked for
guidance, and help there is what they expect). Cancelling the basket is always asked
back, whatever the confidence: it throws away the shopper's scanning. An intent below
the matcher's own threshold never gets here: the recognizer rejected it, and the
service asks again instead of guessing.

Pure: the service (:mod:`kiosk.services.voice.service`) and ``kiosk bench voice`` both
decide with it.
"""

from __future__ import annotations

from kiosk_voice.intents import PAY_PREFIX


def needs_confirmation(name: str, confidence: float, accessible: bool,
                       sure_above: float) -> bool:
    """Ask back before acting on ``name`` heard with ``confidence`` (0..1)?"""
    if name == "cancel":
        return True
    if name.startswith(PAY_PREFIX) or (name == "help" and not accessible):
        return confidence < sure_above
    return False
