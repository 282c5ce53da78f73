"""The wallet order book: one durable row per gateway order, written BEFORE each request leaves.

The phone-wallet method's counterpart of the card's request log (kiosk/payments/hostlog.py):
SQLite, WAL, ``synchronous=FULL``, mode 0600. A row holds only what recovery needs: the
merchant order number, the attempt's idempotency key (``<txn>-<stan>``), amount, currency,
flow (``cpm``: the shopper's code; ``mpm``: the kiosk's screen QR), state, the gateway's
transaction id and wallet, the dialect's last result code. Never the shopper's payment code.

States::

    sending ──► user_paying ──► paid ──► recorded
       │   └──► in_doubt ◄──────┘  (no answer, an unknown one, a paid amount that differs)
       ├──► not_paid               (a definite "not paid": nothing charged)
       └──► reversing ──► closed | refunded

``sending`` is written before the pay/create request is sent: after a crash such an order
may or may not have reached the gateway. ``paid`` means the gateway confirmed it but the lane
has not yet journaled the sale; ``recorded`` once it has. Final: ``not_paid``, ``closed``,
``refunded``, ``recorded``. At start-up every other order is resolved (query, then reverse)
before the lane takes a new payment (:meth:`OrderBook.open_orders`).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

STATES = ("sending", "user_paying", "in_doubt", "paid", "recorded", "not_paid", "reversing",
          "closed", "refunded")
FINAL = ("recorded", "not_paid", "closed", "refunded")
ORDER_NO = re.compile(r"^[A-Za-z0-9_]+$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    order_no TEXT NOT NULL UNIQUE,
    idem_key TEXT NOT NULL,
    flow TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    result_code TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    gateway_txn TEXT NOT NULL DEFAULT '',
    wallet TEXT NOT NULL DEFAULT '',
    paid_amount INTEGER NOT NULL DEFAULT 0,
    sent_at REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_state ON orders(state);
CREATE INDEX IF NOT EXISTS orders_idem ON orders(idem_key);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class OrderBookError(Exception):
    """The order book cannot do what was asked (unknown order, bad state, bad number)."""


@dataclass(frozen=True)
class Order:
    id: int
    order_no: str
    idem_key: str
    flow: str
    amount: int
    currency: str
    subject: str
    state: str
    result_code: str
    reason: str
    gateway_txn: str
    wallet: str
    paid_amount: int
    sent_at: float
    updated: float

    @property
    def final(self) -> bool:
        return self.state in FINAL


class OrderBook:
    """The wallet method's durable orders; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def next_number(self, prefix: str, max_len: int) -> str:
        """A new merchant order number, never handed out before (durable counter):
        ``<prefix><counter>``, ``[A-Za-z0-9_]``, at most ``max_len`` characters."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM counters WHERE name='order'"
                                       ).fetchone()
                value = (row[0] if row else 0) + 1
                self._db.execute("INSERT INTO counters(name, value) VALUES ('order', ?) ON"
                                 " CONFLICT(name) DO UPDATE SET value=excluded.value", (value,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        digits = f"{value:08d}"
        clean = re.sub(r"[^A-Za-z0-9_]", "", prefix)[: max(0, max_len - len(digits))]
        number = clean + digits
        if len(number) > max_len or not ORDER_NO.match(number):
            raise OrderBookError(f"no order number fits {max_len} characters")
        return number

    def record(self, *, order_no: str, idem_key: str, flow: str, amount: int, currency: str,
               subject: str) -> Order:
        """Write an order in ``sending`` before its request is sent."""
        if not ORDER_NO.match(order_no):
            raise OrderBookError(f"bad order number {order_no!r}")
        now = time.time()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO orders(order_no, idem_key, flow, amount, currency, subject,"
                    " state, sent_at, updated) VALUES (?,?,?,?,?,?,'sending',?,?)",
                    (order_no, idem_key, flow, int(amount), currency, subject, now, now))
            except sqlite3.IntegrityError:
                raise OrderBookError(f"order {order_no} exists") from None
        return self.get(order_no)  # type: ignore[return-value]

    def update(self, order_no: str, state: str, **fields: object) -> Order:
        allowed = {"result_code", "reason", "gateway_txn", "wallet", "paid_amount"}
        if state not in STATES or set(fields) - allowed:
            raise OrderBookError(f"bad update {state!r} {sorted(fields)}")
        sets = "".join(f", {k}=?" for k in fields)
        with self._lock:
            cur = self._db.execute(f"UPDATE orders SET state=?{sets}, updated=? WHERE"
                                   " order_no=?", (state, *fields.values(), time.time(),
                                                   order_no))
            if cur.rowcount != 1:
                raise OrderBookError(f"no order {order_no}")
        return self.get(order_no)  # type: ignore[return-value]

    def get(self, order_no: str) -> Order | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM orders WHERE order_no=?",
                                   (order_no,)).fetchone()
        return Order(**dict(row)) if row else None

    def orders(self, idem_key: str | None = None, states: tuple[str, ...] | None = None
               ) -> list[Order]:
        sql, args = "SELECT * FROM orders WHERE 1=1", []
        if idem_key is not None:
            sql += " AND idem_key=?"
            args.append(idem_key)
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [Order(**dict(r)) for r in rows]

    def open_orders(self) -> list[Order]:
        """Every order not final, oldest first (what a start-up must resolve)."""
        return self.orders(states=tuple(s for s in STATES if s not in FINAL))
