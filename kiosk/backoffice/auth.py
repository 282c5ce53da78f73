"""Per-lane credentials: a bearer token issued once per lane (``kiosk backoffice lane add
STORE LANE --token-file F`` writes it to a 0600 file for the lane's provisioning), of which
the back office keeps only the SHA-256. A token names exactly one lane: the ingest API lets
it read and write that lane's events only."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg


@dataclass(frozen=True)
class Lane:
    id: int
    name: str
    store_id: int


class LaneExists(ValueError):
    """The lane name is taken (lane names are unique in the chain)."""


def new_token() -> str:
    """A fresh 256-bit token (URL-safe text)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def write_secret(path: Path, text: str) -> None:
    """Write a new 0600 file (an existing one is refused, never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")


def add_lane(conn: psycopg.Connection, store: str, lane: str, token_file: Path) -> Lane:
    """Register ``lane`` of ``store`` (the store is created if new) with a fresh token,
    written to ``token_file`` (0600; must not exist). One transaction: a failure leaves
    neither the lane nor the file."""
    if token_file.exists():
        raise FileExistsError(f"{token_file} exists: not overwritten")
    token = new_token()
    with conn.transaction():
        conn.execute("INSERT INTO stores (code) VALUES (%s) ON CONFLICT (code) DO NOTHING",
                     (store,))
        store_id = conn.execute("SELECT id FROM stores WHERE code = %s", (store,)).fetchone()[0]
        try:
            with conn.transaction():
                row = conn.execute("INSERT INTO lanes (store_id, name, token_sha256)"
                                   " VALUES (%s, %s, %s) RETURNING id",
                                   (store_id, lane, token_hash(token))).fetchone()
        except psycopg.errors.UniqueViolation:
            raise LaneExists(f"lane {lane!r} exists") from None
        conn.execute("INSERT INTO lane_chain (lane_id) VALUES (%s)", (row[0],))
        write_secret(token_file, token)
    return Lane(row[0], lane, store_id)


LANE_BY_TOKEN = "SELECT id, name, store_id FROM lanes WHERE token_sha256 = %s"
