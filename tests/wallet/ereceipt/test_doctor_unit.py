"""`kiosk doctor` checks kiosk-ereceipt only on a lane with e-receipts (elsewhere the unit is
skipped by its condition, and inactive is right)."""

from __future__ import annotations

from kiosk.ops.doctor import check_services
from tests.unit.test_doctor import _script


def test_the_doctor_checks_kiosk_ereceipt_only_with_e_receipts(config, tmp_path, monkeypatch):
    _script(tmp_path / "bin", 'case "$1" in is-system-running) echo running ;;\n'
            '  is-active) echo active ;;\nesac\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    checked = {f.check for f in check_services(config)}
    assert "service kiosk-core.service" in checked
    assert "service kiosk-ereceipt.service" not in checked
    store = config.store.model_copy(update={"e_receipt_url": "https://r.test/r/{txn}"})
    checked = {f.check for f in check_services(config.model_copy(update={"store": store}))}
    assert "service kiosk-ereceipt.service" in checked
