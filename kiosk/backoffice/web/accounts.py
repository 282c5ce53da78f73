"""The dashboard's accounts: users with a role, browser sessions, the sign-in rate limit.

* Roles: ``manager`` sees its own store; ``chain_admin`` sees every store and the chain
  view. :meth:`User.may_see` is the one check, and a page refused by it answers 403.
* Sessions: a random 256-bit cookie, of which the database keeps the SHA-256; each has its
  own CSRF token (every POST must carry it) and ends ABSOLUTE_S after sign-in or IDLE_S
  after its last request, whichever comes first.
* Rate limit: more than MAX_FAILURES failed sign-ins for one name, or from one client
  address, within WINDOW_S and the next attempt is refused (429) before any password is
  checked; a success does not wipe the record (a guesser who knows one password gains no
  more tries on the others).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg

from kiosk.backoffice.web.passwords import DUMMY, hash_password, verify_password

ROLES = ("manager", "chain_admin")
ABSOLUTE_S = 12 * 3600
IDLE_S = 30 * 60
MAX_FAILURES = 5
WINDOW_S = 15 * 60


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    store: str | None      # the manager's store code; None for a chain admin

    def may_see(self, store: str | None) -> bool:
        """Whether this user may open ``store``'s pages (None: the chain view)."""
        return self.role == "chain_admin" or (store is not None and store == self.store)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def session_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def add_user(conn: psycopg.Connection, username: str, password: str, role: str,
             store: str | None) -> int:
    """Make an account (a manager of ``store``, which must exist, or a chain admin)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "manager") != (store is not None):
        raise ValueError("a manager needs --store; a chain admin has none")
    stored = hash_password(password)
    with conn.transaction():
        store_id = None
        if store is not None:
            row = conn.execute("SELECT id FROM stores WHERE code = %s", (store,)).fetchone()
            if row is None:
                raise ValueError(f"no store {store!r} (a store exists once a lane is added)")
            store_id = row[0]
        row = conn.execute("INSERT INTO web_users (username, password, role, store_id)"
                           " VALUES (%s, %s, %s, %s) RETURNING id",
                           (username, stored, role, store_id)).fetchone()
    return row[0]


_FAILURES = ("SELECT (SELECT count(*) FROM web_login_failures WHERE username = %(u)s"
             "          AND at > now() - make_interval(secs => %(w)s)),"
             "       (SELECT count(*) FROM web_login_failures WHERE client = %(c)s"
             "          AND at > now() - make_interval(secs => %(w)s))")
_USER = ("SELECT u.id, u.username, u.role, s.code, u.password FROM web_users u"
         " LEFT JOIN stores s ON s.id = u.store_id WHERE u.username = %s AND NOT u.disabled")


class RateLimited(Exception):
    """Too many failed sign-ins: try again later."""


async def sign_in(conn: Any, username: str, password: str,
                  client: str) -> tuple[str, Session] | None:
    """A new session (its cookie value, the session) for a right password; None for a
    wrong one (recorded); RateLimited beyond the limit. An unknown name costs the same
    scrypt time as a known one."""
    import asyncio

    cur = await conn.execute(_FAILURES, {"u": username, "c": client, "w": WINDOW_S})
    by_name, by_client = await cur.fetchone()
    if by_name >= MAX_FAILURES or by_client >= MAX_FAILURES:
        raise RateLimited(username)
    row = await (await conn.execute(_USER, (username,))).fetchone()
    stored = row[4] if row else DUMMY
    ok = await asyncio.to_thread(verify_password, password, stored)
    if not ok or row is None:
        await conn.execute("INSERT INTO web_login_failures (username, client) VALUES (%s, %s)",
                           (username[:64], client))
        return None
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # what is no longer needed goes at each sign-in: ended sessions, and failures (names
    # and addresses) past the rate limit's window
    await conn.execute("DELETE FROM web_sessions WHERE expires_at < now()"
                       " OR last_seen < now() - make_interval(secs => %s)", (IDLE_S,))
    await conn.execute("DELETE FROM web_login_failures WHERE at < now() - make_interval("
                       "secs => %s)", (WINDOW_S,))
    await conn.execute("INSERT INTO web_sessions (id_sha256, user_id, csrf, expires_at)"
                       " VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
                       (session_hash(cookie), row[0], csrf, ABSOLUTE_S))
    return cookie, Session(User(row[0], row[1], row[2], row[3]), csrf)


async def session_of(conn: Any, cookie: str | None) -> Session | None:
    """The live session of a cookie (its idle clock restarted), or None: unknown, expired
    (absolute or idle), or its user disabled."""
    if not cookie:
        return None
    cur = await conn.execute(
        "UPDATE web_sessions w SET last_seen = now() FROM web_users u"
        " LEFT JOIN stores s ON s.id = u.store_id"
        " WHERE w.id_sha256 = %s AND u.id = w.user_id AND NOT u.disabled"
        "   AND w.expires_at > now() AND w.last_seen > now() - make_interval(secs => %s)"
        " RETURNING u.id, u.username, u.role, s.code, w.csrf",
        (session_hash(cookie), IDLE_S))
    row = await cur.fetchone()
    if row is None:
        return None
    return Session(User(*row[:4]), row[4])


async def sign_out(conn: Any, cookie: str) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE id_sha256 = %s", (session_hash(cookie),))
