"""The phone-wallet method's state machine against an in-process gateway (the simulator's
ledger as the gateway's truth): every gateway behaviour ends in the outcome the issue's
rules give, with the order book and the gateway agreeing and nothing open or paid twice."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from kiosk.domain.emvqr import parse_mpm
from kiosk.payments.port import AuthRequest
from kiosk.payments.wallet.method import QrOptions, WalletMethod
from kiosk.payments.wallet.orders import FINAL, OrderBook
from kiosk.sim.wallet_gateway import CONTROL, SimWalletGateway

CODE = "134567890123456789"      # WeChat-shaped (18 digits, 13...)
CODE2 = "281234567890123456"     # Alipay-shaped


class Steps:
    """The progress steps the method reported, waitable."""

    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.cond = threading.Condition()

    def __call__(self, step: dict) -> None:
        with self.cond:
            self.seen.append(step)
            self.cond.notify_all()

    def wait(self, name: str, count: int = 1, timeout: float = 5) -> dict:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: sum(s["step"] == name for s in self.seen) >= count, timeout)
            assert ok, f"no step {name} (x{count}); saw {self.seen}"
            return [s for s in self.seen if s["step"] == name][count - 1]


@pytest.fixture
def lane(config, tmp_path: Path):
    gw = SimWalletGateway(config.paths.state_dir)

    def control(**values: object) -> None:
        (config.paths.state_dir / CONTROL).write_text(json.dumps(values))

    control(scenario="success", poll_interval_s=0.05, pay_deadline_s=2)
    method = WalletMethod(config, QrOptions(code_wait_s=5, query_wait_s=0.01), port=gw)
    yield method, gw, control
    method.close()


def request(stan: int = 1, amount: int = 1234, txn: str = "T1") -> AuthRequest:
    return AuthRequest(txn=txn, method="qr", amount=amount, currency_code="USD",
                       currency_numeric=840, stan=stan, idem_key=f"{txn}-{stan:06d}")


def run(method: WalletMethod, req: AuthRequest, codes: list[str], steps: Steps | None = None):
    steps = steps or Steps()
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(req, steps)))
    worker.start()
    for i, code in enumerate(codes):
        steps.wait("show_code", i + 1)
        method.present_code(req.stan, code, "wechat")
    worker.join(10)
    assert not worker.is_alive()
    return out["r"], steps


def book_states(method: WalletMethod) -> list[str]:
    return [o.state for o in method.book.orders()]


def gateway_states(gw: SimWalletGateway) -> dict[str, str]:
    return {no: rec["state"] for no, rec in gw.orders.items()}


@pytest.mark.parametrize("scenario, outcome, reason, book", [
    ("success", "approved", "", "paid"),
    ("user_paying_success", "approved", "", "paid"),
    ("system_error_success", "approved", "", "paid"),
    ("lost_answer", "approved", "", "paid"),        # no answer → query → paid
    ("bad_answer", "approved", "", "paid"),
    ("insufficient_funds", "declined", "insufficient_funds", "not_paid"),
    ("user_paying_cancelled", "declined", "user_cancelled", "not_paid"),
    ("user_paying_forever", "unavailable", "user_paying_timeout", "user_paying"),
    ("amount_mismatch", "unavailable", "amount_mismatch", "in_doubt"),
    ("down", "unavailable", "in_doubt", "in_doubt"),
])
def test_each_gateway_behaviour_ends_as_the_rules_say(lane, scenario, outcome, reason, book):
    method, gw, control = lane
    control(scenario=scenario, poll_interval_s=0.05, pay_deadline_s=1)
    result, steps = run(method, request(), [CODE])
    assert (result.outcome, result.reason) == (outcome, reason)
    assert book_states(method) == [book]
    if outcome == "approved":
        assert result.card == {"brand": "alipay"}
        assert CODE not in json.dumps(result.__dict__)
    if scenario.startswith("user_paying"):
        steps.wait("user_paying")
    if outcome == "unavailable":   # the core's queue reverses it: closed or refunded
        assert method.reverse(request()) is (scenario != "down")
        if scenario != "down":
            assert book_states(method)[0] in ("closed", "refunded")
            assert all(s in ("closed", "refunded", "not_paid") for s in gateway_states(gw).values())


def test_a_used_or_expired_code_asks_for_another_and_a_reused_one_is_refused_locally(lane):
    method, gw, control = lane
    control(scenario="code_expired")
    steps = Steps()
    out: dict = {}
    req = request()
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(req, steps)))
    worker.start()
    steps.wait("show_code", 1)
    method.present_code(req.stan, CODE, "wechat")
    assert steps.wait("show_code", 2).get("notice") == "code_expired"
    method.present_code(req.stan, CODE, "wechat")       # the same code again: never sent
    assert steps.wait("show_code", 3).get("notice") == "code_reused"
    control(scenario="success")
    method.present_code(req.stan, CODE2, "alipay")
    worker.join(5)
    assert out["r"].outcome == "approved"
    assert book_states(method) == ["not_paid", "paid"]    # one order per code, new numbers
    numbers = [o.order_no for o in method.book.orders()]
    assert len(set(numbers)) == 2
    assert all(len(n) <= gw.max_order_no and n.replace("_", "").isalnum() for n in numbers)


def test_code_single_use_across_attempts_of_the_basket(lane):
    method, _gw, control = lane
    control(scenario="insufficient_funds")
    result, _ = run(method, request(1), [CODE])
    assert result.message_key == "wallet_insufficient_funds"
    control(scenario="success")
    steps = Steps()
    out: dict = {}
    req = request(2)
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(req, steps)))
    worker.start()
    steps.wait("show_code")
    method.present_code(2, CODE, "wechat")
    assert steps.wait("show_code", 2)["notice"] == "code_reused"
    method.cancel(2)
    worker.join(5)
    assert out["r"].reason == "cancelled"
    assert book_states(method) == ["not_paid"]


def test_cancel_while_waiting_for_a_code_sends_nothing(lane):
    method, gw, _ = lane
    steps = Steps()
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(request(), steps)))
    worker.start()
    steps.wait("show_code")
    assert method.cancel(1) is True
    worker.join(5)
    assert out["r"].reason == "cancelled" and gw.orders == {}


def test_cancel_while_the_shopper_confirms_closes_the_order(lane):
    method, gw, control = lane
    control(scenario="user_paying_forever", poll_interval_s=0.05, pay_deadline_s=30)
    steps = Steps()
    out: dict = {}
    req = request()
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(req, steps)))
    worker.start()
    steps.wait("show_code")
    method.present_code(1, CODE, "wechat")
    steps.wait("user_paying")
    assert method.cancel(1) is False          # an order is out: the core reverses it
    assert method.reverse(req) is True
    worker.join(5)
    assert book_states(method) == ["closed"] and list(gateway_states(gw).values()) == ["closed"]


def test_confirm_by_query_and_the_wechat_reverse_delay(lane):
    method, gw, control = lane
    control(scenario="success", confirm_by_query=True, reverse_min_delay_s=0.3)
    result, _ = run(method, request(), [CODE])
    assert result.outcome == "approved"
    order = method.book.orders()[0]
    assert gw.orders[order.order_no]["state"] == "paid"
    # a late reversal (e.g. the core timed out) refunds it, not sooner than the minimum
    control(scenario="success", reverse_min_delay_s=0.3)
    method.book.update(order.order_no, "paid")
    assert method.reverse(request()) is True
    reversed_at = [e["ts"] for e in gw.ledger() if e["op"] == "reverse"][0]
    assert reversed_at >= order.sent_at + 0.3
    assert gw.orders[order.order_no]["state"] == "refunded"


def test_merchant_presented_order_is_shown_then_paid_or_closed_on_expiry(lane):
    method, gw, control = lane
    control(scenario="success", poll_interval_s=0.05, paying_queries=3)
    steps = Steps()
    out: dict = {}
    req = request()
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(req, steps)))
    worker.start()
    steps.wait("show_code")
    method.choose(1, 1)
    shown = steps.wait("scan_code")
    parsed = parse_mpm(shown["qr"])          # a valid EMVCo payload, its CRC checked
    order = method.book.orders()[0]
    assert (parsed["amount"], parsed["currency"], parsed["dynamic"]) == ("12.34", "840", True)
    assert parsed["additional"]["01"] == order.order_no
    assert order.order_no in shown["qr"] and shown["expires_at"] > 0
    worker.join(5)
    assert out["r"].outcome == "approved"
    # expiry: the order is closed by the lane itself
    method.opts = QrOptions(code_wait_s=5, mpm_expiry_s=0.3, query_wait_s=0.01)
    control(scenario="success", poll_interval_s=0.05, paying_queries=1000)
    result_steps = Steps()
    out.clear()
    req2 = request(2)
    worker = threading.Thread(target=lambda: out.update(r=method.authorize(req2, result_steps)))
    worker.start()
    result_steps.wait("show_code")
    method.choose(2, 1)
    worker.join(5)
    assert (out["r"].outcome, out["r"].message_key) == ("declined", "qr_expired")
    assert book_states(method) == ["paid", "closed"]


def test_recovery_records_a_journaled_sale_and_reverses_every_other_open_order(config):
    gw = SimWalletGateway(config.paths.state_dir)
    book = OrderBook(config.paths.state_dir / "wallet-orders.sqlite")
    from kiosk.payments.wallet.gateway import WalletOrder
    made = {}
    for key, state in (("A-000001", "paid"), ("B-000001", "paid"), ("C-000001", "sending"),
                       ("D-000001", "user_paying"), ("E-000001", "not_paid")):
        no = book.next_number("L_", 32)
        book.record(order_no=no, idem_key=key, flow="cpm", amount=500, currency="USD",
                    subject="s")
        book.update(no, state)
        if state in ("paid", "user_paying"):
            scenario = "success" if state == "paid" else "user_paying_forever"
            (config.paths.state_dir / CONTROL).write_text(json.dumps({"scenario": scenario}))
            gw.pay(WalletOrder(no, 500, "USD", "s", CODE))
        made[key] = no
    book.close()
    method = WalletMethod(config, QrOptions(), port=gw)
    assert method.open_orders() == ["A-000001", "B-000001", "C-000001", "D-000001"]
    assert method.recover(lambda key: key == "A-000001") is True
    states = {o.idem_key: o.state for o in method.book.orders()}
    assert states == {"A-000001": "recorded", "B-000001": "refunded", "C-000001": "closed",
                      "D-000001": "closed", "E-000001": "not_paid"}
    assert all(s in FINAL for s in states.values())
    assert method.open_orders() == []
    assert gw.orders[made["B-000001"]]["state"] == "refunded"
    method.close()


def test_a_cancel_before_the_attempt_started_ends_it_with_nothing_sent(lane):
    method, gw, _ = lane
    assert method.cancel(7) is True              # the core's worker has not called yet
    result = method.authorize(request(7), Steps())
    assert (result.outcome, result.reason) == ("declined", "cancelled")
    assert gw.orders == {} and method.cancel(7) is False   # over: a late cancel reverses
