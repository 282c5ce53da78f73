"""``kiosk backoffice backup`` / ``restore``: pg_dump -Fc of a real PostgreSQL 15 database,
restored into a fresh database with the same rows; a damaged dump is refused."""

from __future__ import annotations

import json

import psycopg

from kiosk.cli import main
from tests.backoffice.backup.pgschema import fresh_database, make_events

CHECKSUM = ("SELECT count(*), md5(string_agg(concat_ws('|', store_id, lane_id, seq, day, ts,"
            " type, txn, data, hash, received_at), ',' ORDER BY lane_id, seq)) FROM events")


def test_dump_restores_into_a_fresh_database_with_the_same_rows(pg_admin, tmp_path, capsys):
    url = fresh_database(pg_admin, "bo_dump_src")
    make_events(url, days=3, stores={"S1": 4, "S2": 2}, tokens=tmp_path / "tokens")
    assert main(["backoffice", "--db", url, "backup", "--to", str(tmp_path / "dumps")]) == 0
    [dump] = (tmp_path / "dumps").glob("backoffice-*.dump")
    manifest = json.loads(dump.with_name(dump.name + ".json").read_text())
    assert manifest["rows"]["public.lanes"] == 4 and manifest["rows"]["public.stores"] == 2
    assert sum(v for k, v in manifest["rows"].items() if k.startswith("public.events_")) == 36
    assert dump.stat().st_mode & 0o777 == 0o600

    assert main(["backoffice", "--db", pg_admin, "restore", str(dump), "--into",
                 "bo_dump_restored"]) == 0
    assert "row counts match" in capsys.readouterr().out
    restored = url.rsplit("/", 1)[0] + "/bo_dump_restored"
    with psycopg.connect(url) as a, psycopg.connect(restored) as b:
        assert a.execute(CHECKSUM).fetchone() == b.execute(CHECKSUM).fetchone()
        assert b.execute(CHECKSUM).fetchone()[0] == 36


def test_a_damaged_dump_is_refused_and_no_database_made(pg_admin, tmp_path, capsys):
    url = fresh_database(pg_admin, "bo_dump_damaged")
    make_events(url, days=1, stores={"S1": 1}, tokens=tmp_path / "tokens")
    assert main(["backoffice", "--db", url, "backup", "--to", str(tmp_path)]) == 0
    [dump] = tmp_path.glob("backoffice-*.dump")  # (the tokens are in tmp_path/tokens)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    assert main(["backoffice", "--db", pg_admin, "restore", str(dump), "--into",
                 "bo_never"]) == 2
    assert "does not match its checksum" in capsys.readouterr().err
    with psycopg.connect(pg_admin) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bo_never'"
                            ).fetchone() is None
