"""Rebuild a lane's journal from the back office's copy (``kiosk restore --from-backoffice``).

For a lane whose SD card died: the back office holds every event the lane synced, with the
lane's own seq, ts, type, txn, data and hash. This pages through
``GET /v1/lanes/{lane}/events?after=SEQ&limit=N`` (the lane's token, over HTTPS with the
pinned CA), appends the rows verbatim with :meth:`kiosk.journal.store.Journal.adopt` (which
re-checks every hash link with the journal's own code) into a new file in the state dir,
runs ``journal verify`` on it, and only then renames it into place (a journal already there
is moved aside, as a backup restore does). A sound journal already in place (say one just
restored from an archive older than the back office's retention) is not started over but
topped up: only the events after its last seq are fetched, and they must chain onto it.
Events the lane wrote after its last sync are gone with the card: the report says the last
seq recovered.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.domain.addresses import is_loopback
from kiosk.journal.store import Journal, MigrationHeld
from kiosk.ops.backup import (
    BackupError,
    copy_db,
    core_running,
    install,
    staging,
    verify_journal,
)
from kiosk.ops.update import on_trial

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

PAGE = 1000
TIMEOUT_S = 30


def _get(url: str, token: str, context: ssl.SSLContext | None) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise BackupError(f"back office answered {exc.code} to {url}: {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise BackupError(f"cannot read {url}: {exc}") from None


def tls_context(url: str, ca_file: Path | None) -> ssl.SSLContext | None:
    """The pinned CA for https; plain http only to a loopback address (tests, a demo)."""
    if url.startswith("https://"):
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unclosed [
        host = ""
    if not is_loopback(host):
        raise BackupError(f"{url}: the back office is reached over https only (TLS on every"
                          " link); plain http is for a loopback test server")
    return None


def fetch_into(journal: Journal, base_url: str, lane: str, token: str,
               context: ssl.SSLContext | None, page: int | None = None) -> int:
    """Append every event the back office holds for ``lane`` after the journal's last seq,
    ``page`` events a request; returns the last seq."""
    base, page = base_url.rstrip("/"), page or PAGE
    while True:
        body = _get(f"{base}/v1/lanes/{lane}/events?after={journal.last_seq}&limit={page}",
                    token, context)
        events = body.get("events")
        if not isinstance(events, list):
            raise BackupError("back office answer holds no event list")
        if not events:
            return journal.last_seq
        try:
            journal.adopt([(e["seq"], e["ts"], e["type"], e.get("txn"), e["data"], e["hash"])
                           for e in events])
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"the back office's copy is not this lane's chain: {exc}") from None


def restore_from_backoffice(config: KioskConfig, url: str, token: str,
                            ca_file: Path | None = None,
                            systemctl: str = "systemctl") -> tuple[int, Path]:
    """Rebuild the lane's journal; returns (last seq, the folder holding any replaced file)."""
    if core_running(systemctl):
        raise BackupError("kiosk-core.service is running: stop it first (systemctl stop"
                          " kiosk.target), restore, then start it again")
    context = tls_context(url, ca_file)
    state = config.paths.state_dir
    name = str(config.journal_path.relative_to(state))
    live = config.journal_path
    defer = on_trial(state) is not None  # the rebuilt file is the lane's journal
    with staging(state) as staged:
        if live.exists() and not verify_journal(live, defer):
            copy_db(live, staged / name)  # a sound journal (e.g. just restored from an
            # archive) is topped up with what the back office holds after it
        try:
            journal = Journal(staged / name, defer)
        except MigrationHeld as exc:
            raise BackupError(f"{exc}: nothing restored") from None
        try:
            last = fetch_into(journal, url, config.store.lane_id, token, context)
        finally:
            journal.close()
        if last == 0:  # nothing here and nothing there
            raise BackupError(f"the back office holds no event of lane {config.store.lane_id}:"
                              " nothing restored")
        problems = verify_journal(staged / name, defer)
        if problems:
            raise BackupError(f"rebuilt journal fails verify: {problems[0]}: nothing restored")
        for side in ("-wal", "-shm"):
            (staged / (name + side)).unlink(missing_ok=True)
        return last, install(state, staged, [name])
