"""Retention: how long the back office keeps each store's raw events, and the job that
enforces it (``kiosk backoffice retention``, run daily by systemd/backoffice/
kiosk-backoffice-retention.timer).

The events table is partitioned by its ``day`` column, for every store at once. A day whose
partition is older than EVERY store's setting is dropped whole (``DROP TABLE`` of the
partition: instant, no bloat, no vacuum): a raw event is kept its days, at most one day
more. A store with a shorter setting has its older days deleted from the partitions left.
Before anything is dropped, the day's totals per lane and event type go into
``event_daily`` (migration 003; kept: counts only, no event data), so reports over years
keep working without raw events.

The lane's side of retention is in kiosk/printing/store.py (``ReceiptStore.prune``: kept
receipts, whose e-receipt links expire after ``ereceipt.valid_days``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from kiosk.domain.training import TXN_PREFIX

#: the longest a raw event may be kept when a store says nothing (days)
DEFAULT_EVENTS_DAYS = 400
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


class StoreRetention(BaseModel):
    """One store's raw-event retention (days). The other half of a store's retention, how
    long e-receipt links open, is its lanes' ``ereceipt.valid_days`` (kiosk/config.py):
    the links and the receipts they open live on the lanes, never here."""

    model_config = ConfigDict(extra="forbid")

    events_days: int = Field(default=DEFAULT_EVENTS_DAYS, ge=1, le=3660)


class RetentionPolicy(BaseModel):
    """The back office's ``[retention]`` setting: a default and per-store overrides."""

    model_config = ConfigDict(extra="forbid")

    default: StoreRetention = Field(default_factory=StoreRetention)
    stores: dict[str, StoreRetention] = Field(default_factory=dict)

    def of(self, store: str) -> StoreRetention:
        return self.stores.get(store, self.default)

    @property
    def longest_days(self) -> int:
        return max([self.default.events_days, *(s.events_days for s in self.stores.values())])


@dataclass
class RetentionReport:
    dropped: list[str] = field(default_factory=list)   # partitions
    summarized: int = 0                                 # summary rows written
    deleted: dict[str, int] = field(default_factory=dict)  # store -> rows

    def lines(self) -> list[str]:
        return [f"dropped partitions: {', '.join(self.dropped) or 'none'}",
                f"daily summary rows written: {self.summarized}",
                *(f"store {s}: {n} events older than its setting deleted"
                  for s, n in sorted(self.deleted.items()))]


def partitions(conn, table: str = "events") -> list[tuple[str, datetime, datetime]]:  # type: ignore[no-untyped-def]
    """(name, from, to) of each range partition of ``table``, oldest first."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        (table,)).fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if match is None:  # a DEFAULT partition: never dropped by age
            continue
        low, high = (conn.execute("SELECT %s::timestamptz", (v,)).fetchone()[0]
                     for v in match.groups())
        found.append((name, low, high))
    return sorted(found, key=lambda p: p[1])


def apply(conn, policy: RetentionPolicy, now: datetime | None = None,  # type: ignore[no-untyped-def]
          table: str = "events") -> RetentionReport:
    """Enforce ``policy`` on ``table`` (kiosk/backoffice/migrations: partitioned by its
    ``day`` column, rows with ``store_id`` → ``stores(id, code)``, ``lane_id`` and ``type``)
    in one transaction. Store settings are keyed by the store's code."""
    from psycopg import sql

    now = now or datetime.now(UTC)
    report = RetentionReport()
    ident = sql.Identifier(table)
    # a training session's events are counted apart ("training:<type>"): never as sales
    summary = ("INSERT INTO event_daily (day, store_id, lane_id, type, events)"
               " SELECT day, store_id, lane_id, CASE WHEN starts_with(txn, {training}) THEN"
               " 'training:' || type ELSE type END, count(*) FROM {src} {where}"
               " GROUP BY 1, 2, 3, 4 ON CONFLICT (day, store_id, lane_id, type)"
               " DO UPDATE SET events = event_daily.events + EXCLUDED.events")
    training = sql.Literal(TXN_PREFIX)
    with conn.transaction():
        conn.execute("SET LOCAL timezone = 'UTC'")  # day bounds are UTC days
        cutoff = now - timedelta(days=policy.longest_days)
        for name, _low, high in partitions(conn, table):
            if high > cutoff:
                break
            part = sql.Identifier(name)
            cur = conn.execute(sql.SQL(summary).format(src=part, where=sql.SQL(""),
                                                       training=training))
            report.summarized += cur.rowcount
            conn.execute(sql.SQL("DROP TABLE {}").format(part))
            report.dropped.append(name)
        for store, setting in sorted(policy.stores.items()):
            if setting.events_days >= policy.longest_days:
                continue
            first_kept = (now - timedelta(days=setting.events_days)).date()
            where = sql.SQL("WHERE store_id = (SELECT id FROM stores WHERE code = %s)"
                            " AND day < %s")
            cur = conn.execute(sql.SQL(summary).format(src=ident, where=where, training=training),
                               (store, first_kept))
            report.summarized += cur.rowcount
            cur = conn.execute(sql.SQL("DELETE FROM {} ").format(ident) + where,
                               (store, first_kept))
            report.deleted[store] = cur.rowcount
    return report
