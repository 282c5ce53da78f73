"""The lane these tests back up: real state files after two sales."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.journal.store import Journal
from tests.unit.test_journal import T0, Recorder, _sale


@pytest.fixture
def lane(config, catalog):
    """A lane's state dir after two sales: journal, catalog, host log with a PAN vault row
    and its key, the e-receipt key, kept receipts."""
    state = config.paths.state_dir
    journal = Journal(config.journal_path)
    rec = Recorder(journal, config, catalog)
    _sale(rec, T0)
    _sale(rec, T0 + 60)
    journal.close()
    host = sqlite3.connect(state / config.acquirer.hostlog_file)
    host.executescript("CREATE TABLE requests (id INTEGER PRIMARY KEY, pan_masked TEXT);"
                       "CREATE TABLE pan_vault (request_id INTEGER PRIMARY KEY, nonce BLOB,"
                       " ct BLOB);"
                       "INSERT INTO requests VALUES (1, '476173******0119');"
                       "INSERT INTO pan_vault VALUES (1, x'00112233', x'DEADBEEFCAFE');")
    host.commit()
    host.close()
    for key in (config.paths.state_dir / config.acquirer.pan_key_file, config.ereceipt_key_file,
                state / "staff-pin.key"):
        key.write_bytes(b"secret-key-material")
        key.chmod(0o600)
    config.receipts_dir.mkdir(parents=True, exist_ok=True)
    (config.receipts_dir / "S1-L1-000001.json").write_text('{"txn": "S1-L1-000001"}')
    return config


@pytest.fixture
def pg_admin(pg_cluster) -> str:  # type: ignore[no-untyped-def]
    """The worker's cluster (tests/backoffice/pg.py), its maintenance database's URL."""
    return pg_cluster.url()
