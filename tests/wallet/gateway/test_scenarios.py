"""Every `kiosk sim qrpay` scenario of a customer-presented code, through the lane's gateway
client, over HTTPS on loopback, in each dialect: what the pay answer says (transport apart
from trade), what a query then finds, and what the simulator's ledger shows was charged."""

from __future__ import annotations

import pytest

from kiosk.sim.qrpay import ledger_summary
from tests.wallet.gateway.conftest import DIALECTS, order, order_events, poll

#: scenario → dialect → the pay answer's (transport, trade, reason, result_code)
PAY = {
    "success": {"generic": ("ok", "paid", "", "PAID"), "alipay": ("ok", "paid", "", "10000"),
                "wechat": ("ok", "paid", "", "SUCCESS")},
    "insufficient_funds": {
        "generic": ("ok", "not_paid", "insufficient_funds", "INSUFFICIENT_FUNDS"),
        "alipay": ("ok", "not_paid", "insufficient_funds", "40004/ACQ.BUYER_BALANCE_NOT_ENOUGH"),
        "wechat": ("ok", "not_paid", "insufficient_funds", "NOTENOUGH")},
    "code_used": {
        "generic": ("ok", "not_paid", "code_used", "CODE_USED"),
        "alipay": ("ok", "not_paid", "code_invalid", "40004/ACQ.PAYMENT_AUTH_CODE_INVALID"),
        "wechat": ("ok", "not_paid", "code_invalid", "AUTH_CODE_INVALID")},
    "code_expired": {
        "generic": ("ok", "not_paid", "code_expired", "CODE_EXPIRED"),
        "alipay": ("ok", "not_paid", "code_invalid", "40004/ACQ.PAYMENT_AUTH_CODE_INVALID"),
        "wechat": ("ok", "not_paid", "code_expired", "AUTHCODEEXPIRE")},
    "system_error_then_success": {
        "generic": ("ok", "unknown", "system_error", "SYSTEM_ERROR"),
        "alipay": ("ok", "unknown", "system_error", "20000/isp.unknow-error"),
        "wechat": ("ok", "unknown", "system_error", "SYSTEMERROR")},
    "signature_invalid": {d: ("bad_answer", "unknown", "bad_answer", "") for d in DIALECTS},
    "answer_lost": {d: ("error", "unknown", "network", "") for d in DIALECTS},
    "paying_then_success": {
        "generic": ("ok", "user_paying", "", "USER_PAYING"),
        "alipay": ("ok", "user_paying", "", "10003"),
        "wechat": ("ok", "user_paying", "", "USERPAYING")},
}
PAID_AMOUNT = 1234


