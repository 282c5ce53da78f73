"""Steps integration tests share: from a sent ``pay`` to the receipt screen."""

from __future__ import annotations

from tests.harness import Shopper


def to_receipt(shopper: Shopper, choice: str = "print", timeout: float = 20) -> dict:
    """Wait for the approval, answer the receipt question, wait for the receipt screen."""
    shopper.wait_state(lambda s: s["state"] in ("approved", "receipt"), timeout)
    if shopper.state["state"] == "approved":
        result = shopper.send("receipt", choice=choice)
        assert result["ok"] or result["reason"] == "receipt_already_chosen", result
    return shopper.wait_state(lambda s: s["state"] == "receipt", timeout)
