"""The payment-method registry: entry points, the lane's offer, production refusal, routing."""

from __future__ import annotations

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.payments.card_method import CardMethod
from kiosk.payments.port import AuthRequest
from kiosk.payments.registry import MethodError, check, installed, method_class, offered
from kiosk.payments.wallet.method import WalletMethod
from kiosk.services.voice.payments import payment_ways
from kiosk.sim.payments import SimulatedAcquirer, lane_methods
from kiosk.sim.wallet_gateway import SimWalletGateway


def test_the_built_in_methods_register_through_entry_points():
    assert {"card", "qr"} <= set(installed())
    assert method_class("card") is CardMethod and not CardMethod.simulated
    assert method_class("qr") is WalletMethod and not WalletMethod.simulated


def test_an_unknown_method_or_stray_options_are_refused_in_one_line():
    with pytest.raises(MethodError, match=r"unknown payment method 'cash' \(installed: .*card"):
        check(["card", "cash"], {}, production=False)
    with pytest.raises(MethodError, match="payments.options.card: payment method 'card' takes"):
        check(["card"], {"card": {"x": 1}}, production=False)
    with pytest.raises(MethodError, match="twice"):
        check(["card", "card"], {}, production=False)


def test_production_refuses_a_simulated_method(config, monkeypatch):
    assert check(["card", "qr"], {}, production=True) == [CardMethod, WalletMethod]
    monkeypatch.setattr(WalletMethod, "simulated", True)  # as a simulator's class says
    with pytest.raises(MethodError) as refused:
        check(["card", "qr"], {}, production=True)
    assert "\n" not in str(refused.value)
    assert ("payment method 'qr' (kiosk.payments.wallet.method.WalletMethod) is a simulator"
            in str(refused.value))


def test_each_method_is_its_own_and_the_demo_gives_each_its_simulated_host(config):
    methods = lane_methods(config)  # devices.payment = "sim": the demo's lane
    assert list(methods) == ["card", "qr"]
    card, phone = methods["card"], methods["qr"]
    assert isinstance(card, CardMethod) and isinstance(phone, WalletMethod)
    assert isinstance(card.port, SimulatedAcquirer)
    assert isinstance(phone.gateway, SimWalletGateway)
    assert [m["id"] for m in offered(methods)] == ["card", "qr"]
    assert offered(methods)[1] == {"id": "qr", "label": "Mobile QR",
                                   "hint": "Pay with the payment app on your phone"}
    req = AuthRequest(txn="T1", method="qr", amount=1000, currency_code="USD",
                      currency_numeric=840, stan=1, idem_key="T1-000001")

    def show_code(step: dict) -> None:  # the shopper shows a code as soon as asked
        if step["step"] == "show_code":
            phone.present_code(1, "134567890123456789", "wechat")

    assert phone.authorize(req, show_code).outcome == "approved"
    phone.close()


def test_voice_hears_only_the_offered_methods(config, monkeypatch):
    assert list(payment_ways(config)) == ["pay_card", "pay_qr"]
    assert payment_ways(config)["pay_qr"]["en"] == (("phone", "mobile"),
                                                    ("pay by phone", "mobile pay", "phone please"))
    monkeypatch.setenv("KIOSK__PAYMENTS__METHODS", '["card"]')
    assert list(payment_ways(load_config())) == ["pay_card"]


def test_the_config_names_an_unknown_method(config, monkeypatch):
    monkeypatch.setenv("KIOSK__PAYMENTS__METHODS", '["card", "cash"]')
    with pytest.raises(ConfigError, match="unknown payment method 'cash'"):
        load_config()
