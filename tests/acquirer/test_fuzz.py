"""The acquirer's response handling (raw bytes -> framing + decode + match + field 55):
the seeds the fuzz mutates are understood. The fuzz itself (only IsoError may escape) is
the ``iso8583`` target in kiosk.bench.fuzz_targets: short in tests/fuzz/, long in
``kiosk bench fuzz`` (the 100,000 + 25,000 inputs that ran here moved there)."""

from __future__ import annotations

from kiosk.bench.fuzz_targets import ISO_DIALECTS, iso_setup
from kiosk.payments.acquirer import handle_response_bytes


def test_seeds_are_understood():
    for name in ISO_DIALECTS:
        d, sent, _, seeds = iso_setup(name)
        answers = [handle_response_bytes(d, s, sent) for s in seeds]
        assert [a.outcome if a else None for a in answers] == [
            "approved", "declined", "declined", "approved", None]
        assert answers[0].issuer_auth_data == bytes.fromhex("0102030405060708") + b"00"
        assert answers[3].scripts_71 == bytes.fromhex("71039F1800")
