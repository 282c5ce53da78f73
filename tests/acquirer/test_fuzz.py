"""Fuzz the response handling (raw bytes → framing + decode + match + field 55): only our
own parse error (IsoError) may escape. 100,000 inputs through the default dialect and
25,000 through the ASCII/hex one (slow)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.payments.acquirer import HostAnswer, handle_response_bytes
from kiosk.payments.iso8583 import IsoError, load_dialect

EXAMPLES = 100_000


def _setup(name: str):
    d = load_dialect(name)
    values = {"4": "000000001234", "7": "1125130000", "11": "000042", "12": "130000",
              "13": "1125", "49": "840", "55": "9F2701809F360200AB"}
    _, sent = d.build(d.auth_mti, values)
    base = {k: v for k, v in sent.items() if k in ("3", "4", "7", "11", "41", "42", "49")}
    seeds = []
    for extra in ({"39": "00", "38": "A12345", "37": "000000000001",
                   "55": "910A010203040506070830307204" "9F180100"},
                  {"39": "05"}, {"39": "10", "54": "0002840C000000000500"},
                  {"39": "00", "55": "71039F1800720486020000"}):
        doc = dict(base, t=d.response_mti(d.auth_mti), **extra)
        seeds.append(d.frame(d.encode(doc)))
    seeds.append(d.frame(d.encode(dict(base, t="0410", **{"39": "00"}))))
    return d, sent, base, seeds


def _mutate(seed: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    buf = bytearray(seed)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    return bytes(buf[:cut] if cut < len(buf) else buf) + tail


def _run(name: str, examples: int) -> tuple[int, float]:
    d, sent, base, seeds = _setup(name)
    count = 0
    icc = st.binary(max_size=80).map(lambda b: d.frame(d.encode(
        dict(base, t=d.response_mti(d.auth_mti), **{"39": "00", "55": b.hex().upper()}))))
    inputs = st.one_of(
        st.binary(max_size=300),
        st.builds(_mutate, st.sampled_from(seeds),
                  st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
                  st.integers(0, 400), st.binary(max_size=12)),
        st.lists(st.sampled_from(seeds), min_size=1, max_size=3).map(b"".join),
        icc,
    )

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def check(raw: bytes) -> None:
        nonlocal count
        count += 1
        try:
            result = handle_response_bytes(d, raw, sent)
        except IsoError:
            return
        assert result is None or isinstance(result, HostAnswer)

    start = time.perf_counter()
    check()
    return count, time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.parametrize("dialect,examples", [("default", EXAMPLES),
                                              ("alt_ascii_dual", EXAMPLES // 4)])
def test_response_handling_fuzz(dialect, examples):
    count, seconds = _run(dialect, examples)
    print(f"\nfuzz {dialect}: {count} inputs in {seconds:.1f} s")
    assert count >= examples


def test_seeds_are_understood():
    for name in ("default", "alt_ascii_dual"):
        d, sent, _, seeds = _setup(name)
        answers = [handle_response_bytes(d, s, sent) for s in seeds]
        assert [a.outcome if a else None for a in answers] == [
            "approved", "declined", "declined", "approved", None]
        assert answers[0].issuer_auth_data == bytes.fromhex("0102030405060708") + b"00"
        assert answers[3].scripts_71 == bytes.fromhex("71039F1800")
