"""Small statistics helpers for benchmarks (median, nearest-rank percentile, RSS)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples_s: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds of samples in seconds."""
    ms = [s * 1000 for s in samples_s]
    return statistics.median(ms), percentile(ms, 95)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
