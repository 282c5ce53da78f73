"""Simulated scanner: each line read from a text stream is one barcode read."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger(__name__)


def run_stdin_scanner(stream: TextIO, publish_scan: Callable[[str], None]) -> int:
    """Publish every non-empty line as a scan; returns how many were published."""
    count = 0
    for raw in stream:
        code = raw.strip()
        if not code:
            continue
        if len(code) > 64 or not code.isprintable():
            log.warning("scanner: dropped unreadable input (%d chars)", len(code))
            continue
        publish_scan(code)
        count += 1
    return count
