"""The gateway rules the client and the simulator keep: order numbers, the same number with
other parameters, single-use codes, reverses (close or refund), retries only where safe and
always with the same order number, the dialects' timing defaults."""

from __future__ import annotations

import time

import pytest

from kiosk.payments.wallet.config import WalletConfigError, WalletOptions
from kiosk.payments.wallet.gateway import WalletOrder
from kiosk.payments.wallet.registry import dialect_class, installed
from kiosk.sim.qrpay import QrPaySim, ledger_summary
from tests.wallet.gateway.conftest import DIALECTS, new_order_no, order, order_events

REUSED = {"generic": "ORDER_NO_REUSED", "alipay": "40004/ACQ.CONTEXT_INCONSISTENT",
          "wechat": "OUT_TRADE_NO_USED"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_same_order_number_other_parameters_is_refused(gateway, sim, dialect):
    gw = gateway(dialect)
    first = order("success", dialect)
    assert gw.pay(first).trade == "paid"
    other = WalletOrder(first.order_no, first.amount + 100, first.currency, first.subject,
                        order("success", dialect).code)
    answer = gw.pay(other)
    assert (answer.transport, answer.trade, answer.result_code) == ("ok", "not_paid",
                                                                    REUSED[dialect])
    assert [r["same_params"] for r in order_events(sim, first.order_no, "request")] == [
        None, False]
    assert ledger_summary(sim.ledger_path)[first.order_no]["paid"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_code_pays_once(gateway, sim, dialect):
    gw = gateway(dialect)
    first = order("success", dialect)
    assert gw.pay(first).trade == "paid"
    second = WalletOrder(new_order_no(), first.amount, first.currency, first.subject, first.code)
    answer = gw.pay(second)
    assert (answer.trade, answer.reason in ("code_used", "code_invalid")) == ("not_paid", True)
    assert not order_events(sim, second.order_no, "paid")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reverse_refunds_a_paid_order(gateway, sim, dialect):
    gw = gateway(dialect)
    o = order("success", dialect)
    assert gw.pay(o).trade == "paid"
    undone = gw.reverse(o.order_no)
    # WeChat's reverse does not say whether it closed or refunded: both mean nothing charged
    assert (undone.transport, undone.trade) == (
        "ok", {"generic": "refunded", "alipay": "refunded", "wechat": "closed"}[dialect])
    assert gw.reverse(o.order_no).transport == "ok"        # idempotent
    assert gw.query(o.order_no).trade in ("refunded", "closed")
    assert ledger_summary(sim.ledger_path)[o.order_no] == {"paid": 1, "closed": 0,
                                                            "refunded": 1}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reverse_of_an_order_never_seen_closes_it(gateway, sim, dialect):
    gw = gateway(dialect)
    o = order("success", dialect)
    assert gw.reverse(o.order_no).trade == "closed"
    assert gw.pay(o).trade == "closed"            # the pay arriving late is refused
    assert not order_events(sim, o.order_no, "paid")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_pay_retried_only_when_it_never_connected(gateway, sim, dialect):
    """Two connections dropped before the TLS handshake (nothing sent): the pay goes out on
    the third, once, with its order number; when the retries run out, nothing arrived."""
    o = order("success", dialect)
    sim.refuse_next(2)
    assert gateway(dialect, fresh=True, retries=2).pay(o).trade == "paid"
    assert [r["op"] for r in order_events(sim, o.order_no, "request")] == ["pay"]
    o2 = order("success", dialect)
    sim.refuse_next(3)
    gw = gateway(dialect, fresh=True, retries=2)
    failed = gw.pay(o2)
    assert (failed.transport, failed.reason, sim.refusals_left()) == ("error", "connect", 0)
    assert order_events(sim, o2.order_no) == []
    assert gw.pay(o2).trade == "paid"             # the method's retry: same number, accepted
    assert ledger_summary(sim.ledger_path)[o2.order_no]["paid"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_query_and_reverse_are_retried(gateway, sim, dialect):
    o = order("success", dialect)
    assert gateway(dialect).pay(o).trade == "paid"
    sim.refuse_next(2)
    assert gateway(dialect, fresh=True, retries=2).query(o.order_no).trade == "paid"
    sim.refuse_next(1)
    assert gateway(dialect, fresh=True, retries=2).reverse(o.order_no).transport == "ok"
    assert sim.refusals_left() == 0
    assert len(order_events(sim, o.order_no, "refunded")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_order_number_rule(gateway, dialect):
    gw = gateway(dialect)
    with pytest.raises(ValueError, match="order number"):
        gw.query("K-1")
    with pytest.raises(ValueError, match="order number"):
        gw.query("K" * (gw.max_order_no + 1))
    assert gw.max_order_no == {"generic": 32, "alipay": 64, "wechat": 32}[dialect]


def test_dialect_defaults_and_overrides(gateway):
    wechat, alipay, generic = (gateway(d, reverse_min_delay_s=None)
                               for d in ("wechat", "alipay", "generic"))
    assert (wechat.poll_interval_s, wechat.pay_deadline_s, wechat.reverse_min_delay_s) == (
        5.0, 45.0, 15.0)
    assert (alipay.reverse_min_delay_s, alipay.confirm_by_query) == (0.0, False)
    assert generic.confirm_by_query is True
    tuned = gateway("wechat", poll_interval_s=0.5, pay_deadline_s=3, reverse_min_delay_s=0.1)
    assert (tuned.poll_interval_s, tuned.pay_deadline_s, tuned.reverse_min_delay_s) == (
        0.5, 3.0, 0.1)


def test_registry():
    assert set(DIALECTS) <= set(installed())
    assert dialect_class("alipay").uses_rsa is True
    with pytest.raises(WalletConfigError, match="unknown wallet dialect 'paypal'"):
        dialect_class("paypal")


def test_options_refuse_plain_http_and_half_a_client_cert():
    with pytest.raises(ValueError, match="https only"):
        WalletOptions(url="http://127.0.0.1:8643")
    with pytest.raises(ValueError, match="go together"):
        WalletOptions(client_cert_file="client.pem")


def test_before_send_sees_every_attempt_and_can_stop_one(sim, sim_dir):
    """The method journals each request before it leaves; a journal that fails stops it."""
    from kiosk.payments.wallet.client import open_gateway

    seen: list[tuple[str, str, int]] = []
    gw = open_gateway(WalletOptions(**sim.lane_options("generic", retries=2,
                                                       retry_backoff_s=0.01)),
                      sim_dir, before_send=lambda *a: seen.append(a))
    o = order("success", "generic")
    sim.refuse_next(1)
    assert gw.pay(o).trade == "paid"
    assert seen == [("pay", o.order_no, 0), ("pay", o.order_no, 1)]

    def full_disk(*_: object) -> None:
        raise OSError("journal full")

    gw.before_send = full_disk
    o2 = order("success", "generic")
    with pytest.raises(OSError):
        gw.pay(o2)
    assert order_events(sim, o2.order_no) == []
    gw.close()


def test_wechat_reverse_waits_for_the_dialect_minimum(gateway, sim):
    """No reverse leaves sooner than reverse_min_delay_s after the pay request did (WeChat
    asks for 15 s; shortened here)."""
    gw = gateway("wechat", fresh=True, reverse_min_delay_s=0.5)
    sent: dict[str, float] = {}
    gw.before_send = lambda op, no, attempt: sent.setdefault(op, time.monotonic())
    o = order("paying_forever", "wechat")
    started = time.monotonic()
    assert gw.pay(o).trade == "user_paying"
    assert gw.reverse(o.order_no).trade == "closed"
    assert sent["reverse"] - started >= 0.5
    assert gateway("wechat").reverse_min_delay_s == 0.0   # the other tests' setting


@pytest.mark.parametrize("dialect", DIALECTS)
def test_amounts_are_exact_in_a_currency_without_minor_units(gateway, sim, dialect):
    """KRW has no minor unit: 3500 won go out as 3500 (Alipay: "3500" with trans_currency,
    WeChat: total_fee 3500) and come back as 3500."""
    gw = gateway(dialect)
    base = order("success", dialect)
    o = WalletOrder(base.order_no, 3500, "KRW", base.subject, base.code)
    answer = gw.pay(o)
    assert (answer.trade, answer.paid_amount) == ("paid", 3500)
    assert gw.query(o.order_no).paid_amount == 3500
    (paid,) = order_events(sim, o.order_no, "paid")
    assert (paid["amount"], paid["currency"]) == (3500, "KRW")


def test_a_restarted_simulator_keeps_what_it_charged(tmp_path):
    """The ledger outlives the simulator: orders paid, open or reversed before a restart
    answer the same after it, so a lane recovering its orders neither loses a payment nor
    pays twice."""
    from kiosk.payments.wallet.client import open_gateway

    def run(check):
        with QrPaySim(tmp_path, confirm_after_s=0.2) as s:
            gw = open_gateway(WalletOptions(**s.lane_options("wechat", reverse_min_delay_s=0)),
                              tmp_path)
            try:
                return check(gw, s)
            finally:
                gw.close()

    paid, open_, gone = (order(s, "wechat") for s in ("success", "paying_forever", "success"))

    def before(gw, s):
        assert gw.pay(paid).trade == "paid"
        assert gw.pay(open_).trade == "user_paying"
        assert gw.reverse(gone.order_no).trade == "closed"

    def after(gw, s):
        assert (gw.query(paid.order_no).trade, gw.query(open_.order_no).trade) == (
            "paid", "user_paying")
        assert gw.pay(paid).reason == "already_paid"          # same request: not charged again
        assert gw.pay(gone).trade == "closed"                  # the tombstone survived
        assert gw.reverse(paid.order_no).trade == "closed"     # WeChat: closed or refunded
        return ledger_summary(s.ledger_path)

    run(before)
    summary = run(after)
    assert summary[paid.order_no] == {"paid": 1, "closed": 0, "refunded": 1}
    assert summary[gone.order_no]["paid"] == 0
