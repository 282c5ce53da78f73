"""`kiosk doctor` on the certificate files a lane relies on: real PEM files made here with
``cryptography`` (expired, expiring in 10 days, valid a year, not valid yet, a bundle of two,
garbage, missing, unreadable), named in a lane's configuration through ``KIOSK__...``
variables, judged by ``kiosk doctor --json`` as its own process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kiosk.bus.bridge import StoreLink, bridge_text
from kiosk.config import load_config
from kiosk.ops.doctor import check_certificates
from kiosk.security.certificates import NotCertificates, expiries
from tests.fixtures.certs import DAY, NOW, key_pem, pem, write
from tests.harness import kiosk_cli, kiosk_env


def doctor_certificates(env: dict[str, str]) -> dict[str, dict]:
    """``kiosk doctor --json``'s certificate lines, by check name."""
    done = kiosk_cli(env, "doctor", "--json", "--min-free-mb", "1")
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert not [f for f in findings if f["check"] == "config" and f["verdict"] == "FAIL"]
    return {f["check"]: f for f in findings if f["check"].startswith("certificate")}


def lane(tmp_path: Path, **overrides: str) -> dict[str, str]:
    # no broker on port 1: the bus checks fail at once, which these tests do not read
    return kiosk_env(tmp_path / "state", 1, f"C{os.getpid()}", **overrides)


def test_each_certificate_file_of_a_card_and_wallet_lane_is_judged(tmp_path):
    certs = tmp_path / "certs"
    expired = write(certs / "acquirer-ca.pem", pem("acquirer CA", NOW - 400 * DAY, NOW - 5 * DAY))
    soon = write(certs / "client.pem", pem("lane client", NOW - 300 * DAY, NOW + 10.5 * DAY))
    client_key = write(certs / "client.key", key_pem(), 0o600)
    # a bundle: a CA valid a year, then one that expires in 20 days (the earliest counts)
    bundle = pem("gateway root", NOW - DAY, NOW + 365 * DAY) + pem("gateway intermediate",
                                                                    NOW - DAY, NOW + 20.5 * DAY)
    write(tmp_path / "state" / "gw" / "ca.pem", bundle)  # relative: inside the state dir
    not_yet = write(certs / "mtls.pem", key_pem() + pem("wallet client", NOW + 3 * DAY,
                                                        NOW + 400 * DAY))
    garbage = write(certs / "office-ca.pem", b"this is not a certificate\n\x00\x01")
    env = lane(tmp_path, **{
        "KIOSK__DEVICES__PAYMENT": "card",
        "KIOSK__ACQUIRER__PLAIN_TCP_SIMULATOR_ONLY": "false",
        "KIOSK__ACQUIRER__CA_FILE": expired,
        "KIOSK__ACQUIRER__CLIENT_CERT_FILE": soon,
        "KIOSK__ACQUIRER__CLIENT_KEY_FILE": client_key,
        "KIOSK__PAYMENTS__OPTIONS__QR": '{ca_file = "gw/ca.pem", client_cert_file = "'
                                        + not_yet + '", client_key_file = "' + client_key + '"}',
        "KIOSK__SYNC__URL": "https://127.0.0.1:1",
        "KIOSK__SYNC__CA_FILE": garbage,
        "KIOSK__STORE__E_RECEIPT_URL": "https://127.0.0.1:8088/r/{txn}",
        "KIOSK__ERECEIPT__TLS_CERT": str(certs / "gone.pem"),
        "KIOSK__ERECEIPT__TLS_KEY": client_key,
    })
    lines = doctor_certificates(env)
    assert {k: f["verdict"] for k, f in lines.items()} == {
        "certificate acquirer.ca_file": "FAIL",
        "certificate acquirer.client_cert_file": "warn",
        "certificate payments.options.qr.ca_file": "warn",
        "certificate payments.options.qr.client_cert_file": "FAIL",
        "certificate sync.ca_file": "FAIL",
        "certificate ereceipt.tls_cert": "FAIL",
    }

    def detail(key: str) -> str:
        return lines[f"certificate {key}"]["detail"]

    day = "%Y-%m-%d"
    assert detail("acquirer.ca_file").startswith(
        f"{expired}: CN=acquirer CA expired on {(NOW - 5 * DAY):{day}}")
    assert detail("acquirer.ca_file").endswith("(5 days ago)")
    assert "systemctl restart kiosk-core" in lines["certificate acquirer.ca_file"]["fix"]
    assert detail("acquirer.client_cert_file").startswith(
        f"{soon}: CN=lane client expires on {(NOW + 10.5 * DAY):{day}}")
    assert detail("acquirer.client_cert_file").endswith("(10 days left)")
    assert detail("payments.options.qr.ca_file") == (
        f"{tmp_path / 'state' / 'gw' / 'ca.pem'}: CN=gateway intermediate expires on"
        f" {(NOW + 20.5 * DAY).strftime('%Y-%m-%d %H:%M')} UTC (20 days left)"
        " (earliest of 2 certificates)")
    assert detail("payments.options.qr.client_cert_file").startswith(
        f"{not_yet}: CN=wallet client is not valid before {(NOW + 3 * DAY):{day}}")
    assert "PRIVATE KEY" not in json.dumps(lines)  # the key beside it is never shown
    assert detail("sync.ca_file") == (f"{garbage}: no PEM certificate in it (a DER file, a key"
                                      " alone, or not a certificate)")
    assert detail("ereceipt.tls_cert") == f"{certs / 'gone.pem'} missing"
    assert "ereceipt.tls_cert" in lines["certificate ereceipt.tls_cert"]["fix"]


