"""Merchant-presented orders (the shopper scans the kiosk's screen) against `kiosk sim
qrpay`: create, the signed notification to the lane's listener, polling as the fallback
when it is lost or forged, duplicates, closing an order nobody paid."""

from __future__ import annotations

import queue

import pytest

from kiosk.payments.wallet.gateway import WalletOrder
from kiosk.sim.qrpay import amount_for, ledger_summary
from tests.wallet.gateway.conftest import (
    DIALECTS,
    new_order_no,
    order,
    order_events,
    poll,
    wait_for,
)

QR_PREFIX = {"generic": "", "alipay": "https://qr.alipay.com/", "wechat": "weixin://wxpay/"}


def _create(gateway, listener, dialect: str, scenario: str):
    gw = gateway(dialect, notify_url=listener.url)
    listener.gateway = gw
    o = WalletOrder(new_order_no("M"), amount_for(scenario), "CNY", "Demo store lane 1")
    answer = gw.create(o)
    assert (answer.transport, answer.trade) == ("ok", "user_paying")
    assert answer.qr_content.startswith(QR_PREFIX[dialect])
    return gw, o


def _notes(listener, n: int, timeout: float = 10.0) -> list:
    return [listener.received.get(timeout=timeout) for _ in range(n)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_paid_and_notified(gateway, listener, sim, dialect):
    gw, o = _create(gateway, listener, dialect, "success")
    (note,) = _notes(listener, 1)
    assert (note.order_no, note.answer.trade, note.answer.paid_amount) == (o.order_no, "paid",
                                                                           o.amount)
    assert gw.query(o.order_no).trade == "paid"
    # the simulator writes the ack once the listener's reply is back
    acked = wait_for(lambda: order_events(sim, o.order_no, "notified"))
    assert [(r["status"], r["attempt"]) for r in acked] == [(200, 1)]
    assert ledger_summary(sim.ledger_path)[o.order_no]["paid"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_duplicate_notification(gateway, listener, sim, dialect):
    gw, o = _create(gateway, listener, dialect, "duplicate_notification")
    first, second = _notes(listener, 2)
    assert first.order_no == second.order_no == o.order_no
    assert first.answer.trade == second.answer.trade == "paid"
    assert ledger_summary(sim.ledger_path)[o.order_no]["paid"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_notification_lost_polling_finds_it(gateway, listener, sim, dialect):
    gw, o = _create(gateway, listener, dialect, "notification_lost")
    final = poll(gw, o.order_no, lambda a: a.trade != "user_paying")
    assert (final.trade, final.paid_amount) == ("paid", o.amount)
    assert order_events(sim, o.order_no, "notification_lost")
    with pytest.raises(queue.Empty):
        listener.received.get_nowait()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_forged_notification_is_ignored(gateway, listener, sim, dialect):
    gw, o = _create(gateway, listener, dialect, "signature_invalid")
    (note,) = _notes(listener, 1)
    assert note is None                                # refused by the signature check
    assert poll(gw, o.order_no, lambda a: a.trade != "user_paying").trade == "paid"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unpaid_order_closed_on_expiry(gateway, listener, sim, dialect):
    gw, o = _create(gateway, listener, dialect, "paying_forever")
    assert gw.query(o.order_no).trade == "user_paying"
    assert gw.reverse(o.order_no).trade == "closed"
    assert gw.query(o.order_no).trade == "closed"
    assert ledger_summary(sim.ledger_path)[o.order_no] == {"paid": 0, "closed": 1,
                                                            "refunded": 0}


def test_notification_retried_until_acknowledged(gateway, listener, sim):
    """A listener that does not answer the dialect's word (here: an empty reply) gets the
    notification again, as real gateways resend until acknowledged (3 tries here)."""
    gw, o = _create(gateway, listener, "alipay", "success")
    listener.gateway = None                       # replies 200 with an empty body
    tries = wait_for(lambda: len(order_events(sim, o.order_no, "notified")) == 3 and
                     order_events(sim, o.order_no, "notified"))
    assert [(r["attempt"], r["reply"]) for r in tries] == [(1, ""), (2, ""), (3, "")]
    assert gw.query(o.order_no).trade == "paid"


def test_wechat_native_orders_are_closed_or_refunded_not_reversed(gateway, listener, sim):
    """WeChat's reverse is for micropay orders: a NATIVE (merchant-presented) order is
    closed with closeorder while unpaid and refunded once paid, found out by a query."""
    gw, unpaid = _create(gateway, listener, "wechat", "paying_forever")
    assert gw.reverse(unpaid.order_no).trade == "closed"
    assert [r["op"] for r in order_events(sim, unpaid.order_no, "request")] == [
        "create", "query", "close"]
    gw, paid = _create(gateway, listener, "wechat", "success")
    _notes(listener, 1)
    undone = gw.reverse(paid.order_no)
    assert (undone.transport, undone.trade) == ("ok", "refunded")
    assert [r["op"] for r in order_events(sim, paid.order_no, "request")][-2:] == [
        "query", "refund"]
    assert ledger_summary(sim.ledger_path)[paid.order_no] == {"paid": 1, "closed": 0,
                                                              "refunded": 1}
    micropay = order("success", "wechat")
    assert gw.pay(micropay).trade == "paid"
    assert gw.reverse(micropay.order_no).transport == "ok"
    assert [r["op"] for r in order_events(sim, micropay.order_no, "request")] == [
        "pay", "query", "reverse"]
