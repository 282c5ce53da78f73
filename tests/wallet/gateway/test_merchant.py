"""Merchant-presented orders (the shopper scans the kiosk's screen) against `kiosk sim
qrpay`: create, the signed notification to the lane's listener, polling as the fallback
when it is lost or forged, duplicates, closing an order nobody paid."""

from __future__ import annotations

import queue

import pytest

from kiosk.payments.wallet.gateway import WalletOrder
from kiosk.sim.qrpay import amount_for, ledger_summary
from tests.wallet.gateway.conftest import DIALECTS, new_order_no, order_events, poll

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
    acked = order_events(sim, o.order_no, "notified")
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