def test_the_e_receipt_certificate_needs_no_restart_once_renewed(tmp_path):
    """kiosk-ereceipt takes a renewed certificate by itself (kiosk.services.ereceipt.ServerTls):
    the fix line says so instead of a restart."""
    soon = write(tmp_path / "certs" / "ereceipt.pem", pem("receipts", NOW - DAY, NOW + 9.5 * DAY))
    env = lane(tmp_path, **{
        "KIOSK__STORE__E_RECEIPT_URL": "https://127.0.0.1:8088/r/{txn}",
        "KIOSK__ERECEIPT__TLS_CERT": soon,
        "KIOSK__ERECEIPT__TLS_KEY": write(tmp_path / "certs" / "ereceipt.key", key_pem(), 0o600),
    })
    line = doctor_certificates(env)["certificate ereceipt.tls_cert"]
    assert line["verdict"] == "warn" and line["detail"].endswith("(9 days left)")
    assert line["fix"] == (
        f"install a renewed certificate at {soon} (docs/technician.md, certificates);"
        " kiosk-ereceipt takes it by itself within seconds, no restart (journalctl -u"
        " kiosk-ereceipt: 'TLS certificate reloaded')")


def test_a_demo_lane_judges_only_the_files_it_uses(tmp_path):
    """With the simulated host, neither the acquirer's CA nor the wallet's default CA is used;
    a file valid a year is ok, one this user cannot read is a warning (not as root)."""
    certs = tmp_path / "certs"
    year = write(certs / "office-ca.pem", pem("back office CA", NOW - DAY, NOW + 366 * DAY))
    hidden = write(certs / "ereceipt.pem", pem("receipts", NOW - DAY, NOW + 366 * DAY), 0o000)
    env = lane(tmp_path, **{
        "KIOSK__ACQUIRER__PLAIN_TCP_SIMULATOR_ONLY": "false",  # set, but the host is simulated
        "KIOSK__ACQUIRER__CA_FILE": str(certs / "absent.pem"),
        "KIOSK__SYNC__URL": "https://127.0.0.1:1",
        "KIOSK__SYNC__CA_FILE": year,
        "KIOSK__STORE__E_RECEIPT_URL": "https://127.0.0.1:8088/r/{txn}",
        "KIOSK__ERECEIPT__TLS_CERT": hidden,
        "KIOSK__ERECEIPT__TLS_KEY": hidden,
    })
    lines = doctor_certificates(env)
    assert set(lines) == {"certificate sync.ca_file", "certificate ereceipt.tls_cert"}
    sync = lines["certificate sync.ca_file"]
    assert sync["verdict"] == "ok" and sync["detail"].startswith(
        f"{year}: CN=back office CA valid until {(NOW + 366 * DAY):%Y-%m-%d}")
    if os.geteuid() == 0:
        assert lines["certificate ereceipt.tls_cert"]["verdict"] == "ok"  # root reads all
    else:
        assert lines["certificate ereceipt.tls_cert"]["verdict"] == "warn"
        assert lines["certificate ereceipt.tls_cert"]["fix"] == "run kiosk doctor as root"


def test_the_wallet_default_ca_counts_once_its_gateway_is_configured(tmp_path):
    """``[payments.options.qr]`` names a gateway: its CA (default qrpay/ca.pem in the state
    dir) is used even on a demo lane, so it is judged; without the file, FAIL naming the key."""
    env = lane(tmp_path, KIOSK__PAYMENTS__METHODS='["qr"]',
               KIOSK__PAYMENTS__OPTIONS__QR='{url = "https://127.0.0.1:8643"}')
    ca = tmp_path / "state" / "qrpay" / "ca.pem"
    config = load_config(environ=env)
    (line,) = check_certificates(config, bridge_dir=tmp_path / "no-bridge")
    assert (line.check, line.verdict, line.detail) == (
        "certificate payments.options.qr.ca_file", "FAIL", f"{ca} missing")
    write(ca, pem("qrpay CA", NOW - DAY, NOW + 200 * DAY))
    (line,) = check_certificates(config, bridge_dir=tmp_path / "no-bridge")
    assert line.verdict == "ok" and line.detail.startswith(f"{ca}: CN=qrpay CA valid until")


def test_the_store_broker_ca_of_the_lane_bridge_is_judged(tmp_path):
    ca = write(tmp_path / "store-ca.crt", pem("store CA", NOW - 30 * DAY, NOW + 2 * DAY))
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "kiosk.conf").write_text("listener 1883 127.0.0.1\n")
    (conf_d / "store-bridge.conf").write_text(
        bridge_text("L01", StoreLink("10.0.0.5", 8883, Path(ca), "s3cret-store-password")))
    config = load_config(environ=lane(tmp_path))
    found = list(check_certificates(config, bridge_dir=conf_d))
    assert [(f.check, f.verdict) for f in found] == [
        (f"certificate {conf_d / 'store-bridge.conf'}: bridge_cafile", "warn")]
    assert found[0].detail.startswith(f"{ca}: CN=store CA expires on")
    assert "systemctl restart mosquitto" in found[0].fix
    assert "s3cret" not in repr(found)


def test_expiries_reads_each_certificate_of_a_bundle_and_refuses_garbage():
    first, second = pem("a", NOW - DAY, NOW + 9 * DAY), pem("b", NOW - DAY, NOW + 99 * DAY)
    got = expiries(b"# a comment line\n" + first + key_pem() + second)
    assert [(v.subject, v.not_after.date()) for v in got] == [
        ("CN=a", (NOW + 9 * DAY).date()), ("CN=b", (NOW + 99 * DAY).date())]
    for bad in (b"", key_pem(), b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(NotCertificates):
            expiries(bad)
