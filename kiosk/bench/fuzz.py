"""``kiosk bench fuzz``: every fuzz target (kiosk.bench.fuzz_targets) for a long run.

Prints, per target, the cases tried, the wall time, cases per second (wall and per CPU
second: the second is the fairer figure on a busy machine) and any crash (the exception
and the input, shortened), then as the last line one JSON object:
``cases``, ``cases_per_s`` and ``crashes`` (totals) and ``targets`` (the same per target).
Unlike the short fuzz tests, a crash does not stop a target: it is counted and the run
goes on (no shrinking), so one bug does not hide the next. Needs hypothesis (the
``test`` extra).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CASES = 20_000
#: the TLV and ISO 8583 fuzz ran 100,000 cases inside the test run before it moved here
LONG_CASES = {"tlv": 100_000, "iso8583": 100_000}


@dataclass
class FuzzRun:
    target: str
    cases: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    crashes: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def run_target(name: str, cases: int, workdir: Path, collect: bool = False) -> FuzzRun:
    """Run ``cases`` inputs through target ``name``. Without ``collect`` the first crash
    raises (hypothesis shrinks it and prints the input); with it, crashes are counted."""
    # hypothesis is a test extra: loaded only when a fuzz target runs
    from hypothesis import HealthCheck, Phase, given, settings

    from kiosk.bench.fuzz_targets import TARGETS

    run = FuzzRun(name)
    with TARGETS[name](workdir / name) as (strategy, check):

        @settings(max_examples=cases, deadline=None, database=None,
                  phases=[Phase.generate] if collect else [Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def fuzz(value: object) -> None:
            run.cases += 1
            if not collect:
                check(value)
                return
            try:
                check(value)
            except Exception as exc:  # noqa: BLE001 - a crash is what the bench counts
                run.crashes.append(f"{type(exc).__name__}: {str(exc)[:160]} <- "
                                   f"{repr(value)[:160]}")

        started, cpu = time.perf_counter(), time.process_time()
        fuzz()
        run.seconds = time.perf_counter() - started
        run.cpu_seconds = time.process_time() - cpu
    return run


def bench_fuzz(cases: int | None = None, targets: list[str] | None = None) -> int:
    """Run every target (or ``targets``) for ``cases`` each (default: DEFAULT_CASES, and
    LONG_CASES for the cheap parsers); returns 1 when a crash was found."""
    try:
        from kiosk.bench.fuzz_targets import TARGETS
    except ImportError as exc:
        print(f"kiosk bench fuzz needs hypothesis (pip install 'kiosk[test]'): {exc}")
        return 2
    names = targets or list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        print(f"unknown fuzz target(s): {', '.join(unknown)} (have {', '.join(TARGETS)})")
        return 2
    runs = []
    with tempfile.TemporaryDirectory(prefix="kiosk-fuzz-") as tmp:
        for name in names:
            count = cases or LONG_CASES.get(name, DEFAULT_CASES)
            run = run_target(name, count, Path(tmp), collect=True)
            runs.append(run)
            per_cpu = run.cases / run.cpu_seconds if run.cpu_seconds else 0.0
            print(f"{name:15s} {run.cases:8d} cases {run.seconds:8.1f} s {run.per_s:7.0f}"
                  f" cases/s ({per_cpu:5.0f} per CPU s)  {len(run.crashes)} crash(es)",
                  flush=True)
            for crash in run.crashes[:5]:
                print(f"    {crash}")
    total = sum(r.cases for r in runs)
    seconds = sum(r.seconds for r in runs)
    crashes = sum(len(r.crashes) for r in runs)
    print(f"{'all':15s} {total:8d} cases {seconds:8.1f} s"
          f" {total / seconds if seconds else 0:7.0f} cases/s  {crashes} crash(es)")
    print(json.dumps({
        "cases": total, "cases_per_s": round(total / seconds, 1) if seconds else 0.0,
        "crashes": crashes,
        "targets": {r.target: {"cases": r.cases, "cases_per_s": round(r.per_s, 1),
                               "cases_per_cpu_s": round(r.cases / r.cpu_seconds, 1)
                               if r.cpu_seconds else 0.0,
                               "crashes": len(r.crashes)} for r in runs},
    }))
    return 1 if crashes else 0