def pay_answer(answer) -> tuple[str, str, str, str]:
    return answer.transport, answer.trade, answer.reason, answer.result_code


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("scenario", ["success", "notification_lost", "duplicate_notification"])
def test_instant_success(gateway, sim, dialect, scenario):
    gw = gateway(dialect)
    o = order(scenario, dialect, PAID_AMOUNT)
    answer = gw.pay(o)
    assert pay_answer(answer) == PAY["success"][dialect]
    assert answer.paid_amount == PAID_AMOUNT and answer.gateway_txn
    again = gw.query(o.order_no)
    assert (again.transport, again.trade, again.paid_amount) == ("ok", "paid", PAID_AMOUNT)
    assert again.gateway_txn == answer.gateway_txn
    assert ledger_summary(sim.ledger_path)[o.order_no]["paid"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("scenario", ["insufficient_funds", "code_used", "code_expired"])
def test_definite_failures_charge_nothing(gateway, sim, dialect, scenario):
    gw = gateway(dialect)
    o = order(scenario, dialect)
    assert pay_answer(gw.pay(o)) == PAY[scenario][dialect]
    after = gw.query(o.order_no)
    assert after.transport == "ok" and after.trade in ("not_paid", "closed")
    assert not order_events(sim, o.order_no, "paid")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_user_paying_then_success(gateway, sim, dialect):
    gw = gateway(dialect)
    o = order("paying_then_success", dialect)
    assert pay_answer(gw.pay(o)) == PAY["paying_then_success"][dialect]
    final = poll(gw, o.order_no, lambda a: a.trade != "user_paying")
    assert (final.transport, final.trade, final.paid_amount) == ("ok", "paid", o.amount)
    assert len(order_events(sim, o.order_no, "paid")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_user_paying_then_cancelled(gateway, sim, dialect):
    gw = gateway(dialect)
    o = order("paying_then_cancelled", dialect)
    assert gw.pay(o).trade == "user_paying"
    final = poll(gw, o.order_no, lambda a: a.trade != "user_paying")
    assert final.transport == "ok"
    assert final.trade == {"generic": "not_paid", "alipay": "closed", "wechat": "not_paid"}[dialect]
    assert not order_events(sim, o.order_no, "paid")
    assert order_events(sim, o.order_no, "declined")[0]["reason"] == "user_cancelled"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_user_paying_forever_is_reversed(gateway, sim, dialect):
    """The lane's deadline passes: it reverses; the order ends closed, nothing charged,
    and a late confirmation cannot charge it any more."""
    gw = gateway(dialect)
    o = order("paying_forever", dialect)
    assert gw.pay(o).trade == "user_paying"
    assert gw.query(o.order_no).trade == "user_paying"
    rev = gw.reverse(o.order_no)
    assert (rev.transport, rev.trade) == ("ok", "closed")
    assert gw.query(o.order_no).trade == "closed"
    assert gw.pay(o).trade == "closed"            # the same request again: refused, closed
    assert ledger_summary(sim.ledger_path)[o.order_no] == {"paid": 0, "closed": 1,
                                                            "refunded": 0}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_system_error_then_success_on_query(gateway, sim, dialect):
    gw = gateway(dialect)
    o = order("system_error_then_success", dialect)
    assert pay_answer(gw.pay(o)) == PAY["system_error_then_success"][dialect]
    found = gw.query(o.order_no)
    assert (found.transport, found.trade, found.paid_amount) == ("ok", "paid", o.amount)
    assert len(order_events(sim, o.order_no, "paid")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_signature_invalid_answer_does_not_count(gateway, sim, dialect):
    """The gateway charged, but its answer's signature is wrong: it counts as no answer
    (never as paid, never as declined); the query, signed right, finds it paid."""
    gw = gateway(dialect)
    o = order("signature_invalid", dialect)
    assert pay_answer(gw.pay(o)) == PAY["signature_invalid"][dialect]
    found = gw.query(o.order_no)
    assert (found.transport, found.trade) == ("ok", "paid")
    assert len(order_events(sim, o.order_no, "paid")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_answer_lost_then_same_request_never_charges_twice(gateway, sim, dialect):
    gw = gateway(dialect)
    o = order("answer_lost", dialect)
    assert pay_answer(gw.pay(o)) == PAY["answer_lost"][dialect]
    requests = order_events(sim, o.order_no, "request")
    assert [r["op"] for r in requests] == ["pay"]      # a pay that may have arrived: not resent
    again = gw.pay(o)                                  # the method's retry: same number, params
    assert (again.transport, again.trade, again.reason) == ("ok", "unknown", "already_paid")
    assert gw.query(o.order_no).trade == "paid"
    assert order_events(sim, o.order_no, "request")[1]["same_params"] is True
    assert ledger_summary(sim.ledger_path)[o.order_no]["paid"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_slow_gateway(gateway, sim, dialect):
    """Slower than the read timeout: a pay is not resent (it arrived), the query finds it;
    within the timeout the answer is simply late."""
    impatient = gateway(dialect, read_timeout_s=0.2)
    o = order("slow", dialect)
    late = impatient.pay(o)
    assert (late.transport, late.reason) == ("error", "timeout")
    assert [r["op"] for r in order_events(sim, o.order_no, "request")] == ["pay"]
    assert impatient.query(o.order_no).trade == "paid"
    patient = gateway(dialect, read_timeout_s=5.0)
    o2 = order("slow", dialect)
    assert pay_answer(patient.pay(o2)) == PAY["success"][dialect]
    assert len(order_events(sim, o.order_no, "paid")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_down(gateway, sim, dialect):
    """The gateway drops the pay unanswered and refuses connections for a while: the pay is
    a transport error, queries fail to connect until it is back, then it does not know the
    order (unknown, not a definite failure); the reverse closes it for good."""
    gw = gateway(dialect, retries=0)
    o = order("down", dialect)
    assert (gw.pay(o).transport, sim.is_down()) == ("error", True)
    during = gw.query(o.order_no)
    assert (during.transport, during.reason) == ("error", "connect")
    assert sim.wait_up(10)
    back = gw.query(o.order_no)
    assert (back.transport, back.trade, back.reason) == ("ok", "unknown", "not_found")
    assert gw.reverse(o.order_no).trade == "closed"
    assert gw.pay(o).trade == "closed"            # a late copy of the pay is refused
    assert not order_events(sim, o.order_no, "paid")
