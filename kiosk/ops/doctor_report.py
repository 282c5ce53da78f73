"""The doctor's report: one :class:`Finding` per line (ok / warn / FAIL, the fix to try), as text.

:mod:`kiosk.ops.doctor` runs the checks; :mod:`kiosk.ops.doctor_devices` holds the device ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, the verdict, what was seen, what to try."""

    check: str
    verdict: Verdict
    detail: str
    fix: str = ""


def ok(check: str, detail: str) -> Finding:
    return Finding(check, "ok", detail)


def warn(check: str, detail: str, fix: str = "") -> Finding:
    return Finding(check, "warn", detail, fix)


def fail(check: str, detail: str, fix: str = "") -> Finding:
    return Finding(check, "FAIL", detail, fix)


def format_text(findings: list[Finding]) -> str:
    width = max((len(f.check) for f in findings), default=0)
    lines = []
    for f in findings:
        lines.append(f"{f.verdict:<4}  {f.check:<{width}}  {f.detail}")
        if f.fix and f.verdict != "ok":
            lines.append(f"{'':<4}  {'':<{width}}  fix: {f.fix}")
    counts = {v: sum(f.verdict == v for f in findings) for v in ("ok", "warn", "FAIL")}
    lines.append(f"doctor: {counts['ok']} ok, {counts['warn']} warn, {counts['FAIL']} FAIL")
    return "\n".join(lines)
