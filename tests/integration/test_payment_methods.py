"""Payment methods are plug-ins (issue 15, items 4 and 5).

* A method from its own package (tests/plugins/kiosk_pay_voucher), installed next to the
  project with pip and found through its entry point, is bought with end to end: offered
  in the retained state (so on the payment screen), heard by voice, journaled, on the
  receipt; no file of the project changes.
* A method the lane does not offer is nowhere: not in the state, not heard, ``pay`` with it
  is refused.
* A production lane (the device image's config) refuses a simulated method with one line,
  at ``kiosk config check`` and when kiosk-core starts.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_voice import intents

from kiosk.config import load_config
from kiosk.journal.store import Journal
from kiosk.security.staff import hash_secret
from kiosk.services.voice.payments import listen_for_payments
from kiosk.ui.viewmodel import build_view
from tests.fixtures.sample_items import MILK
from tests.harness import REPO, kiosk_cli, kiosk_env
from tests.integration.flow import to_receipt

pytestmark = pytest.mark.integration

PLUGIN = REPO / "tests" / "plugins" / "kiosk_pay_voucher"
VOUCHER = {"KIOSK__PAYMENTS__METHODS": '["card", "voucher"]',
           "KIOSK__PAYMENTS__OPTIONS": '{voucher = {code = "GIFT-2026", balance_minor = 5000}}'}


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def voucher_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The voucher package installed into a directory of its own (the shared venv is not
    touched): on PYTHONPATH, its entry point is found like any installed package's."""
    work = tmp_path_factory.mktemp("voucher")
    source = work / "src"
    shutil.copytree(PLUGIN, source)  # setuptools builds in the source tree: not in ours
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def saved_intents():
    """The voice library's intents are process-wide: put them back after a test sets them."""
    langs = {lang: dict(li.intents) for lang, li in intents.LANGUAGES.items()}
    states = dict(intents.STATE_INTENTS)
    yield
    for lang, li in intents.LANGUAGES.items():
        li.intents.clear()
        li.intents.update(langs[lang])
    intents.STATE_INTENTS.clear()
    intents.STATE_INTENTS.update(states)


def _heard(text: str, lang: str = "en", state: str = "payment") -> str | None:
    words = [intents.Word(w, 1.0) for w in text.split()]
    result = intents.match(words, lang, state)
    return result.name if isinstance(result, intents.Intent) else None


def test_a_method_from_its_own_package_is_bought_with(voucher_site, start_core, shopper,
                                                      lane_env, monkeypatch, saved_intents):
    before = _git_status()
    env = dict(lane_env, PYTHONPATH=str(voucher_site), **VOUCHER)
    check = kiosk_cli(env, "config", "check")
    assert check.returncode == 0, check.stderr
    start_core(PYTHONPATH=str(voucher_site), **VOUCHER)
    shopper.wait_online()
    assert shopper.send("scan", code=MILK)["ok"]
    assert shopper.send("set_language", locale="ko")["ok"]
    assert shopper.send("checkout")["ok"]
    st = shopper.wait_state(lambda s: s["state"] == "payment")
    # offered, in the configured order; qr is not (not configured)
    assert [m["id"] for m in st["methods"]] == ["card", "voucher"]
    view = build_view(st, online=True)
    assert view.screen == "payment"
    assert [(m.id, m.label) for m in view.methods] == [("card", "카드"), ("voucher", "상품권")]
    assert shopper.send("pay", method="qr")["reason"] == "unknown_method"
    assert shopper.send("pay", method="voucher")["ok"]
    st = to_receipt(shopper)
    assert st["payment"]["method"] == "voucher" and st["payment"]["status"] == "approved"
    assert "GIFT-2026" not in str(st)

    # journaled under its id
    journal = Journal(Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "journal.sqlite")
    try:
        events = [e.event() for e in journal.entries()]
    finally:
        journal.close()
    asked = [e for e in events if e["type"] == "auth_requested"]
    assert [e["method"] for e in asked] == ["voucher"]
    assert any(e["type"] == "auth_approved" for e in events)
    assert "GIFT-2026" not in repr(events)

    # on the receipt, in the shopper's language, in the method's words
    receipts = Path(lane_env["KIOSK__PATHS__STATE_DIR"]) / "receipts"
    shopper.wait_state(lambda s: s.get("receipt") is not None)
    text = "\n".join(p.read_text(errors="replace") for p in receipts.rglob("*") if p.is_file())
    assert "상품권" in text and "GIFT-2026" not in text

    # heard by voice: the method's own words, with the same config
    for key, value in {"PYTHONPATH": str(voucher_site), **VOUCHER}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(voucher_site))
    monkeypatch.setenv("KIOSK_CONFIG_DIR", lane_env["KIOSK_CONFIG_DIR"])
    listen_for_payments(load_config())
    assert _heard("pay by voucher") == "pay_voucher"
    assert _heard("상품권 결제", "ko") == "pay_voucher"
    assert _heard("pay by card") == "pay_card"
    assert _heard("pay by phone") is None  # qr is not offered here
    assert _heard("pay by voucher", state="receipt") is None

    assert _git_status() == before  # no file of the project was changed


def test_production_phone_method_needs_its_gateway_with_the_device_images_config(tmp_path):
    """The full image's /etc/kiosk, plus a site file offering the phone method: a real
    method now (the config takes it), but kiosk-core refuses to start in one line while its
    gateway's files (CA, keys) are missing (a simulated method is refused as before: unit
    tests)."""
    site = tmp_path / "etc-kiosk"
    site.mkdir()
    for toml in sorted((REPO / "image-build/overlay/full/etc/kiosk").glob("*.toml")):
        shutil.copy(toml, site / toml.name)
    # provisioning's part: the lane's own staff (a device refuses the demo credentials)
    (site / "10-site.toml").write_text(
        f'[[staff.members]]\nid = "S200"\nname = "Lane Staff"\n'
        f'pin_hash = "{hash_secret("591737")}"\n')
    env = kiosk_env(tmp_path / "state", 1, "T1", KIOSK_CONFIG_DIR=str(site))
    own = kiosk_cli(env, "config", "check")
    assert own.returncode == 0, own.stderr  # the image's own config: real methods only
    (site / "20-phone.toml").write_text('[payments]\nmethods = ["card", "qr"]\n')
    assert kiosk_cli(env, "config", "check").returncode == 0
    done = kiosk_cli(env, "core", timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()   # (the card method may log its reader first)
    assert "kiosk-core: payment method 'qr': wallet file" in lines[-1], lines
    assert "qrpay/ca.pem" in lines[-1]     # the gateway's pinned CA is not there
    assert "Traceback" not in done.stderr
