"""Is the system clock synchronized? (Card data and host messages carry the date.)

Two witnesses, both read-only and cheap enough to ask before every payment:

* systemd-timesyncd creates ``/run/systemd/timesync/synchronized`` once it has
  synchronized the clock (systemd ≥ 239);
* the kernel's NTP state from ``adjtimex(2)`` with no modes set: synchronized
  when the call does not return ``TIME_ERROR`` and ``STA_UNSYNC`` is clear (what
  ``timedatectl`` shows as "System clock synchronized").

``source`` picks which witness counts: ``timesyncd``, ``adjtimex`` or ``any``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
TIME_ERROR = 5
STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (glibc, Linux); ctypes lays out the padding
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long), ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("_reserved", ctypes.c_int * 11),
    ]


def kernel_synchronized() -> bool | None:
    """The kernel's view (adjtimex, read only); None when it cannot be asked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not tx.status & STA_UNSYNC


def clock_synchronized(source: str = "any", flag: Path = TIMESYNCD_FLAG) -> bool:
    """True when the chosen witness says the clock is synchronized."""
    if source in ("any", "timesyncd") and Path(flag).exists():
        return True
    if source in ("any", "adjtimex"):
        return bool(kernel_synchronized())
    return False
