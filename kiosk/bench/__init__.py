"""Benchmarks: ``kiosk bench NAME``. Each prints readable figures, then one JSON line."""

from __future__ import annotations

from argparse import Namespace


def run_benchmark(name: str, args: Namespace) -> int:
    if name == "core":
        from kiosk.bench.core import bench_core

        return bench_core(events=args.events, runs=args.runs)
    raise SystemExit(f"unknown benchmark {name!r}")
