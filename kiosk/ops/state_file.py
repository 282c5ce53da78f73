"""A JSON record in kiosk's state dir, replaced whole (write aside, ``os.replace``).

A reader sees the old record or the new one, never half of one. The file is 0644 whatever
the writer's umask: records written by root (``kiosk update``) are read by kiosk-core, and
kiosk-core's by root's ``kiosk update --commit``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: Path, record: dict) -> None:
    """Replace ``path`` with ``record`` (the folder is made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.chmod(0o644)
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    """The record at ``path``; None when it is missing, unreadable or not a JSON object."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
