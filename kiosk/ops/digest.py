"""The one file digest of the device operations: the SHA-256 that update bundles, lane
backup archives and back-office dumps record and check."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of the file at ``path`` (read in blocks: a root image is GBs)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
