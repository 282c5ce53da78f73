"""Property-based fuzz of every parser of outside input (kiosk.bench.fuzz_targets), each
with a short budget: bus commands (parse_command, and kiosk-core's handle_command
in-process), the catalog import, the config loader, the scanner's classification, EMV
TLV and ISO 8583 host answers. A failure is shrunk by hypothesis and shows the input.
The long run is ``kiosk bench fuzz``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, settings

from kiosk.bench.fuzz import run_target
from kiosk.bench.fuzz_targets import TARGETS, command_dict, command_types
from kiosk.bus.messages import MessageError, encode, parse_command

CASES = 2_000
# the targets that run a whole component per case get a smaller share of the default run's
# 15 minutes (kiosk-core in process: ~28 ms a case; the catalog import and the config loader
# write and read files): their long runs are in `kiosk bench fuzz`
CASES_FOR = {"core": 600, "catalog": 1_000, "config": 1_000}


# core_nested (kiosk-core in process fed nested payloads between ordinary ones) runs in
# `kiosk bench fuzz`; here command_nested covers the parser and the core's own loop guard is
# tested on the real process (tests/integration/test_bus_robustness.py)
@pytest.mark.parametrize("target", [name for name in TARGETS if name != "core_nested"])
def test_fuzz(target: str, tmp_path: Path) -> None:
    cases = CASES_FOR.get(target, CASES)
    run = run_target(target, cases, tmp_path)
    assert run.cases >= cases


@pytest.mark.parametrize("kind", command_types())
def test_the_command_fuzz_gets_past_the_parser_for_every_type(kind: str) -> None:
    def accepted(msg: dict) -> bool:
        try:
            return parse_command(encode(msg), 16384)["type"] == kind
        except MessageError:
            return False

    found = find(command_dict(kind), accepted, settings=settings(
        max_examples=500, database=None, suppress_health_check=list(HealthCheck)))
    assert found["type"] == kind


def test_bench_fuzz_prints_figures_then_one_json_line(tmp_path: Path) -> None:
    import json

    from tests.harness import kiosk_cli

    env = {"PATH": "/usr/bin:/bin", "KIOSK_CONFIG_DIR": str(tmp_path / "none"),
           "KIOSK__PATHS__STATE_DIR": str(tmp_path / "state")}
    done = kiosk_cli(env, "bench", "fuzz", "--fuzz-cases", "60", "--fuzz-target", "tlv",
                     "--fuzz-target", "scanner", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["tlv", "scanner", "all"]
    figures = json.loads(lines[-1])
    assert (figures["cases"], figures["crashes"]) == (120, 0) and figures["cases_per_s"] > 0
    assert set(figures["targets"]) == {"tlv", "scanner"}


def test_the_bench_counts_crashes_and_goes_on(monkeypatch, tmp_path: Path) -> None:
    import contextlib

    from hypothesis import strategies as st

    from kiosk.bench import fuzz_targets

    @contextlib.contextmanager
    def boom(workdir: Path):
        def check(n: int) -> None:
            if n % 3 == 0:
                raise ZeroDivisionError(n)

        yield st.integers(0, 1000), check

    monkeypatch.setitem(fuzz_targets.TARGETS, "boom", boom)
    run = run_target("boom", 200, tmp_path, collect=True)
    assert run.cases == 200 and 0 < len(run.crashes) < 200
    assert run.crashes[0].startswith("ZeroDivisionError: ")
    with pytest.raises(ZeroDivisionError):  # the tests stop (and shrink) at the first one
        run_target("boom", 200, tmp_path)
