"""What the gateway client refuses: answers and notifications whose signature does not
verify, a gateway certificate outside the pinned CA, key files others could read or that are
not ours, demo keys on a production lane; and that a payment code never reaches a log, the
ledger or an exception."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from kiosk.payments.wallet.client import open_gateway
from kiosk.payments.wallet.config import DEMO_MARK, WalletConfigError, WalletOptions
from kiosk.payments.wallet.gateway import WalletOrder
from kiosk.sim.qrpay import QrPaySim
from kiosk.sim.qrpay_keys import make_demo_keys
from kiosk.sim.qrpay_wire import notification
from tests.wallet.gateway.conftest import DIALECTS, new_order_no, order, order_events

ECHO = {"generic": {"merchant_id": "kiosk-demo"}, "alipay": {"app_id": "kiosk-demo"},
        "wechat": {"appid": "kiosk-demo", "mch_id": "1900000109"}}


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory):
    """Another set of keys: what a forger, or a misconfigured lane, holds."""
    return make_demo_keys(tmp_path_factory.mktemp("other") / "qrpay")


def _options(sim, dialect, **extra) -> WalletOptions:
    return WalletOptions(**sim.lane_options(dialect, **{"retries": 0, **extra}))


# -- signatures -------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
def test_answers_signed_by_another_key_do_not_count(sim, sim_dir, other_keys, dialect):
    """The gateway charged, but the answer verifies only against a key the lane does not
    trust: bad_answer, never paid."""
    if dialect == "alipay":
        opts = _options(sim, dialect, gateway_public_key_file=str(other_keys.gateway_pub_pem))
    else:   # a lane with another HMAC key: the gateway refuses its requests, unsigned
        opts = _options(sim, dialect, sign_key_file=str(other_keys.hmac_key))
    gw = open_gateway(opts, sim_dir)
    o = order("success", dialect)
    answer = gw.pay(o)
    assert (answer.transport, answer.trade) == ("bad_answer", "unknown")
    assert gw.query(o.order_no).transport == "bad_answer"
    gw.close()


def test_a_request_signed_by_another_key_is_refused_by_the_gateway(sim, sim_dir, other_keys):
    gw = open_gateway(_options(sim, "alipay", sign_key_file=str(other_keys.merchant_key)),
                      sim_dir)
    o = order("success", "alipay")
    assert gw.pay(o).transport == "bad_answer"     # an unsigned error_response
    assert order_events(sim, o.order_no) == []     # never reached the engine
    gw.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_notifications_verified_before_they_count(gateway, sim, dialect):
    gw = gateway(dialect)
    no = new_order_no()
    headers, body = notification(dialect, no, 1200, "CNY", "T1", ECHO[dialect], sim.keys)
    note = gw.verify_notification(headers, body)
    assert note is not None and (note.order_no, note.answer.trade, note.answer.paid_amount) == (
        no, "paid", 1200)
    forged_h, forged_b = notification(dialect, no, 1200, "CNY", "T1", ECHO[dialect], sim.keys,
                                      bad_signature=True)
    assert gw.verify_notification(forged_h, forged_b) is None
    amount = {"generic": b'"paid_amount":1200', "alipay": b"total_amount=12.00",
              "wechat": b"<total_fee><![CDATA[1200]]>"}[dialect]
    assert amount in body
    tampered = body.replace(amount, amount.replace(b"12", b"99"))
    assert gw.verify_notification(headers, tampered) is None
    other = {k: "someone-else" for k in ECHO[dialect]}
    h3, b3 = notification(dialect, no, 1200, "CNY", "T1", other, sim.keys)
    assert gw.verify_notification(h3, b3) is None
    assert gw.notification_reply(True).body in (b"success", b'{"ok":true}') or \
        b"SUCCESS" in gw.notification_reply(True).body


# -- TLS --------------------------------------------------------------------------------------
def test_a_gateway_outside_the_pinned_ca_is_not_talked_to(sim, sim_dir, other_keys):
    gw = open_gateway(_options(sim, "generic", ca_file=str(other_keys.ca_pem), retries=2),
                      sim_dir)
    o = order("success", "generic")
    answer = gw.pay(o)
    assert (answer.transport, answer.reason) == ("error", "tls")
    assert order_events(sim, o.order_no) == []
    gw.close()


def test_mutual_tls(sim_dir):
    with QrPaySim(sim_dir, mtls=True, ledger=sim_dir / "mtls-ledger.jsonl") as strict:
        without = open_gateway(WalletOptions(**strict.lane_options("wechat", retries=0)
                                             | {"client_cert_file": None,
                                                "client_key_file": None}), sim_dir)
        o = order("success", "wechat")
        assert without.pay(o).transport == "error"
        with_cert = open_gateway(WalletOptions(**strict.lane_options("wechat")), sim_dir)
        assert with_cert.pay(o).trade == "paid"
        without.close()
        with_cert.close()


# -- key files --------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect, key", [("generic", "hmac_key"), ("alipay", "merchant_key"),
                                          ("wechat", "client_key")])
def test_key_file_readable_by_others_is_refused(sim, sim_dir, tmp_path, dialect, key):
    leaked = tmp_path / "leaked.key"
    shutil.copyfile(getattr(sim.files, key), leaked)
    os.chmod(leaked, 0o644)
    if key == "client_key":
        opts = _options(sim, dialect, client_cert_file=str(sim.files.client_pem),
                        client_key_file=str(leaked))
    else:
        opts = _options(sim, dialect, sign_key_file=str(leaked))
    with pytest.raises(WalletConfigError) as err:
        open_gateway(opts, sim_dir)
    assert str(err.value) == f"wallet key file {leaked} has mode 0644: chmod 600 {leaked}"
    os.chmod(leaked, 0o600)
    open_gateway(opts, sim_dir).close()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_key_file_of_another_user_is_refused(sim, sim_dir, tmp_path):
    foreign = tmp_path / "foreign.key"
    shutil.copyfile(sim.files.hmac_key, foreign)
    os.chmod(foreign, 0o600)
    os.chown(foreign, 4242, -1)
    with pytest.raises(WalletConfigError, match="belongs to uid 4242, not to this service"):
        open_gateway(_options(sim, "generic", sign_key_file=str(foreign)), sim_dir)


def test_missing_key_file(sim, sim_dir, tmp_path):
    with pytest.raises(WalletConfigError, match="missing"):
        open_gateway(_options(sim, "wechat", sign_key_file=str(tmp_path / "none.key")), sim_dir)


def _real(src: Path, dst: Path, private: bool) -> Path:
    """A copy of ``src`` without the demo mark (as a real key would be)."""
    data = src.read_bytes()
    dst.write_bytes(data.replace((DEMO_MARK + "\n").encode(), b"").replace(b"demo-", b"live-"))
    os.chmod(dst, 0o600 if private else 0o644)
    return dst


@pytest.mark.parametrize("dialect", DIALECTS)
def test_production_refuses_demo_keys(sim, sim_dir, tmp_path, dialect):
    opts = _options(sim, dialect)
    with pytest.raises(WalletConfigError, match="security.production: .* demo keys"):
        open_gateway(opts, sim_dir, production=True)
    real = {"ca_file": str(_real(sim.files.ca_pem, tmp_path / "ca.pem", False)),
            "sign_key_file": str(_real(Path(opts.sign_key_file), tmp_path / "sign.key", True))}
    if dialect == "alipay":
        real["gateway_public_key_file"] = str(_real(sim.files.gateway_pub_pem,
                                                    tmp_path / "gw.pem", False))
    open_gateway(_options(sim, dialect, **real), sim_dir, production=True).close()


# -- the payment code stays secret ------------------------------------------------------------
def test_the_payment_code_is_never_logged_nor_in_the_ledger(gateway, sim, caplog):
    caplog.set_level(logging.DEBUG)
    codes = []
    for dialect in DIALECTS:
        gw = gateway(dialect)
        for scenario in ("success", "signature_invalid", "answer_lost", "code_used"):
            o = order(scenario, dialect)
            codes.append(o.code)
            gw.pay(o)
            gw.query(o.order_no)
            gw.reverse(o.order_no)
            assert o.code not in repr(o)
        with pytest.raises(ValueError) as err:
            gw.pay(WalletOrder("bad-no", 1, "CNY", "x", codes[-1]))
        assert codes[-1] not in str(err.value)
    ledger = sim.ledger_path.read_text()
    text = caplog.text
    assert "pay K" in text                        # the lines are there, without the code
    for code in codes:
        assert code not in text and code not in ledger
