"""Run a real service process under its unit's seccomp rules, without systemd.

Two of a unit's settings are rules the kernel applies to the process itself, so a test can
apply them the same way: ``SystemCallFilter=`` (with ``SystemCallErrorNumber=EPERM``:
a call off the list fails with EPERM) and ``MemoryDenyWriteExecute=`` (Linux 6.3+
``prctl(PR_SET_MDWE)``, which systemd uses for it where the kernel has it). The allowed
calls come from the unit file, expanded with ``systemd-analyze syscall-filter`` (the
installed systemd's own groups) and numbered from the kernel headers; a
``sitecustomize.py`` on ``PYTHONPATH`` installs both before anything is imported, and
prints :data:`MARK` so a test can see it ran. x86-64 only (the numbering used here).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from tests.harness import REPO

MARK = "kiosk-test sandbox on:"
UNISTD = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
#: systemd always allows @default on top of an allow list
ALWAYS = "@default"

SITECUSTOMIZE = '''\
import ctypes, json, os, sys

def _apply():
    spec = json.loads(open(os.environ["KIOSK_TEST_SANDBOX"]).read())
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    if spec["mdwe"] and prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, REFUSE_EXEC_GAIN
        raise SystemExit("PR_SET_MDWE refused: errno %d" % ctypes.get_errno())
    if spec["syscalls"] is None:
        return

    class Insn(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                    ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    insns = [(ld, 0, 0, 4), (jeq, 1, 0, 0xC000003E), (ret, 0, 0, eperm),  # native only
             (ld, 0, 0, 0), (jge, 0, 1, 0x40000000), (ret, 0, 0, eperm)]   # no x32
    for nr in spec["syscalls"]:
        insns += [(jeq, 0, 1, nr), (ret, 0, 0, allow)]
    insns.append((ret, 0, 0, eperm))
    table = (Insn * len(insns))(*[Insn(*i) for i in insns])
    prog = Prog(len(insns), table)
    if prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS (NoNewPrivileges=yes)
        raise SystemExit("PR_SET_NO_NEW_PRIVS refused")
    if prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:  # PR_SET_SECCOMP, MODE_FILTER
        raise SystemExit("seccomp filter refused: errno %d" % ctypes.get_errno())

_apply()
print("kiosk-test sandbox on: " + os.environ["KIOSK_TEST_SANDBOX_UNIT"], file=sys.stderr,
      flush=True)
'''


def unavailable() -> str | None:
    """Why the rules cannot be applied here (None: they can)."""
    if platform.machine() != "x86_64" or not UNISTD.exists():
        return "needs x86-64 and its kernel headers (linux-libc-dev)"
    if shutil.which("systemd-analyze") is None:
        return "systemd-analyze not found"
    probe = subprocess.run([sys.executable, "-c", "import ctypes, sys; sys.exit(ctypes.CDLL("
                            "None).prctl(65, 1, 0, 0, 0) != 0)"], capture_output=True)
    if probe.returncode != 0:
        return "kernel without PR_SET_MDWE (Linux < 6.3)"
    return None


@cache
def syscall_numbers() -> dict[str, int]:
    found = re.findall(r"#define __NR_(\w+)\s+(\d+)", UNISTD.read_text())
    return {name: int(nr) for name, nr in found}


@cache
def syscall_groups() -> dict[str, list[str]]:
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
                         capture_output=True, text=True, check=True).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())
    return groups


def expand(item: str) -> set[str]:
    if not item.startswith("@"):
        return {item}
    return set().union(*(expand(sub) for sub in syscall_groups()[item]))


def allowed_syscalls(filters: list[str]) -> set[str]:
    """The names a unit's ``SystemCallFilter=`` lines allow, applied in order as systemd
    does: the first (an allow list, plus @default) sets, ``~`` lines remove, others add."""
    assert filters and not filters[0].startswith("~"), "expected an allow list first"
    allowed = expand(ALWAYS)
    for line in filters:
        names = set().union(*(expand(x) for x in line.lstrip("~").split()))
        allowed = allowed - names if line.startswith("~") else allowed | names
    return allowed


def ran_under(err: str, unit: str) -> bool:
    """The process said (on stderr or in its log) that it ran under ``unit``'s rules."""
    return f"{MARK} {unit}" in err


def sandbox_env(env: dict[str, str], unit: str, folder: Path) -> dict[str, str]:
    """``env`` for a process that runs under ``unit``'s seccomp rules."""
    from tests.systemd.test_units import read_unit

    svc = read_unit(unit)["Service"]
    assert svc.get("SystemCallErrorNumber") == ["EPERM"], unit
    numbers = syscall_numbers()
    names = allowed_syscalls(svc["SystemCallFilter"])
    spec = {"mdwe": svc.get("MemoryDenyWriteExecute") == ["yes"],
            "syscalls": sorted(numbers[n] for n in names if n in numbers)}
    return sandbox_env_for(env, unit, folder, spec)


def sandbox_env_for(env: dict[str, str], label: str, folder: Path, spec: dict) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    rules = folder / f"{Path(label).name}.json"  # a unit in a subfolder: store/…
    rules.write_text(json.dumps(spec))
    path = os.pathsep.join(p for p in (str(folder), str(REPO), env.get("PYTHONPATH")) if p)
    return dict(env, PYTHONPATH=path, KIOSK_TEST_SANDBOX=str(rules),
                KIOSK_TEST_SANDBOX_UNIT=label)
