"""Approved card sales through a real kiosk-core, the real pcscd and the acquirer simulator;
every card profile ends as the issue says (approved, a named decline, or unsupported)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.flow import to_receipt

pytestmark = pytest.mark.card


def test_approved_sale_receipt_shows_label_aid_and_last4_only(card_lane):
    lane = card_lane
    lane.start_core()
    txn = lane.to_payment()
    lane.pay()
    lane.wait_step("insert_card")
    card = lane.insert("visa")
    lane.wait_step("authorizing")
    st = lane.shopper.wait_state(lambda s: s["state"] == "approved", 20)
    pay = st["payment"]
    pan = card.apps[0].pan
    assert pay["card"]["label"] == card.apps[0].label
    assert pay["card"]["aid"] == card.apps[0].aid.hex().upper()
    assert pay["card"]["entry"] == "chip"
    assert pay["card"]["masked_pan"].endswith(pan[-4:]) and pan not in str(pay)
    assert len(pay["rrn"]) == 12 and pay["auth_code"]
    st = to_receipt(lane.shopper, "print")
    receipt = Path(st["receipt"]["path"]).read_text()
    for part in (card.apps[0].label, card.apps[0].aid.hex().upper(), "Chip", pay["auth_code"],
                 pay["rrn"], f"**** {pan[-4:]}"):
        assert part in receipt, part
    assert pan[:6] not in receipt and pan not in receipt   # last 4 only on receipts
    # the host saw exactly one sale for the basket, approved once, nothing reversed
    assert [e["basket"] for e in lane.acq.received("0200")] == [txn]
    assert lane.acq.net() == {txn: 1}
    kinds = lane.journal_types()
    assert kinds.count("auth_requested") == 1 and kinds.count("auth_approved") == 1
    assert not {"insert_card", "reading", "authorizing", "progress"} & set(kinds)
    lane.check_ledger()
    # the screens the shopper went through, in order, and "remove your card" at the end
    steps = []
    for msg in lane._history:
        step = (msg.get("payment") or {}).get("step")
        if step and (not steps or steps[-1] != step):
            steps.append(step)
    assert steps == ["insert_card", "reading", "authorizing", "remove_card"], steps
    lane.remove()      # the "remove your card" prompt goes once the card is out
    lane.shopper.wait_state(lambda s: "step" not in (s["payment"] or {}), 10)
    lane.verify_journal()


# profile → (state the shopper ends in, message key or application label)
PROFILES = {
    "visa": ("approved", "VISA CREDIT"),
    "mastercard": ("approved", None),
    "unionpay": ("approved", "UNIONPAY DEBIT"),
    "t0_visa": ("approved", None),
    "app_blocked": ("approved", "VISA DEBIT"),       # the blocked application is skipped
    "gpo_6985": ("approved", "MAESTRO"),              # 6985 on GPO: next application
    "cobadged": ("approved", "DEBIT MASTERCARD"),     # chosen on screen (index 0)
    "blocked": ("declined", "card_blocked"),
    "app_blocked_only": ("declined", "no_application"),
    "ppse_only": ("declined", "unsupported_card"),
    "aac_after_approval": ("declined", "card_declined"),
}


def test_every_card_profile(card_lane):
    """One core, one basket per profile, the card inserted once the core asks for it."""
    lane = card_lane
    lane.start_core()
    for profile, (end, detail) in PROFILES.items():
        txn = lane.to_payment()
        lane.pay()
        lane.wait_step("insert_card")
        card = lane.insert(profile)
        st = lane.wait_end(choose=0)
        if end == "approved":
            assert st["state"] in ("approved", "receipt"), (profile, st["state"], st["payment"])
            label = detail or card.apps[0].label
            assert st["payment"]["card"]["label"] == label, profile
            to_receipt(lane.shopper, "none")
            assert lane.shopper.send("done")["ok"]
        else:
            if st["state"] == "reversing":   # the host approved, the card refused: reversed
                st = lane.wait_reversed()
                assert st["notice"] in ("payment_not_completed", "not_charged"), st["notice"]
            else:
                assert st["state"] == "declined", (profile, st["state"], st["payment"])
                assert st["payment"]["message"] == detail, (profile, st["payment"])
            lane.void()
        lane.remove()
        if end == "declined" and profile != "aac_after_approval":
            assert txn not in {e["basket"] for e in lane.acq.received()}, profile  # nothing sent
        lane.shopper.wait_state(lambda s: s["state"] in ("attract", "shopping"))
    lane.check_ledger()
    lane.verify_journal()
